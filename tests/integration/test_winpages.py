"""Per-page detail of a live Windows process (`map --pages`) from its
working set (QueryWorkingSetEx), run under Wine.

Where Wine differs from Windows: it answers QueryWorkingSetEx for the
calling process only, so vmatlas.exe has page data for `self` and none
for another process (its pages and statistics are unknown: absent and
null, not 0); and it gives every valid shared page a share count of 1.
On `self` the pages are checked against what VirtualQueryEx says of the
same regions (protection, committed extent) and the region statistics;
on heaplive.exe against the fixture's own QueryWorkingSetEx of pages it
touched, where vmatlas gets an answer (Windows)."""
import json
import os

import schema
from test_winheap import fixture
from winlive import ROOT, vmatlas

_schema = {}


def checked(args):
    if not _schema:
        with open(os.path.join(ROOT, "docs", "json-schema.json")) as f:
            _schema.update(json.load(f))
    p = vmatlas(list(args) + ["--json"])
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    schema.validate(_schema, "map", doc)
    return doc, p.stderr


def test_winpages_self_from_the_working_set():
    m, _ = checked(["map", "--pages", "self"])
    pg = m["target"]["page_size"]
    regs = [r for a in m["allocations"] for r in a["regions"]]
    withpages = [r for r in regs if "pages" in r]
    assert withpages
    for r in regs:
        if r["state"] != "commit":
            assert "pages" not in r, r
            continue
        p = r["pages"]
        # the runs cover the region, page by page, in order
        at = int(r["base"], 16)
        for run in p["runs"]:
            assert int(run["addr"], 16) == at, (r["base"], run)
            at += run["count"] * pg
        assert at == int(r["base"], 16) + r["size"], r["base"]
        present = sum(x["count"] for x in p["runs"] if "present" in x["flags"])
        # the statistics are taken first; reading memory while mapping (the
        # annotators) brings pages of its own process in, never out
        assert present == p["present"] and present * pg >= r["rss"], (r["base"], p["present"], r["rss"])
        # what the working set does not say: unknown
        assert p["swapped"] is None and not any("swapped" in x["flags"] for x in p["runs"])
        for x in p["runs"]:
            if "present" not in x["flags"]:
                assert "mapcount" not in x and "prot" not in x, x
                continue
            # each valid page's protection is its region's (VirtualQueryEx)
            assert x["prot"] == r["prot"][:3], (r["base"], r["prot"], x)
            assert ("copy" in x.get("protect_flags", [])) == ("copy" in r.get("protect_flags", [])), (r, x)
            assert 1 <= x["mapcount"] <= 7, x
            assert ("exclusive" in x["flags"]) == ("file" not in x["flags"]), x
            if "file" in x["flags"]:
                assert x["mapcount"] == 1, x  # Wine's share count (its FIXME); Windows counts
    # the executable's PE header page was read: it is in the working set
    exe = next(x for x in m["modules"] if x["name"].lower() == "vmatlas.exe")
    head = next(r for r in regs if r["base"] == exe["base"])
    assert head["pages"]["present"] == 1, head
    # text: the runs under their region
    p = vmatlas(["map", "--pages", exe["base"], "self"])
    assert p.returncode == 0, p.stderr
    assert "1 page   present exclusive  mapcount 1  r--" in p.stdout, p.stdout


def test_winpages_other_process_is_unknown_under_wine():
    _, truth = fixture()
    # the fixture's own view of four pages it made, the first and third touched
    assert truth["ws_ok"], truth
    valid = [w[0] for w in truth["ws"]]
    assert valid == [1, 0, 1, 0], truth["ws"]
    assert all(w[3] == 0x04 for w in truth["ws"] if w[0]), truth["ws"]  # PAGE_READWRITE
    m, err = checked(["map", "--pages", hex(truth["ws_block"]), str(truth["pid"])])
    reg = next(r for a in m["allocations"] for r in a["regions"] if int(r["base"], 16) == truth["ws_block"])
    if "pages" not in reg:
        # Wine: QueryWorkingSetEx answers for the calling process only
        assert "no per-page information" in err, err
        assert reg.get("rss") is None and m["total"]["rss"] is None, reg
        assert all("pages" not in r for a in m["allocations"] for r in a["regions"])
        return
    # Windows: vmatlas sees what the fixture saw
    runs = reg["pages"]["runs"]
    got = []
    for x in runs:
        got += [int("present" in x["flags"])] * x["count"]
    assert got == valid, (got, valid)
