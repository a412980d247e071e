"""vmatlas search on known placements, and whole hit lists against a search
done here over /proc/PID/mem with the same choice of regions."""
import re
import struct

from lib import fixture, regions, run, run_json


def hits(doc):
    return [int(h["addr"], 16) for h in doc["hits"]]


def python_search(pid, mapdoc, needle, include_ro=False):
    """every match inside each selected region, read region by region"""
    found = []
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as f:
        for r in regions(mapdoc):
            if r["state"] != "commit" or r["type"] == "special" or not r["prot"].startswith("r"):
                continue
            if "x" in r["prot"] or ("w" not in r["prot"] and not include_ro):
                continue
            base = int(r["base"], 16)
            data = bytearray()
            for off in range(0, r["size"], 4096):  # page by page: some pages may fail
                f.seek(base + off)
                try:
                    data += f.read(4096)
                except OSError:
                    data += b"\0" * 4096  # unreadable: cannot hold a match ...
            for m in re.finditer(re.escape(needle), bytes(data)):
                found.append(base + m.start())
    return sorted(found)


def test_known_placements():
    with fixture(name="searchfix") as (p, t):
        pid = str(t["pid"])
        a = run_json(["search", pid, "--ascii", "VMATLAS-", "--include-ro"])
        u = run_json(["search", pid, "--utf16", "vmatlas-ワイド"])
        n32 = run_json(["search", pid, "--u32", "0xdeadbeef"])
        n64 = run_json(["search", pid, "--u64", str(0x1122334455667788)])
        f64 = run_json(["search", pid, "--f64", "3.14159265358979"])
        i32 = run_json(["search", pid, "--i32", "-123456"])
        hx = run_json(["search", pid, "--hex", "56 4d ?? 54 4c 41 53 2d 53 54"])
        ptr = run_json(["search", pid, "--ptr-to", hex(t["split"])])
        rx = run_json(["search", pid, "--regex", "VMATLAS-(START|END)", "--include-ro"])
        # classes and intervals hold no literal the match must contain
        rx2 = run_json(["search", pid, "--regex", "[[:upper:]]{7,}-(START|END)", "--include-ro"])
        # matches the empty string at every byte: only the non-empty are hits
        rx3 = run_json(["search", pid, "--regex", "(VMATLAS-(START|END))?", "--include-ro"])
        text = run(["search", pid, "--ascii", "VMATLAS-STRADDLE"])
    assert set(hits(a)) >= {t["start"], t["straddle"], t["end"], t["eof"] + 64}
    assert t["split_at"] not in hits(a)          # across two regions: not a hit
    assert not any(t["split"] <= h < t["split"] + 8192 for h in hits(a))
    # the two pages past the end of the file cannot be read: a hole, hits kept
    assert {"addr": hex(t["eof"] + 4096), "size": 8192} in a["holes"]
    assert hits(u) == [t["utf16"]]
    assert t["u32"] in hits(n32) and t["u64"] in hits(n64) and t["f64"] in hits(f64)
    assert t["i32"] in hits(i32)
    assert hits(hx) == [t["start"], t["straddle"]]
    assert t["ptr"] in hits(ptr)
    assert hits(rx) == [t["start"], t["end"]] and [h["len"] for h in rx["hits"]] == [13, 11]
    assert hits(rx3) == hits(rx)
    assert hits(rx2) == hits(rx) and [h["len"] for h in rx2["hits"]] == [13, 11]
    h = a["hits"][0]
    assert h["usage"] == "private" and h["region"]["base"] == hex(t["big"])
    assert a["scanned"] > 9 << 20 and a["seconds"] >= 0
    assert "VMATLAS-STRADDLE" in text.stdout and text.stdout.startswith("1 hit ")


def test_against_proc_mem():
    with fixture() as (p, t):
        pid = t["pid"]
        m = run_json(["map", str(pid)])
        for needle, extra in ((b"worker", []), (b"\x7fELF", ["--include-ro"]), (b"vmatlas", [])):
            doc = run_json(["search", str(pid), "--hex", needle.hex()] + extra)
            assert hits(doc) == python_search(pid, m, needle, bool(extra)), needle


def test_options():
    with fixture(name="searchfix") as (p, t):
        pid = str(t["pid"])
        # 'x' fills 9 MiB: every offset is a hit; keep the lists small
        window = ["--from", hex(t["big"]), "--to", hex(t["big"] + 65536)]
        every = hits(run_json(["search", pid, "--ascii", "xxxxxxxx"] + window))
        first = run_json(["search", pid, "--ascii", "xxxxxxxx", "--max", "5"] + window)
        ranged = run_json(["search", pid, "--ascii", "VMATLAS-", "--from", hex(t["big"] + 1),
                           "--to", hex(t["big"] + (8 << 20))])
        ro = run_json(["search", pid, "--ascii", "VMATLAS-SPLIT", "--include-ro"])
        code = run_json(["search", pid, "--hex", "7f 45 4c 46", "--exec"])
        bad = [run(["search", pid]), run(["search", pid, "--hex", "zz"]), run(["search", pid, "--hex", "?? ??"]),
               run(["search", pid, "--u8", "300"]), run(["search", pid, "--ascii", "a", "--u32", "1"]),
               run(["search", pid, "--regex", "("])]
    assert hits(first) == every[:5] and first["truncated"]
    assert hits(ranged) == [t["straddle"]]
    assert hits(ro) == []
    assert len(hits(code)) >= 1
    for b in bad:
        assert b.returncode == 2 and b.stderr.count("\n") == 1, b.stderr
