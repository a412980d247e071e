"""vmatlas scan start/next/list: the first round against a search done
here over /proc/PID/mem, later rounds against the values read here and
what the fixture says it changed."""
import contextlib
import os
import re
import stat
import struct
import tempfile

from lib import run, run_json, stepping
from test_errors import one_error_line
from test_search import python_search

V = 1234567891


@contextlib.contextmanager
def scanfix():
    """the fixture; yields (truth, step) where step() makes one round"""
    with stepping("scanfix") as (p, t, step):
        yield t, step


def addrs(doc):
    return [int(c["addr"], 16) for c in doc["shown"]]


def value_at(pid, addr, fmt):
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as f:
        f.seek(addr)
        return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]


def test_first_round_is_every_place():
    with tempfile.TemporaryDirectory() as d, scanfix() as (t, step):
        pid = str(t["pid"])
        s, su = os.path.join(d, "s.scan"), os.path.join(d, "u.scan")
        start = run_json(["scan", "start", pid, "--u32", str(V), "-o", s])
        listed = run_json(["scan", "list", s, "--show", "0"])
        run_json(["scan", "start", pid, "--u32", str(V), "-o", su, "--unaligned"])
        unaligned = run_json(["scan", "list", su, "--show", "0"])
        mapdoc = run_json(["map", pid])
        truth = python_search(t["pid"], mapdoc, struct.pack("<I", V))
        mode = stat.S_IMODE(os.stat(s).st_mode)
    assert start["candidates"] == len(addrs(listed)) and start["round"] == 1
    assert addrs(listed) == [a for a in truth if a % 4 == 0]
    assert addrs(unaligned) == truth
    for k in ("steady", "up", "down", "doomed"):
        assert t[k] in addrs(listed), k
    assert t["odd"] not in addrs(listed) and t["odd"] in addrs(unaligned)
    assert all(c["value"] == str(V) and c["previous"] == str(V) for c in listed["shown"])
    assert mode == 0o600


def test_rounds_narrow():
    with tempfile.TemporaryDirectory() as d, scanfix() as (t, step):
        pid = str(t["pid"])
        s, moving = os.path.join(d, "s.scan"), os.path.join(d, "m.scan")
        run_json(["scan", "start", pid, "--u32", str(V), "-o", s])
        run_json(["scan", "next", s, "--unchanged", "-o", moving])  # nothing moved yet: a copy to narrow apart
        step()
        same = run_json(["scan", "next", s, "--unchanged", "--show", "0"])
        changed = run_json(["scan", "next", moving, "--changed", "--show", "0"])
        now_same = {a: value_at(t["pid"], a, "<I") for a in addrs(same)}
        step()   # round 2 also unmaps the page that held `doomed`
        after = run_json(["scan", "next", s, "--unchanged", "--show", "0"])
        up = run_json(["scan", "next", moving, "--increased", "--show", "0"])
        up_value = value_at(t["pid"], t["up"], "<I")
        eq = run_json(["scan", "next", moving, "--eq", str(up_value), "--show", "0"])

    assert same["round"] == 2 and changed["round"] == 3 and t["steady"] in addrs(same) and t["doomed"] in addrs(same)
    assert t["up"] not in addrs(same) and t["down"] not in addrs(same)
    assert all(v == V for v in now_same.values())
    assert set(addrs(changed)) >= {t["up"], t["down"]} and t["steady"] not in addrs(changed)
    byaddr = {int(c["addr"], 16): c for c in changed["shown"]}
    assert byaddr[t["up"]]["value"] == str(V + 5) and byaddr[t["up"]]["previous"] == str(V)
    assert byaddr[t["down"]]["value"] == str(V - 7)
    # the doomed page is gone: counted, dropped
    assert after["unreadable"] == 1 and t["doomed"] not in addrs(after) and t["steady"] in addrs(after)
    assert after["candidates"] == same["candidates"] - 1
    assert t["up"] in addrs(up) and t["down"] not in addrs(up)
    assert up_value == V + 10 and t["up"] in addrs(eq)
    assert all(c["value"] == str(up_value) for c in eq["shown"])


def test_signed_and_float():
    with tempfile.TemporaryDirectory() as d, scanfix() as (t, step):
        pid = str(t["pid"])
        i, f = os.path.join(d, "i.scan"), os.path.join(d, "f.scan")
        run_json(["scan", "start", pid, "--i32", "-424242", "-o", i])
        run_json(["scan", "start", pid, "--f64", "2.5", "-o", f])
        step()
        dec = run_json(["scan", "next", i, "--decreased", "--show", "0"])
        lt = run_json(["scan", "next", i, "--lt", "-424242", "--show", "0"])
        eq = run_json(["scan", "next", f, "--eq", "3.75", "--show", "0"])
        step()
        gt = run_json(["scan", "next", f, "--gt", "4.9", "--show", "0"])
        text = run(["scan", "list", f])
    assert t["neg"] in addrs(dec) and t["neg"] in addrs(lt)
    assert {c["value"] for c in dec["shown"] if int(c["addr"], 16) == t["neg"]} == {"-424243"}
    assert t["real"] in addrs(eq) and t["real"] in addrs(gt)
    assert [c["value"] for c in gt["shown"] if int(c["addr"], 16) == t["real"]] == ["5"]
    assert text.returncode == 0 and re.search(r"candidates? \(f64\)", text.stdout)


def test_errors():
    with tempfile.TemporaryDirectory() as d:
        s = os.path.join(d, "s.scan")
        with scanfix() as (t, step):
            pid = str(t["pid"])
            one_error_line(run(["scan"]), 2, "start, next or list")
            one_error_line(run(["scan", "start", pid, "-o", s]), 2, "--TYPE")
            one_error_line(run(["scan", "start", pid, "--u32", "1"]), 2, "-o")
            one_error_line(run(["scan", "start", pid, "--u8", "300", "-o", s]), 2, "does not fit")
            one_error_line(run(["scan", "start", pid, "--u32", "1", "--u16", "2", "-o", s]), 2)
            run_json(["scan", "start", pid, "--u32", str(V), "-o", s])
            one_error_line(run(["scan", "next", s]), 2, "TEST")
            one_error_line(run(["scan", "next", s, "--changed", "--increased"]), 2, "one TEST")
            one_error_line(run(["scan", "next", s, "--eq", "x"]), 2)
            with open(s, "rb") as fh:
                blob = fh.read()

            def bad(name, data, *words):
                path = os.path.join(d, name)
                with open(path, "wb") as fh:
                    fh.write(data)
                one_error_line(run(["scan", "next", path, "--changed"]), 1, name, *words)
            bad("text.scan", b"not at all\n" * 9, "not a vmatlas scan file")
            bad("newer.scan", blob[:8] + struct.pack("<I", 7) + blob[12:], "newer")
            for cut in (10, 71, 72, len(blob) - 1):
                bad("cut.scan", blob[:cut], "scan file")
            flipped = bytearray(blob)
            flipped[-1] ^= 1
            bad("flipped.scan", bytes(flipped), "damaged")
        # the process is gone now
        one_error_line(run(["scan", "next", s, "--changed"]), 1, pid)
