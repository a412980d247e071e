"""Helpers for the integration tests: run vmatlas, start fixtures, read
/proc independently of vmatlas."""
import contextlib
import json
import os
import re
import signal
import subprocess
import time

BUILD = os.environ.get("VMATLAS_BUILD", "build")
VMATLAS = os.path.join(BUILD, "vmatlas")
FIXTURES = os.path.join(BUILD, "fixtures")


class Skip(Exception):
    """Raised by a test that cannot run on this machine."""


def run(args, timeout=60, **kw):
    """Run vmatlas with args; returns CompletedProcess (text)."""
    return subprocess.run([VMATLAS] + list(args), capture_output=True, text=True,
                          timeout=timeout, **kw)


def run_json(args, **kw):
    p = run(list(args) + ["--json"], **kw)
    assert p.returncode == 0, f"vmatlas {' '.join(args)} failed ({p.returncode}): {p.stderr}"
    return json.loads(p.stdout)


def no_sanitizer_reports(stderr):
    for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer", "UndefinedBehavior"):
        assert bad not in stderr, f"sanitizer report: {stderr[-2000:]}"


@contextlib.contextmanager
def fixture(*args, name="layout"):
    """Start a fixture; yield (Popen, truth dict). It exits when its
    stdin closes."""
    p = subprocess.Popen([os.path.join(FIXTURES, name)] + [str(a) for a in args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line, f"fixture {name} printed nothing"
        yield p, json.loads(line)
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@contextlib.contextmanager
def stepping(name):
    """A fixture that changes something each time it reads a line: yields
    (Popen, truth, step), step() sending a line and returning the JSON line
    it answers with. It must exit with status 0 when stdin closes."""
    p = subprocess.Popen([os.path.join(FIXTURES, name)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        truth = json.loads(p.stdout.readline())

        def step():
            p.stdin.write("\n")
            p.stdin.flush()
            return json.loads(p.stdout.readline())
        yield p, truth, step
    finally:
        p.stdin.close()
        assert p.wait(timeout=10) == 0, f"fixture {name} failed"


def proc_maps(pid):
    """/proc/PID/maps as dicts."""
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$",
                         line.rstrip("\n"))
            assert m, line
            path = m.group(7) or None
            out.append(dict(start=int(m.group(1), 16), end=int(m.group(2), 16),
                            perms=m.group(3), offset=int(m.group(4), 16),
                            inode=int(m.group(6)), path=path))
    return out


def thread_states(pid):
    """{tid: (state letter, TracerPid)} for every thread of pid."""
    res = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                st = dict(l.split(":", 1) for l in f if ":" in l)
            res[int(tid)] = (st["State"].split()[0], int(st["TracerPid"]))
        except FileNotFoundError:
            pass
    return res


def wait_blocked(pid, seconds=5):
    """until every thread of pid sleeps (blocked in a system call): a
    fixture that has printed its truth may still be on its way there"""
    deadline = time.time() + seconds
    quiet = 0
    while time.time() < deadline:
        states = thread_states(pid)
        quiet = quiet + 1 if states and all(s == "S" for s, _ in states.values()) else 0
        if quiet >= 3:
            return
        time.sleep(0.01)
    raise AssertionError(f"threads of {pid} never all blocked: {thread_states(pid)}")


def assert_not_held(pid):
    """No thread of pid is traced or stopped by anyone."""
    for _ in range(50):
        states = thread_states(pid)
        if all(tracer == 0 and state not in ("t", "T") for state, tracer in states.values()):
            return
        time.sleep(0.02)
    raise AssertionError(f"threads left traced or stopped: {states}")


def regions(doc):
    """All regions of a map document, in order."""
    return [r for a in doc["allocations"] for r in a["regions"]]


def alloc_of(doc, addr):
    for a in doc["allocations"]:
        base = int(a["base"], 16)
        if base <= addr < base + a["size"]:
            return a
    return None


def region_of(doc, addr):
    for r in regions(doc):
        base = int(r["base"], 16)
        if base <= addr < base + r["size"]:
            return r
    return None


def kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def vmas(regs):
    """Regions joined back into the kernel's VMAs where the map split one
    (`vma_continues`): what /proc/PID/maps lists."""
    out = []
    join = False
    for r in regs:
        if join and out:
            prev = out[-1]
            out[-1] = dict(prev, size=prev["size"] + r["size"])
        else:
            out.append(dict(r))
        join = bool(r.get("vma_continues"))
    return out
