"""Output files (-o): a regular file or a new name is replaced whole, 0600;
a FIFO, a character device or standard output is streamed to and stays
what it was; links, directories and other users' files are refused; no
temporary file is left behind, also after a signal or a killed run."""
import glob
import os
import signal
import stat
import subprocess
import tempfile
import threading
import time

from lib import VMATLAS, fixture, run, run_json


def mem(pid, addr, n):
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(addr)
        return f.read(n)


def one_error_line(p, *words):
    assert p.returncode == 1, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmatlas"), p.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_streams_and_refusals():
    with tempfile.TemporaryDirectory() as d, fixture(name="searchfix") as (p, t):
        pid = str(t["pid"])
        addr = hex(t["big"])
        want = mem(t["pid"], t["big"], 4096)
        # standard output, by "-" and by /dev/stdout
        for name in ("-", "/dev/stdout"):
            q = subprocess.run([VMATLAS, "dump", pid, addr, "--size", "4096", "-o", name],
                               capture_output=True, timeout=60)
            assert q.returncode == 0, q.stderr
            assert q.stdout == want, name
        # a FIFO: streamed to its reader, still a FIFO after
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
        reader.start()
        q = run(["dump", pid, addr, "--size", "4096", "-o", fifo])
        reader.join(30)
        assert q.returncode == 0, q.stderr
        assert got == [want]
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        # a FIFO with no reader: an error, not a hang
        q = run(["dump", pid, addr, "--size", "4096", "-o", fifo], timeout=20)
        one_error_line(q, fifo, "no reader")
        # a full device: an error, and the node stays a device
        q = run(["dump", pid, addr, "--size", "4096", "-o", "/dev/full"])
        one_error_line(q, "/dev/full")
        st = os.stat("/dev/full")
        assert stat.S_ISCHR(st.st_mode) and st.st_uid == 0
        # /dev/null takes it
        assert run(["dump", pid, addr, "--size", "4096", "-o", "/dev/null"]).returncode == 0
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
        # an ELF dump (headers written last) cannot go to a stream
        q = run(["dump", pid, addr, "--size", "4096", "--format", "elf", "-o", "-"])
        one_error_line(q, "regular file")
        # a symbolic link is neither followed nor replaced
        target = os.path.join(d, "target")
        open(target, "w").write("keep")
        link = os.path.join(d, "link")
        os.symlink(target, link)
        one_error_line(run(["dump", pid, addr, "--size", "4096", "-o", link]), "symbolic link")
        assert os.path.islink(link) and open(target).read() == "keep"
        # a directory
        one_error_line(run(["dump", pid, addr, "--size", "4096", "-o", d]), "directory")
        # another user's file (as root: refused)
        if os.geteuid() == 0:
            other = os.path.join(d, "other")
            open(other, "w").write("theirs")
            os.chown(other, 65534, 65534)
            one_error_line(run(["dump", pid, addr, "--size", "4096", "-o", other]), "another user")
            assert open(other).read() == "theirs" and os.stat(other).st_uid == 65534
            assert run(["dump", pid, addr, "--size", "4096", "-o", other, "--force"]).returncode == 0
            assert open(other, "rb").read() == want and os.stat(other).st_uid == 0
        assert not glob.glob(os.path.join(d, "*.vmatlas-*"))


def test_no_temporary_left():
    with tempfile.TemporaryDirectory() as d, fixture(name="searchfix") as (p, t):
        pid = str(t["pid"])
        out = os.path.join(d, "out.bin")
        # one left by a run that was SIGKILLed (its pid is gone) is removed
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = f"{out}.vmatlas-{dead.pid}-abcdef"
        open(stale, "w").write("x")
        mine = f"{out}.vmatlas-{os.getpid()}-abcdef"  # a live process's: kept
        open(mine, "w").write("x")
        theirs = f"{out}.vmatlas-{dead.pid}-theirs"  # another user's: kept
        if os.geteuid() == 0:
            open(theirs, "w").write("x")
            os.chown(theirs, 65534, 65534)
        run_json(["dump", pid, hex(t["big"]), "--size", "4096", "-o", out])
        assert not os.path.exists(stale) and os.path.exists(mine)
        assert os.path.exists(theirs) == (os.geteuid() == 0)
        os.unlink(mine)
        if os.geteuid() == 0:
            os.unlink(theirs)
        # a signal while the temporary exists: it goes with the run. The
        # run is stopped as soon as its temporary appears, so the signal
        # lands mid-write (retried if the dump was too quick to catch)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            for attempt in range(50):
                q = subprocess.Popen([VMATLAS, "dump", pid, hex(t["big"]), "--size", hex(t["big_size"]),
                                      "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while q.poll() is None and not glob.glob(out + ".vmatlas-*"):
                    pass
                q.send_signal(signal.SIGSTOP)
                caught = bool(glob.glob(out + ".vmatlas-*")) and q.poll() is None
                q.send_signal(sig)
                q.send_signal(signal.SIGCONT)
                q.wait(30)
                if caught:
                    break
            assert caught, "every dump finished before it could be stopped"
            assert q.returncode == -sig, q.returncode
            assert not glob.glob(out + ".vmatlas-*"), (sig, os.listdir(d))
