"""The libraries the Windows build gets from Debian's source packages
(scripts/win_deps.sh: zstd, liblzma, TRE), checked against the Linux
build as ground truth on the same files: snapshots compressed by one
build read by the other, `search --regex` on the same minidump, and
MiniDebugInfo symbols of the same ELF core. Where win_deps.sh could not
build a library (no root or no network), the Windows build has the
stand-in, and the test checks that it says so instead."""
import json
import os
import struct
import tempfile

from lib import Skip, fixture, run, run_json
from winlive import ROOT, live, vmatlas

DONE = os.path.join(ROOT, "build", "win-deps", "win64", ".done")


def have(lib):
    """whether scripts/win_deps.sh built LIB into the 64-bit build"""
    if not os.path.exists(DONE):
        raise Skip("no build/win-deps/win64/.done (make windows)")
    with open(DONE) as f:
        for line in f:
            if line.startswith("WIN_HAVE_win64"):
                return lib in line.split(":=", 1)[1].split()
    return False


def both(args):
    """(Linux, Windows) JSON of the same command"""
    lx = run_json(args + ["--json"])
    w = vmatlas(args + ["--json"])
    assert w.returncode == 0, f"vmatlas.exe {' '.join(args)}: {w.stderr[-2000:]}"
    return lx, json.loads(w.stdout)


def sizes(snap):
    """(uncompressed, compressed) payload sizes from a snapshot's header"""
    with open(snap, "rb") as f:
        h = f.read(40)
    assert h[:8] == b"VMATSNAP", h[:8]
    return struct.unpack_from("<QQ", h, 16)


def test_windeps_linux_snapshots_read_by_windows():
    """two snapshots the Linux build compressed: the Windows build's diff
    of them is the Linux build's own"""
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "a.snap"), os.path.join(d, "b.snap")
        for snap in (a, b):  # two processes: regions, modules, threads differ
            with fixture(name="layout") as (p, _):
                assert run(["snapshot", str(p.pid), "-o", snap]).returncode == 0
        raw, comp = sizes(a)
        assert comp < raw, (raw, comp)
        if not have("zstd"):
            r = vmatlas(["diff", a, b])
            assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "only uncompressed" in r.stderr, r.stderr
            return
        lx, w = both(["diff", a, b])
        assert lx["regions"]["added"] and lx["regions"]["removed"], lx["regions"]
        assert w == lx
        lx, w = both(["diff", a, a])
        assert w == lx and not any(w["regions"][k] for k in ("added", "removed", "changed"))


def test_windeps_windows_snapshots_compressed_and_read_by_linux():
    """snapshots the Windows build writes are compressed now, and the
    Linux build's diff of two of them is the Windows build's own"""
    _, truth = live()
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "a.snap"), os.path.join(d, "b.snap")
        for snap, target in ((a, str(truth["pid"])), (b, "self")):
            r = vmatlas(["snapshot", target, "-o", snap])
            assert r.returncode == 0, r.stderr
        raw, comp = sizes(a)
        if have("zstd"):
            assert comp < raw // 2, (raw, comp)
        else:  # stored blocks: a few bytes more than the payload
            assert comp > raw, (raw, comp)
        lx, w = both(["diff", a, b])
        assert lx["regions"]["added"] or lx["regions"]["removed"], lx["regions"]
        assert w == lx


PATTERNS = [
    "VMATLAS-LIVE-MARKER-[0-9a-f]+(-heap)?",
    # POSIX: the leftmost-longest match of an alternation
    "MARKER|MARKER-5b1e9c|MARK",
    "[[:upper:]]{4,}-[[:upper:]]+",
    r"kernel(32|base)\.dll",
    "^[A-Z][a-z]+ [a-z]+$",
    # matches the empty string everywhere: only non-empty matches are hits
    "(LIVE-MARKER)?",
]


def test_windeps_search_regex_on_a_minidump_as_linux():
    """`search --regex` of the Windows build on a minidump of the live
    fixture finds what the Linux build finds in the same file"""
    _, truth = live()
    with tempfile.TemporaryDirectory() as d:
        dmp = os.path.join(d, "live.dmp")
        r = vmatlas(["capture", str(truth["pid"]), "-o", dmp])
        assert r.returncode == 0, r.stderr
        if not have("tre"):
            r = vmatlas(["search", dmp, "--regex", "a+"])
            assert r.returncode == 2 and "could not build TRE" in r.stderr, r.stderr
            return
        for pat in PATTERNS:
            lx, w = both(["search", dmp, "--regex", pat, "--include-ro"])
            assert lx["hits"], pat
            # what the regex decides: where and how long (the symbol that
            # names a hit may differ: the Windows build has dbghelp's)
            assert [(h["addr"], h["len"], h["region"]) for h in w["hits"]] == \
                [(h["addr"], h["len"], h["region"]) for h in lx["hits"]], pat
        marker = both(["search", dmp, "--regex", PATTERNS[0], "--include-ro"])[1]
        hits = {int(h["addr"], 16): h for h in marker["hits"]}
        assert int(truth["marker_addr"], 16) in hits
        heap = hits[int(truth["heap_marker_addr"], 16)]
        assert heap["len"] == len(truth["heap_marker"]), heap
        # a bad pattern: one line, exit 2 (usage), in both
        for r in (run(["search", dmp, "--regex", "(a"]), vmatlas(["search", dmp, "--regex", "(a"])):
            assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr


def test_windeps_search_regex_live():
    """on the live fixture: the marker where the fixture says it is"""
    _, truth = live()
    if not have("tre"):
        raise Skip("TRE not built (scripts/win_deps.sh): the stand-in is checked on the minidump")
    r = vmatlas(["search", str(truth["pid"]), "--regex", "LIVE-MARKER-[0-9a-f]{6}-heap", "--json"])
    assert r.returncode == 0, r.stderr
    hits = {int(h["addr"], 16) for h in json.loads(r.stdout)["hits"]}
    assert int(truth["heap_marker_addr"], 16) + len("VMATLAS-") in hits, hits


def test_windeps_minidebuginfo_as_linux():
    """MiniDebugInfo (.gnu_debugdata, xz): an ELF core of the stripped
    variant of modfix, its static functions named by the Windows build
    as by the Linux build (which test_symbols checks against nm)"""
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "mini.core")
        with fixture(name="variants/modfix-mini") as (p, t):
            addrs = [hex(t["fixture_static_func"] + 2), hex(t["fixture_global_func"])]
            assert run(["capture", str(p.pid), "-o", core]).returncode == 0
        if not have("zstd"):  # the core's saved map (a compressed snapshot) cannot be read
            r = vmatlas(["sym", core, "--no-lines"] + addrs)
            assert r.returncode == 1 and "only uncompressed" in r.stderr, r.stderr
            return
        lx, w = both(["sym", core, "--no-lines"] + addrs)
        assert lx[0]["symbol"] == "fixture_static_func" and lx[0]["offset"] == 2, lx
        lmods, wmods = both(["modules", "--symbols", core])
        lsrc = next(m["symbols"] for m in lmods["modules"] if m["name"] == "modfix-mini")
        wsrc = next(m["symbols"] for m in wmods["modules"] if m["name"] == "modfix-mini")
        assert "minidebuginfo:symtab" in lsrc, lsrc
        if have("lzma"):
            assert w == lx
            assert wsrc == lsrc
        else:  # no MiniDebugInfo: the static function is not named
            assert w[0]["symbol"] != "fixture_static_func" and "minidebuginfo" not in wsrc, (w, wsrc)
