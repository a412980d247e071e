"""vmatlas killed in the middle of `track start` or `track stop` leaves the
target as it was: running and untraced, its interrupted read() going on
with every register and its signal mask as they were, the same
descriptors, mappings and memory, no write protection, and no holder
process or state file left behind.

VMATLAS_TEST_STOP_AT_STEP=N makes vmatlas stop itself at the Nth ptrace
step of the injection (and of the start around it), where it is killed."""
import json
import os
import random
import signal
import subprocess
import tempfile
import time

from lib import VMATLAS, Skip, assert_not_held, fixture, run, run_json, wait_blocked
from test_track import vmas_write_protected


def need_uffd():
    doc = run_json(["track", "probe"])
    if doc["method"] != "uffd-wp":
        raise Skip("no userfaultfd write-protect here (nothing is injected)")


def holders_of(pid):
    """vmatlas-track processes watching pid (a pidfd on it). A descriptor
    that goes while we look (a holder opens and closes /proc files as it
    waits) is passed over, not the whole process: that missed a holder
    still at work, and the test took it for one left behind"""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                if f.read().strip() != "vmatlas-track":
                    continue
            fds = os.listdir(f"/proc/{d}/fd")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{d}/fd/{fd}") != "anon_inode:[pidfd]":
                    continue
                with open(f"/proc/{d}/fdinfo/{fd}") as f:
                    if f"Pid:\t{pid}\n" in f.read():
                        found.append(int(d))
                        break
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    return found


def where(pid):
    """what a process is doing: its state, tracer and kernel wait channel"""
    try:
        with open(f"/proc/{pid}/status") as f:
            st = {k: v.strip() for k, _, v in (l.partition(":") for l in f)}
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read()
        with open(f"/proc/{pid}/syscall") as f:
            sysc = f.read().split()[:1]
    except OSError as e:
        return f"{pid}: {e}"
    return f"{pid} {st.get('State')} tracer {st.get('TracerPid')} in {wchan} syscall {sysc}"


def picture(pid, t):
    """what must not change: descriptors, mappings, the data pages"""
    fds = sorted((fd, os.readlink(f"/proc/{pid}/fd/{fd}")) for fd in os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(t["data"])
        data = f.read(t["size"])
    return fds, maps, data


def settled(p, pid, t, before, state):
    """the holder (if any) has finished; the target is as it was and
    its read() goes on as if nothing happened"""
    for _ in range(1500):
        if not holders_of(pid):
            break
        time.sleep(0.02)
    left = holders_of(pid)
    assert left == [], f"a holder was left behind: {[where(h) for h in left]}, target {where(pid)}"
    assert not os.path.exists(state), "a state file was left behind"
    assert_not_held(pid)
    fds, maps, data = picture(pid, t)
    assert fds == before[0], f"descriptors changed: {before[0]} -> {fds}"
    assert maps == before[1], "mappings changed"
    assert data == before[2], "memory changed"
    assert vmas_write_protected(pid) == []
    p.stdin.write("hello\n")
    p.stdin.flush()
    said = json.loads(p.stdout.readline())
    assert said == {"read": 6, "regs": True, "mask": True, "text": "hello"}, said
    wait_blocked(pid)


def stopped_itself(proc, seconds=30):
    """until proc is stopped (True) or has exited (False)"""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with open(f"/proc/{proc.pid}/stat") as f:
                if f.read().rsplit(") ", 1)[1][0] == "T":
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    raise AssertionError("vmatlas neither stopped nor ended")


def test_killed_at_every_step_of_track_start():
    kill_at_every_step()


def test_killed_at_every_step_with_signals_arriving():
    """a signal handler that runs in the middle of the injection (it makes
    a system call of its own) returns into it"""
    kill_at_every_step("signals")


def kill_at_every_step(*args):
    need_uffd()
    with tempfile.TemporaryDirectory() as d, fixture(*args, name="readfix") as (p, t):
        pid, state = t["pid"], os.path.join(d, "t.state")
        wait_blocked(pid)
        before = picture(pid, t)
        for step in range(1, 80):
            env = dict(os.environ, VMATLAS_TEST_STOP_AT_STEP=str(step))
            proc = subprocess.Popen([VMATLAS, "track", "start", str(pid), "-o", state], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if not stopped_itself(proc):
                err = proc.communicate()[1]
                assert proc.returncode == 0, err
                run_json(["track", "stop", state])
                settled(p, pid, t, before, state)
                break
            proc.kill()
            proc.communicate()
            try:
                settled(p, pid, t, before, state)
            except AssertionError as e:
                raise AssertionError(f"killed at step {step}: {e}") from None
        else:
            raise AssertionError("track start never got to its end")
        assert step > 10, f"only {step - 1} steps"


def test_killed_at_random_moments():
    need_uffd()
    rng = random.Random(20261130)
    with tempfile.TemporaryDirectory() as d, fixture(name="readfix") as (p, t):
        pid, state = t["pid"], os.path.join(d, "t.state")
        wait_blocked(pid)
        before = picture(pid, t)
        for i in range(24):
            sig = signal.SIGKILL if i % 2 else signal.SIGINT
            mode = "stop" if i % 4 >= 2 else "start"
            if mode == "stop":
                run_json(["track", "start", str(pid), "-o", state])
                args = ["track", "stop", state]
            else:
                args = ["track", "start", str(pid), "-o", state]
            proc = subprocess.Popen([VMATLAS] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, 0.04))
            proc.send_signal(sig)
            proc.wait()
            if os.path.exists(state):   # it got through: end it (or learn it has ended)
                r = run(["track", "stop", state])
                assert r.returncode == 0 or "gone" in r.stderr, r.stderr
            settled(p, pid, t, before, state)


def holder_in(state):
    with open(state) as f:
        return int([l.split()[1] for l in f if l.startswith("holder ")][0])


def test_stop_right_after_start():
    """the holder is named and holding when start returns, even on a busy
    machine: stop finds it"""
    need_uffd()
    # vmatlas and a busy loop on one CPU: after fork, the holder waits
    # for its turn while start goes on
    hogs = [subprocess.Popen(["taskset", "-c", "0", "python3", "-c", "while True: pass"])]
    try:
        with tempfile.TemporaryDirectory() as d, fixture(name="readfix") as (p, t):
            pid, state = t["pid"], os.path.join(d, "t.state")
            wait_blocked(pid)
            before = picture(pid, t)
            for _ in range(12):
                r = subprocess.run(["taskset", "-c", "0", VMATLAS, "track", "start", str(pid), "-o", state],
                                   capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, r.stderr
                with open(f"/proc/{holder_in(state)}/comm") as f:
                    assert f.read() == "vmatlas-track\n"
                r = subprocess.run(["taskset", "-c", "0", VMATLAS, "track", "stop", state],
                                   capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, r.stderr
                settled(p, pid, t, before, state)
    finally:
        for h in hogs:
            h.kill()
            h.wait()


def test_orphaned_holder_is_cleared():
    """a holder whose state file is gone (a start killed after the
    handover, an old vmatlas) is ended by the next start; a live tracking
    is refused by name"""
    need_uffd()
    with tempfile.TemporaryDirectory() as d, fixture(name="readfix") as (p, t):
        pid, state, other = t["pid"], os.path.join(d, "t.state"), os.path.join(d, "u.state")
        wait_blocked(pid)
        before = picture(pid, t)
        run_json(["track", "start", str(pid), "-o", state])
        r = run(["track", "start", str(pid), "-o", other])
        assert r.returncode == 1 and "tracked already" in r.stderr and state in r.stderr, r.stderr
        assert not os.path.exists(other)
        os.unlink(state)   # its holder is an orphan now
        orphan = holders_of(pid)
        assert len(orphan) == 1
        started = run_json(["track", "start", str(pid), "-o", other])
        assert started["tracked"]["ranges"] > 1 and started["skipped"] == [], started
        assert orphan[0] not in holders_of(pid)
        run_json(["track", "stop", other])
        settled(p, pid, t, before, other)
