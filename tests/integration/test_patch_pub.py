"""A second vmatlas beside a debug session reads the program's bytes, not
the debugger's int3: the debugger publishes what it patched in
/tmp/vmatlas-UID/patch-PID, the Linux backend's reads put the original
bytes back while the file can be believed. The truth: the bytes of
dbgfix's file at dbg_target's offset, and /proc/PID/mem for the int3."""
import json
import os
import signal
import subprocess
import time

from lib import FIXTURES, VMATLAS, no_sanitizer_reports

DBGFIX = os.path.join(FIXTURES, "dbgfix")


def file_bytes(pid, addr, n):
    """n bytes at addr as dbgfix's ELF file has them (through the mapping
    that holds addr: its file offset)"""
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if lo <= addr < hi and len(f) >= 6:
                assert os.path.realpath(f[5]) == os.path.realpath(DBGFIX), line
                with open(f[5], "rb") as exe:
                    exe.seek(int(f[2], 16) + addr - lo)
                    return exe.read(n)
    raise AssertionError("0x%x not mapped" % addr)


def mem_bytes(pid, addr, n):
    with open(f"/proc/{pid}/mem", "rb") as mem:
        mem.seek(addr)
        return mem.read(n)


def view(pid, addr, n=16):
    r = subprocess.run([VMATLAS, "view", str(pid), hex(addr), str(n), "--json"], capture_output=True, text=True,
                       timeout=60)
    no_sanitizer_reports(r.stderr)
    assert r.returncode == 0, r.stderr
    return bytes.fromhex(json.loads(r.stdout)["bytes"])


def search(pid, pattern):
    r = subprocess.run([VMATLAS, "search", "--json", "--exec", "--include-ro", str(pid), "--hex", pattern.hex(" ")], capture_output=True,
                       text=True, timeout=60)
    no_sanitizer_reports(r.stderr)
    assert r.returncode == 0, r.stderr
    return [int(h["addr"], 16) for h in json.loads(r.stdout)["hits"]]


def start():
    p = subprocess.Popen([DBGFIX, "spin"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    truth = json.loads(p.stderr.readline())
    d = subprocess.Popen([VMATLAS, "debug", "--json", "--batch", "-", str(p.pid)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    d.stdin.write("break dbg_target\n")
    d.stdin.flush()
    line = d.stdout.readline()  # the break is in: the process is held
    assert json.loads(line).get("command") == "break", line + d.stderr.read()
    return p, int(truth["target"], 16), d


def finish(p, d):
    if d.poll() is None:
        d.kill()  # a failed test: its file stays behind, take it away
        d.wait()
        pub = f"/tmp/vmatlas-{os.geteuid()}/patch-{p.pid}"
        if os.path.exists(pub):
            os.unlink(pub)
    if p.poll() is None:
        p.kill()
        p.wait()


def test_second_vmatlas_reads_original_bytes_under_int3():
    p, target, d = start()
    pub = f"/tmp/vmatlas-{os.geteuid()}/patch-{p.pid}"
    try:
        orig = file_bytes(p.pid, target, 16)
        assert mem_bytes(p.pid, target, 1) == b"\xcc"  # the int3 is in
        assert orig[0] != 0xcc
        st = os.stat(pub)
        assert st.st_mode & 0o777 == 0o600 and st.st_uid == os.geteuid()
        with open(pub) as f:
            text = f.read()
        assert f"byte {target:x} {orig[0]:02x} cc\n" in text, text
        assert f"debugger {d.pid}\n" in text and f"target {p.pid} " in text, text
        assert view(p.pid, target) == orig
        assert view(p.pid, target - 3, 8) == file_bytes(p.pid, target - 3, 8)  # the int3 inside a read
        assert target in search(p.pid, orig)
        # a file naming a debugger that is not running: not believed
        dead = subprocess.Popen(["true"])
        dead.wait()
        os.chmod(pub, 0o600)
        with open(pub, "w") as f:
            f.write(text.replace(f"debugger {d.pid}\n", f"debugger {dead.pid}\n"))
        assert view(p.pid, target)[0] == 0xcc
        # nor one about another process that had this pid (start time)
        lines = text.splitlines()
        tgt = [l for l in lines if l.startswith("target ")][0]
        with open(pub, "w") as f:
            f.write(text.replace(tgt, tgt + "1"))
        assert view(p.pid, target)[0] == 0xcc
        # nor one others may write
        with open(pub, "w") as f:
            f.write(text)
        os.chmod(pub, 0o622)
        assert view(p.pid, target)[0] == 0xcc
        os.chmod(pub, 0o600)
        assert view(p.pid, target) == orig
        # the hits: the file stays as it is while the int3 is lifted and
        # put back to step over each (no rewrite per hit; a watchpoint
        # set: each hit's instruction single-stepped, not emulated)
        st = os.stat(pub)
        before = (st.st_ino, st.st_mtime_ns)
        d.stdin.write("watch dbg_neighbor\ncontinue\ncontinue\ncontinue\n")
        d.stdin.flush()
        hits = 0
        while hits < 3:
            o = json.loads(d.stdout.readline())
            hits += o.get("event") == "breakpoint"
        st = os.stat(pub)
        assert (st.st_ino, st.st_mtime_ns) == before
        assert view(p.pid, target) == orig and mem_bytes(p.pid, target, 1) == b"\xcc"
        # deleted: gone from the file at the next resume
        d.stdin.write("delete all\ncontinue\n")
        d.stdin.flush()
        for _ in range(200):
            with open(pub) as f:
                if f"byte {target:x} " not in f.read():
                    break
            time.sleep(0.01)
        with open(pub) as f:
            assert f"byte {target:x} " not in f.read()
        # out of continue by SIGTERM (a SIGINT would pause it): the cleanup
        # takes the file away
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=30)
        assert not os.path.exists(pub)
        assert mem_bytes(p.pid, target, 16) == orig
    finally:
        finish(p, d)


def test_patch_file_removed_at_detach_and_stale_after_sigkill_then_swept():
    p, target, d = start()
    pub = f"/tmp/vmatlas-{os.geteuid()}/patch-{p.pid}"
    try:
        assert os.path.exists(pub)
        d.stdin.write("detach\n")
        d.stdin.close()
        d.stdout.read()
        assert d.wait(timeout=30) == 0
        assert not os.path.exists(pub)
        assert mem_bytes(p.pid, target, 16) == file_bytes(p.pid, target, 16)
    finally:
        finish(p, d)
    # a debugger killed with SIGKILL leaves its int3 (and the file)
    # behind: the reader does not hide the int3 it can no longer vouch for
    p, target, d = start()
    pub = f"/tmp/vmatlas-{os.geteuid()}/patch-{p.pid}"
    try:
        os.kill(p.pid, signal.SIGSTOP)  # so that it does not run into the int3 when let go
        d.kill()
        d.wait()
        assert os.path.exists(pub)
        for _ in range(500):  # the kernel lets the tracee go as the tracer ends
            with open(f"/proc/{p.pid}/status") as f:
                if "TracerPid:\t0\n" in f.read():
                    break
            time.sleep(0.01)
        assert mem_bytes(p.pid, target, 1) == b"\xcc"
        assert view(p.pid, target)[0] == 0xcc
        # the next debugger to publish sweeps the file of the dead one
        # away (its own debugger gone) and keeps one whose debugger lives
        # (this test's python, for a target that is this python too)
        live = f"/tmp/vmatlas-{os.geteuid()}/bpm-{os.getpid()}"
        fd = os.open(live + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"vmatlas-bpm 1\ndebugger %d\ntarget %d 1\n" % (os.getpid(), os.getpid()))
        os.close(fd)
        os.rename(live + ".tmp", live)
        try:
            p2, _, d2 = start()
            try:
                assert not os.path.exists(pub), "the dead debugger's file was not swept"
                assert os.path.exists(live), "a file whose debugger lives was swept"
                assert os.path.exists(f"/tmp/vmatlas-{os.geteuid()}/patch-{p2.pid}")
            finally:
                finish(p2, d2)
        finally:
            os.unlink(live)
    finally:
        if os.path.exists(pub):
            os.unlink(pub)
        finish(p, d)
