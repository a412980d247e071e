"""vmatlas track: what the kernel offers (checked here independently), and
the pages a fixture writes between start and stop, exactly; the target is
left as it was: same descriptors, no write protection, nothing stopped,
and a read() it was blocked in goes on."""
import ctypes
import fcntl
import json
import mmap
import os
import struct
import tempfile
import time

from lib import Skip, assert_not_held, fixture, run, run_json
from test_errors import one_error_line
from test_snapshot import changing

PAGE = 4096


def kernel_soft_dirty():
    """a page written here is soft-dirty at once where the kernel keeps the bit"""
    m = mmap.mmap(-1, PAGE)
    m[0] = 1
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(addr // PAGE * 8)
        e, = struct.unpack("<Q", f.read(8))
    return bool(e >> 55 & 1)


def kernel_uffd_wp_async():
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(323, os.O_CLOEXEC | os.O_NONBLOCK | 1)   # userfaultfd(UFFD_USER_MODE_ONLY)
    if fd < 0:
        return False
    try:
        api = bytearray(struct.pack("<QQQ", 0xAA, 1 << 15, 0))   # UFFD_API, UFFD_FEATURE_WP_ASYNC
        fcntl.ioctl(fd, 0xC018AA3F, api)                          # UFFDIO_API
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def vmas_write_protected(pid):
    with open(f"/proc/{pid}/smaps") as f:
        return [l for l in f if l.startswith("VmFlags") and " uw" in l]


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] not in "ZX"
    except FileNotFoundError:
        return False


def test_probe_agrees_with_the_kernel():
    doc = run_json(["track", "probe"])
    assert doc["soft_dirty"] == kernel_soft_dirty(), doc
    assert doc["uffd_wp_async"] == kernel_uffd_wp_async(), doc
    text = run(["track", "probe"])
    assert ("would use: nothing" in text.stdout) == (not doc["method"])


def need_tracking():
    doc = run_json(["track", "probe"])
    if not doc["method"]:
        raise Skip("this kernel cannot track writes")
    return doc


def test_written_pages_exactly():
    need_tracking()
    with tempfile.TemporaryDirectory() as d, changing() as (p, t, step):
        pid, state = t["pid"], os.path.join(d, "t.state")
        fds = sorted(os.listdir(f"/proc/{pid}/fd"))
        started = run_json(["track", "start", str(pid), "-o", state])
        assert_not_held(pid)
        assert sorted(os.listdir(f"/proc/{pid}/fd")) == fds   # the userfaultfd went back out
        assert oct(os.stat(state).st_mode & 0o777) == "0o600"
        with open(state) as f:
            holder = int([l.split()[1] for l in f if l.startswith("holder ")][0])
        step()   # answers: the read() it was blocked in when we came went on
        shown = run_json(["track", "show", state])
        again = run_json(["track", "show", state])
        stopped = run_json(["track", "stop", state])
        after_stop = vmas_write_protected(pid)
        holder_alive = process_alive(holder)
        assert_not_held(pid)
    assert started["method"] in ("soft-dirty", "uffd-wp") and started["written"] == []
    lo, hi = t["data"], t["data"] + 8 * PAGE
    for doc in (shown, again, stopped):
        in_data = [(int(w["addr"], 16) - lo, w["size"]) for w in doc["written"] if lo <= int(w["addr"], 16) < hi]
        assert in_data == [(2 * PAGE, 2 * PAGE), (6 * PAGE, PAGE)], in_data
        for quiet in ("quiet_anon", "quiet_file", "prot"):   # read, or not writable: not written
            assert not [w for w in doc["written"] if t[quiet] <= int(w["addr"], 16) < t[quiet] + 4 * PAGE], quiet
    assert not shown["stopped"] and stopped["stopped"]
    assert stopped["tracked"]["bytes"] > 0 and stopped["written_bytes"] == sum(w["size"] for w in stopped["written"])
    assert after_stop == [] and not holder_alive
    assert not os.path.exists(state)


def test_target_exits_while_tracked():
    need_tracking()
    with tempfile.TemporaryDirectory() as d:
        state = os.path.join(d, "t.state")
        with fixture() as (p, t):
            run_json(["track", "start", str(t["pid"]), "-o", state])
            with open(state) as f:
                holder = int([l.split()[1] for l in f if l.startswith("holder ")][0])
        # the fixture has exited; the holder follows it
        for _ in range(100):
            if not holder or not process_alive(holder):
                break
            time.sleep(0.02)
        assert not holder or not process_alive(holder)
        one_error_line(run(["track", "stop", state]), 1, "exited")
        assert not os.path.exists(state)


def test_errors():
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad.state")
        with open(bad, "w") as f:
            f.write("vmatlas-track 1\nmethod uffd-wp\npid 12\nholder 0\n")
        one_error_line(run(["track"]), 2, "probe, start, show or stop")
        one_error_line(run(["track", "start", "1"]), 2, "-o")
        one_error_line(run(["track", "stop"]), 2, "STATE")
        one_error_line(run(["track", "stop", bad]), 1, "not a vmatlas tracking state")
        with open(bad, "w") as f:
            f.write("vmatlas-track 9\n")
        one_error_line(run(["track", "show", bad]), 1, "newer")
        one_error_line(run(["track", "show", os.path.join(d, "none")]), 1, "none")
        one_error_line(run(["track", "start", "self", "-o", bad]), 1, "own")
        one_error_line(run(["track", "probe", "--method", "uffd"]), 2)


def test_a_method_the_kernel_lacks():
    doc = run_json(["track", "probe"])
    with tempfile.TemporaryDirectory() as d, fixture() as (p, t):
        state = os.path.join(d, "t.state")
        for method, have in (("soft-dirty", doc["soft_dirty"]), ("uffd", doc["uffd_wp_async"])):
            if not have:
                one_error_line(run(["track", "start", str(t["pid"]), "-o", state, "--method", method]), 1,
                               "cannot track writes")
                assert not os.path.exists(state)
                assert_not_held(t["pid"])
