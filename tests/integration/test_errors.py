"""Bad input and faults: one clear line on stderr, a status below 128,
and no target left stopped."""
import os
import random
import signal
import subprocess
import time

from lib import (Skip, VMATLAS, FIXTURES, assert_not_held, fixture, no_sanitizer_reports, run)


def one_error_line(p, status, *words):
    assert p.returncode == status, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("vmatlas"), lines
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert p.stdout == ""


def unused_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise Skip("no unused pid")


def test_usage_errors():
    one_error_line(run(["map"]), 2, "no TARGET")
    one_error_line(run(["map", "--bogus", "1"]), 2, "unknown option")
    one_error_line(run(["map", "1", "2"]), 2)
    one_error_line(run(["map", "--usage", "heap,nonsense", "1"]), 2, "--usage")
    one_error_line(run(["map", "1", "--", "true"]), 2)
    one_error_line(run(["map", "--"]), 2, "PROGRAM")
    one_error_line(run(["map", "--run", "10", "1"]), 2, "--run")
    one_error_line(run(["frobnicate"]), 2, "unknown command")
    p = run([])
    assert p.returncode == 2 and "usage" in p.stderr
    p = run(["map", "--help"])
    assert p.returncode == 0 and "killed when vmatlas exits" in p.stdout


def test_bad_targets():
    one_error_line(run(["map", str(unused_pid())]), 1, "no such process")
    one_error_line(run(["map", "abc"]), 1, "abc")
    one_error_line(run(["map", "0"]), 1, "not a process id")
    one_error_line(run(["map", "99999999999999999999"]), 1)
    one_error_line(run(["map", "--", "/nonexistent/program"]), 1, "cannot run", "No such file")


def test_zombie():
    z = subprocess.Popen(["true"])
    for _ in range(100):
        with open(f"/proc/{z.pid}/stat") as f:
            if f.read().split(")")[-1].split()[0] == "Z":
                break
        time.sleep(0.01)
    try:
        one_error_line(run(["map", str(z.pid)]), 1, "zombie")
    finally:
        z.wait()


def test_kernel_thread():
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[6]) & 0x00200000:  # PF_KTHREAD
            one_error_line(run(["map", d]), 1, "kernel thread")
            return
    raise Skip("no kernel thread visible in this pid namespace")


def test_permission_denied():
    if os.geteuid() != 0:
        raise Skip("needs root to switch to another user")
    with fixture() as (p, t):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            VMATLAS, "map", str(t["pid"])], capture_output=True, text=True)
    if "setpriv" in r.stderr:
        raise Skip("setpriv failed: " + r.stderr.strip())
    one_error_line(r, 1, "permission denied", "CAP_SYS_PTRACE")


def test_process_exits_while_mapped():
    """The target dies at random moments while vmatlas reads it."""
    for delay in (0, 1, 2, 4, 8, 15, 25, 40, 60):
        p = subprocess.Popen([os.path.join(FIXTURES, "layout"), "--maps", "20000",
                              "--threads", "6", "--exit-after-ms", str(delay)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        p.stdout.readline()
        r = run(["map", str(p.pid), "--json"])
        p.wait()
        no_sanitizer_reports(r.stderr)
        assert r.returncode in (0, 1), (delay, r.returncode, r.stderr)
        if r.returncode == 1:
            errors = [l for l in r.stderr.splitlines() if not l.startswith("vmatlas: warning:")]
            assert len(errors) == 1, r.stderr
        else:
            import json
            json.loads(r.stdout)  # a whole document


def test_interrupted_freeze_releases_threads():
    """Ctrl-C (and SIGTERM) in the middle of --freeze leave nothing stopped."""
    rnd = random.Random(7)
    with fixture("--threads", 24, "--maps", 20000) as (p, t):
        pid = t["pid"]
        for i in range(8):
            v = subprocess.Popen([VMATLAS, "map", "--freeze", str(pid)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            time.sleep(rnd.uniform(0.0, 0.04))
            v.send_signal(signal.SIGINT if i % 2 == 0 else signal.SIGTERM)
            _, err = v.communicate(timeout=30)
            no_sanitizer_reports(err)
            assert_not_held(pid)
            assert p.poll() is None, "the target died"


def test_strict_command_lines():
    """Overflow in addresses is an error, ranges must be ranges, patterns
    must be whole: each a usage error (2) with one line."""
    with fixture() as (p, t):
        pid = str(t["pid"])
        one_error_line(run(["view", pid, "0xffffffffffffffff+1"]), 2, "overflows")
        one_error_line(run(["view", pid, "0xffffffffffffffff*0xffffffffffffffff"]), 2, "overflows")
        one_error_line(run(["view", pid, "0x10-0x20"]), 2, "below zero")
        one_error_line(run(["sym", pid, "0x1000", "--add-module",
                            "libc.so.6=0xffffffffffffffff,0xffffffffffffffff"]), 2, "--add-module")
        one_error_line(run(["search", pid, "--ascii", "x", "--from", "10", "--to", "5"]), 2, "--to")
        one_error_line(run(["search", pid, "--ascii", "x", "--from", "10", "--to", "10"]), 2, "--to")
        one_error_line(run(["exports", pid, "--find", "[[[["]), 2, "--find")
        # a name the target does not have is a runtime error (1)
        one_error_line(run(["search", pid, "--ptr-to", "[nosuchregion]"]), 1, "no region named [nosuchregion]")
        # what is right stays right
        assert run(["view", pid, "rsp+8", "8"]).returncode == 0
        assert run(["exports", pid, "--find", "mem[cm]py"]).returncode == 0
