"""vmatlas killed (SIGKILL) or interrupted (SIGINT) at random moments of
every command that reads a live process: the target keeps running,
untraced, with its memory and descriptors as they were; an output file is
the old one or a complete new one, and no temporary is left."""
import glob
import hashlib
import os
import random
import signal
import subprocess
import tempfile
import time

from lib import VMATLAS, fixture, run

ROUNDS = 6  # per command and signal


def tracer_and_states(pid):
    tracer = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("TracerPid:"):
                tracer = int(line.split()[1])
    states = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except FileNotFoundError:
            pass
    return tracer, states


def fds(pid):
    return sorted((fd, os.readlink(f"/proc/{pid}/fd/{fd}")) for fd in os.listdir(f"/proc/{pid}/fd"))


def memory(pid):
    """{maps line: hash} of every readable region"""
    out = {}
    with open(f"/proc/{pid}/maps") as f, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if "r" not in fields[1] or (len(fields) > 5 and fields[5].startswith("[v")):
                continue
            try:
                mem.seek(lo)
                out[line.strip()] = hashlib.sha256(mem.read(hi - lo)).hexdigest()
            except OSError:
                out[line.strip()] = "?"
    return out


def changed(a, b):
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def stays_unchanged(mem0, pid, writable=True, deadline=10.0):
    end = time.monotonic() + deadline
    while [k for k in changed(mem0, memory(pid)) if writable or "w" not in k.split()[1]]:
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def settled(pid, deadline=5.0):
    """the target's threads running again (none in a tracing or job stop)"""
    end = time.monotonic() + deadline
    while True:
        tracer, states = tracer_and_states(pid)
        if tracer == 0 and not any(s in ("t", "T") for s in states):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.01)


def test_killed_at_random_moments():
    rng = random.Random(1234)
    # the kernel writes each thread's rseq area (the CPU it runs on) when
    # it is scheduled: without rseq, a thread's memory changes only if
    # something else writes it
    os.environ["GLIBC_TUNABLES"] = "glibc.pthread.rseq=0"
    try:
        with tempfile.TemporaryDirectory() as d, fixture() as (p, t):
            run_rounds(rng, d, p, t)
    finally:
        del os.environ["GLIBC_TUNABLES"]


def run_rounds(rng, d, p, t):
    pid = str(t["pid"])
    out = os.path.join(d, "out")
    fds0 = fds(t["pid"])
    cmds = [
        ["map", pid, "--freeze"], ["threads", pid], ["heap", pid, "--blocks"],
        ["search", pid, "--ascii", "vmatlas-none"], ["dump", pid, hex(t["big"]["addr"]), "-o", out],
        ["snapshot", pid, "--data", "-o", out], ["scan", "start", pid, "--u8", "0", "-o", out],
        ["capture", pid, "-o", out],
    ]
    for cmd in cmds:
        mem0 = memory(t["pid"])
        # how long an undisturbed run takes: kill within that
        t0 = time.monotonic()
        full = run(cmd, timeout=120)
        took = time.monotonic() - t0
        assert full.returncode == 0, (cmd, full.stderr)
        complete = open(out, "rb").read() if "-o" in cmd else None
        for sig in (signal.SIGKILL, signal.SIGINT):
            for _ in range(ROUNDS):
                if complete is not None:
                    with open(out, "wb") as f:
                        f.write(b"OLD")
                q = subprocess.Popen([VMATLAS] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(rng.uniform(0, took))
                q.send_signal(sig)
                err = q.communicate(timeout=60)[1].decode(errors="replace")
                assert q.returncode in (0, -sig, 128 + sig, 1), (cmd, sig, q.returncode, err)
                assert settled(t["pid"]), (cmd, sig, tracer_and_states(t["pid"]))
                if complete is not None:
                    now = open(out, "rb").read()
                    if cmd[0] in ("dump",):
                        assert now in (b"OLD", complete), (cmd, sig, len(now))
                    else:   # holds its time and the process's changing facts: whole, or the old file
                        assert now == b"OLD" or len(now) > 1000, (cmd, sig, now[:20])
                    if sig != signal.SIGKILL:   # its own temporary goes with it
                        assert not glob.glob(f"{out}.vmatlas-{q.pid}-*"), (cmd, os.listdir(d))
                assert p.poll() is None, "the target died"
        assert fds(t["pid"]) == fds0, (cmd, fds0, fds(t["pid"]))
        # Commands that stop threads (ptrace) may leave one that was
        # stopped in a system call to see it end early when vmatlas dies
        # (a futex wait woken, as programs must expect): its own code then
        # writes its own data. Code and read-only data must not change, and
        # commands that stop nothing must change nothing.
        stops = cmd[0] in ("map", "threads", "capture")
        assert stays_unchanged(mem0, t["pid"], writable=not stops), (cmd, changed(mem0, memory(t["pid"])))
    # a later run removes what killed runs left behind
    run(["dump", pid, hex(t["big"]["addr"]), "-o", out], timeout=60)
    assert not glob.glob(out + ".vmatlas-*"), os.listdir(d)
