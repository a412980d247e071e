"""vmatlas snapshot and diff: a fixture changes its layout in known ways
between two snapshots; regions are checked against /proc/PID/maps read at
the same moments, the rest against what the fixture says it did."""
import os
import stat
import struct
import tempfile

from lib import assert_not_held, no_sanitizer_reports, proc_maps, run, run_json, stepping, vmas
from test_errors import one_error_line

PAGE = 4096


def changing():
    """the changefix fixture: (proc, truth, step)"""
    return stepping("changefix")


def snapshot(pid, path, *opts):
    doc = run_json(["snapshot", str(pid), "-o", path] + list(opts))
    assert doc["file"] == path and doc["bytes"] == os.path.getsize(path)
    return doc


def resident(pid, addr, pages=4):
    """how many of the pages at addr are in memory or swap (pagemap)"""
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(addr // PAGE * 8)
        ents = struct.unpack(f"<{pages}Q", f.read(8 * pages))
    return sum(1 for e in ents if e >> 62)


def keyed(maps):
    return {m["start"]: m for m in maps}


def test_diff_of_known_changes():
    with tempfile.TemporaryDirectory() as d, changing() as (p, t, step):
        pid = t["pid"]
        a, b = os.path.join(d, "a.snap"), os.path.join(d, "b.snap")
        snapshot(pid, a, "--data", "--heap-blocks")
        maps_a = keyed(proc_maps(pid))
        present_a = [resident(pid, t[k]) for k in ("quiet_file", "quiet_anon")]
        did = step()
        present_b = [resident(pid, t[k]) for k in ("quiet_file", "quiet_anon")]
        maps_b = keyed(proc_maps(pid))
        snapshot(pid, b, "--data", "--heap-blocks")
        diff = run_json(["diff", a, b])
        live = run_json(["diff", a, str(pid)])   # the same, with the process as B
        assert_not_held(pid)
        assert stat.S_IMODE(os.stat(a).st_mode) == 0o600
        assert sorted(os.listdir(d)) == ["a.snap", "b.snap"]

    # the quiet pages were brought in by the round, so they were read differently
    assert present_a == [0, 0] and present_b == [4, 4], (present_a, present_b)

    # regions: exactly what /proc/PID/maps says came and went
    base = lambda r: int(r["base"], 16)
    assert sorted(base(r) for r in diff["regions"]["added"]) == sorted(maps_b.keys() - maps_a.keys())
    assert sorted(base(r) for r in diff["regions"]["removed"]) == sorted(maps_a.keys() - maps_b.keys())
    want_changed = {s for s in maps_a.keys() & maps_b.keys()
                    if (maps_a[s]["end"], maps_a[s]["perms"]) != (maps_b[s]["end"], maps_b[s]["perms"])}
    changed = {base(c["after"]): c for c in diff["regions"]["changed"]}
    assert set(changed) == want_changed
    # and the ones the fixture changed on purpose, as it says
    gone = [r for r in diff["regions"]["removed"] if base(r) == t["gone"]]
    assert gone and gone[0]["size"] == 3 * PAGE and gone[0]["prot"] == "rw-p"
    new = [r for r in diff["regions"]["added"] if base(r) == t["new"]]
    assert new and new[0]["size"] == 5 * PAGE and new[0]["prot"] == "r--p"
    assert changed[t["prot"]]["what"] == ["reprotected"]
    assert (changed[t["prot"]]["before"]["prot"], changed[t["prot"]]["after"]["prot"]) == ("rw-p", "r--p")
    assert changed[t["grow"]]["what"] == ["resized"]
    assert (changed[t["grow"]]["before"]["size"], changed[t["grow"]]["after"]["size"]) == (4 * PAGE, 8 * PAGE)

    # modules, threads
    assert [m["path"] for m in diff["modules"]["added"]] == [os.path.realpath(t["libmanual"])]
    assert [m["path"] for m in diff["modules"]["removed"]] == [os.path.realpath(t["libvisible"])]
    assert diff["threads"]["added"] == [{"tid": did["newcomer"], "name": "newcomer"}]
    assert diff["threads"]["removed"] == [{"tid": t["ender"], "name": "ender"}]

    # heap blocks: chunk headers sit 16 bytes before the pointers malloc gave
    freed = {int(c["addr"], 16): c["size"] for c in diff["heaps"]["freed"]}
    allocated = {int(c["addr"], 16): c["size"] for c in diff["heaps"]["allocated"]}
    assert freed.get(t["freed"] - 16, 0) >= 5000
    assert allocated.get(did["allocated"] - 16, 0) >= 7000
    arena = diff["heaps"]["arenas"][0]
    assert len(arena["in_use"]) == 2 and arena["in_use"][1] > arena["in_use"][0]

    # pages: in the data region, exactly the pages written (2-3 and 6)
    lo, hi = t["data"], t["data"] + 8 * PAGE
    in_data = [(int(r["addr"], 16) - lo, r["size"]) for r in diff["pages_changed"] if lo <= int(r["addr"], 16) < hi]
    assert in_data == [(2 * PAGE, 2 * PAGE), (6 * PAGE, PAGE)]
    assert all(r["region"] == hex(lo) for r in diff["pages_changed"] if lo <= int(r["addr"], 16) < hi)
    # untouched regions did not change, nor pages only read: never-touched
    # anonymous pages hash as zeros, file pages not in memory as the file's
    for quiet in (t["grow"], t["prot"], t["quiet_file"], t["quiet_anon"]):
        assert not [r for r in diff["pages_changed"] if quiet <= int(r["addr"], 16) < quiet + 4 * PAGE], quiet

    # a live B gives the same answer as a snapshot of it
    for k in ("regions", "modules", "threads"):
        assert live[k] == diff[k], k
    assert live["heaps"]["allocated"] == diff["heaps"]["allocated"]
    in_data_live = [r for r in live["pages_changed"] if lo <= int(r["addr"], 16) < hi]
    assert [(int(r["addr"], 16) - lo, r["size"]) for r in in_data_live] == in_data


def test_text_and_nothing_changed():
    with tempfile.TemporaryDirectory() as d, changing() as (p, t, step):
        a = os.path.join(d, "a.snap")
        snapshot(t["pid"], a)
        same = run_json(["diff", a, a])
        same_text = run(["diff", a, a]).stdout
        step()
        out = run(["diff", a, str(t["pid"])])
    assert same["regions"] == {"added": [], "removed": [], "changed": []}
    assert same["modules"] == {"added": [], "removed": []} and same["threads"] == {"added": [], "removed": []}
    assert same["pages_changed"] is None and "allocated" not in same["heaps"]   # no --data, no --heap-blocks
    assert out.returncode == 0, out.stderr
    no_sanitizer_reports(out.stderr)
    assert "re-protected rw-p -> r--p" in out.stdout and "resized 16 K -> 32 K" in out.stdout
    assert "+ libmanual.so" in out.stdout and "- libvisible.so" in out.stdout
    assert "(newcomer)" in out.stdout and "(ender)" in out.stdout
    assert "no page hashes" in out.stdout
    # arenas that did not change are counted in the text, listed in the JSON
    arenas = same["heaps"]["arenas"]
    assert arenas, same["heaps"]
    heaps = same_text.split("heaps:\n", 1)[1].split("pages")[0]
    assert "arena 0x" not in heaps, same_text
    n = len(arenas)
    assert f"  {n} arena{'s' if n > 1 else ''} unchanged" in heaps, same_text


def test_snapshot_holds_the_map():
    """Regions, modules and threads survive the round trip: a diff of a
    snapshot with itself is empty, and the region count is the map's."""
    with tempfile.TemporaryDirectory() as d, changing() as (p, t, step):
        a = os.path.join(d, "a.snap")
        doc = snapshot(t["pid"], a, "--data")
        m = run_json(["map", str(t["pid"])])
        maps = proc_maps(t["pid"])
        with open(a, "rb") as f:
            hdr = f.read(40)
    assert doc["data"] is True
    nonfree = vmas([r for al in m["allocations"] for r in al["regions"] if r["state"] != "free"])
    assert len(nonfree) == len(maps)
    magic, version, flags, raw, comp, _ = struct.unpack("<8sIIQQQ", hdr)
    assert magic == b"VMATSNAP" and version == 1 and flags & 1 and comp == doc["bytes"] - 40


def test_bad_snapshots():
    with tempfile.TemporaryDirectory() as d, changing() as (p, t, step):
        good = os.path.join(d, "good.snap")
        snapshot(t["pid"], good, "--heap-blocks")
        with open(good, "rb") as f:
            blob = f.read()

        def bad(name, data, *words):
            path = os.path.join(d, name)
            with open(path, "wb") as f:
                f.write(data)
            one_error_line(run(["diff", path, good]), 1, name, *words)
            one_error_line(run(["diff", good, path]), 1, name, *words)

        bad("text.snap", b"hello, world\n" * 10, "not a vmatlas snapshot")
        bad("empty.snap", b"", "not a vmatlas snapshot")
        bad("newer.snap", blob[:8] + struct.pack("<I", 99) + blob[12:], "version 99 is newer")
        for cut in (8, 39, 40, 41, len(blob) // 2, len(blob) - 1):
            bad("cut.snap", blob[:cut], "snapshot")
        for at in (41, len(blob) // 2, len(blob) - 1):
            flipped = bytearray(blob)
            flipped[at] ^= 0x40
            bad("flipped.snap", bytes(flipped), "damaged")
        one_error_line(run(["diff", os.path.join(d, "missing.snap"), good]), 1, "missing.snap")
        # a snapshot that cannot be written leaves nothing behind
        one_error_line(run(["snapshot", str(t["pid"]), "-o", os.path.join(d, "no", "such", "dir.snap")]), 1)
        one_error_line(run(["snapshot", str(t["pid"])]), 2, "-o")
        one_error_line(run(["diff", good]), 2)
        assert_not_held(t["pid"])
    assert not os.path.exists(os.path.join(d, "no"))
