"""The heaps of a live Windows process (vmatlas.exe under Wine):
heaplive.exe makes known blocks in the process heap and in heaps of its
own (growable, fixed-size, one asked for the low-fragmentation front
end), some freed, walks every heap of GetProcessHeaps with HeapWalk and
prints that; vmatlas.exe, reading the process from outside (HeapWalk
works only on the caller's own heaps), must list the same heaps and the
same busy and free blocks by the heaps' own structures; whatis and the
map must name them; a minidump of it read by the Linux build must give
the same.

Where Wine differs from Windows: Wine 8 has no low-fragmentation front
end at all (its ntdll has no code for one): HeapSetInformation asking for
it is accepted and HeapQueryInformation still says 0, and so it does
after the run of same-size blocks that turns the LFH on by itself on
Windows; every block is a back-end block HeapWalk lists one by one, and
so does vmatlas (each heap's front_end "none"). On Windows, HeapWalk
lists the LFH's blocks one by one too (busy: cbData the size asked for,
cbOverhead 8; free: cbData the block less 16; Wine's conformance test
test_HeapCreate records it), while vmatlas, from outside, names the back-end
blocks holding them with their counts (test_nt_heap.py builds those);
Wine 9's LFH (after Wine 8) keeps its blocks in groups that its HeapWalk
lists as one busy back-end block each. A freed small block may wait in a
ring of pending frees, busy to HeapWalk and to vmatlas alike. Wine
reports a free block reaching into the last 4 * BLOCK_ALIGN bytes of a
segment's committed memory as ending there (its own FIXME in
heap_walk_blocks; BLOCK_ALIGN is two pointers: 16 bytes in a 64-bit
process, 8 in a 32-bit one)."""
import atexit
import json
import os
import subprocess
import tempfile

from lib import Skip, run_json
from winlive import FIXBITS, FIXDIR, ENV, ROOT, WINE, first_line, live, popen_wine, vmatlas, vmatlas_json

FIXTURE = os.path.join(FIXDIR, "heaplive.exe")
REGION, UNCOMMITTED, BUSY = 0x1, 0x2, 0x4
BLOCK_ALIGN = 2 * FIXBITS // 8  # Wine's heap: two pointers

_state = {}


def fixture():
    """(Popen, first truth) of the one heaplive.exe of the run"""
    live()  # the Wine server and its services up
    if not os.path.exists(FIXTURE):
        raise Skip("no heaplive.exe (make windows)")
    if "p" not in _state:
        p, line = popen_wine([WINE, FIXTURE], first_line, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=ENV)
        assert line, "heaplive.exe printed nothing"

        def stop():
            p.stdin.close()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        atexit.register(stop)
        _state["p"] = (p, json.loads(line))
    return _state["p"]


def walk_again():
    """the fixture's HeapWalk now (after vmatlas read it)"""
    p, _ = fixture()
    p.stdin.write("\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def compare(doc, truth):
    """vmatlas's heaps and blocks (heap --blocks --json) against HeapWalk"""
    assert doc["allocator"] == "nt" and doc["layout"] == "wine-8", doc.get("layout")
    assert doc["process_heap"] == hex(truth["process_heap"])
    assert doc["problems"] == [], doc["problems"]
    heaps = {int(h["addr"], 16): h for h in doc["heaps"]}
    # every heap of GetProcessHeaps, and no other
    assert set(heaps) == {w["heap"] for w in truth["walks"]}, (sorted(heaps), truth["walks"])
    assert heaps[truth["process_heap"]]["process"]
    for w in truth["walks"]:
        assert w["complete"]
        h = heaps[w["heap"]]
        segs = [g for g in doc["segments"] if g["heap"] == h["id"]]
        commit_end = {int(g["base"], 16): int(g["base"], 16) + g["committed"] for g in segs}
        got = []
        for g in segs:
            for b in g["blocks"]:
                size = b["user_size"]
                end = commit_end[int(g["base"], 16)] - 4 * BLOCK_ALIGN
                if b["state"] == "free" and int(b["addr"], 16) + b["size"] > end:
                    # Wine's FIXME, as HeapWalk says it: in cbData, a
                    # DWORD (a block starting past `end` wraps around)
                    size = (end - int(b["user"], 16)) & 0xffffffff
                got.append((int(b["user"], 16), size, b["state"] == "busy"))
        want = [(e[0], e[1], bool(e[4] & BUSY)) for e in w["entries"] if not e[4] & (REGION | UNCOMMITTED)]
        assert got == want, (hex(w["heap"]), [(hex(a), s, b) for a, s, b in got if (a, s, b) not in want],
                             [(hex(a), s, b) for a, s, b in want if (a, s, b) not in got])
        # the segments HeapWalk lists as regions: committed and uncommitted
        regions = [(e[0], e[5]) for e in w["entries"] if e[4] & REGION]
        mine = [(int(g["base"], 16), g["committed"]) for g in segs if g["kind"] == "segment"]
        assert [m[1] for m in mine] == [r[1] for r in regions], (hex(w["heap"]), mine, regions)
        assert h["in_use_blocks"] == sum(1 for b in want if b[2])
        assert h["free_blocks"] == sum(1 for b in want if not b[2])
    # the blocks the fixture made: its busy ones listed with their size
    busy = {(int(b["user"], 16), b["user_size"]) for g in doc["segments"] for b in g["blocks"]
            if b["state"] == "busy"}
    for heap, addr, size, freed in truth["blocks"]:
        if not freed:
            assert (addr, size) in busy, (hex(heap), hex(addr), size)


def test_winheap_live_blocks_are_heapwalks():
    _, truth = fixture()
    doc = vmatlas_json(["heap", "--blocks", str(truth["pid"])])
    now = walk_again()
    # the fixture stayed still while vmatlas read it
    assert now["walks"] == truth["walks"]
    compare(doc, now)
    # Wine 8 has no LFH front end: the heap asked for one says 0, and so
    # does every heap, the growable one after the run that turns it on in
    # Windows (there: 2, and HeapWalk would list the LFH's blocks inside
    # the back-end blocks that vmatlas names with their counts)
    assert truth["lfh_info"] == 0, truth["lfh_info"]
    assert [w["compat"] for w in now["walks"]] == [0] * len(now["walks"]), now["walks"]
    for h in doc["heaps"]:
        assert (h["front_end"], h["lfh_user_blocks"], h["lfh_blocks"], h["lfh_busy"]) == ("none", 0, 0, 0), h
    assert not any(b["lfh"] for g in doc["segments"] for b in g["blocks"])
    # the 48-byte blocks are back-end blocks: HeapWalk lists each, busy
    # with cbData 48 or (freed between busy ones) free, and so does vmatlas
    # (compare() above: block by block)
    walk = [w for w in now["walks"] if w["heap"] == truth["lfh_heap"]][0]["entries"]
    busy_walk = {e[0]: e[1] for e in walk if e[4] & BUSY}
    free_walk = [(e[0], e[1]) for e in walk if not e[4] & (BUSY | REGION | UNCOMMITTED)]
    mine = [b for b in truth["blocks"] if b[0] == truth["lfh_heap"]]
    assert len(mine) == 300 and sum(b[3] for b in mine) == 60
    for _, addr, size, freed in mine:
        if not freed:
            assert busy_walk.get(addr) == size, hex(addr)
        else:
            # a free entry's lpData lies past the free block's links
            assert addr not in busy_walk and any(a - 32 <= addr < a + n for a, n in free_walk), hex(addr)
    busy = {int(b["user"], 16) for g in doc["segments"] for b in g["blocks"] if b["state"] == "busy"}
    lfh = [b for b in mine if not b[3]]
    assert all(b[1] in busy for b in lfh)
    # one heap alone, text: the heap's line and its blocks
    hid = [h["id"] for h in doc["heaps"] if int(h["addr"], 16) == truth["lfh_heap"]][0]
    p = vmatlas(["heap", "--blocks", "--arena", str(hid), str(truth["pid"])])
    assert p.returncode == 0, p.stderr
    w = FIXBITS // 4  # addresses in the process's width
    assert "%0*x" % (w, truth["lfh_heap"]) in p.stdout and " %0*x " % (w, lfh[0][1]) in p.stdout, p.stdout[:3000]


def test_winheap_whatis_and_map_name_the_blocks():
    _, truth = fixture()
    pid = str(truth["pid"])
    mine = [b for b in truth["blocks"] if not b[3] and b[2] < 100000]
    picks = [mine[0], mine[len(mine) // 2], mine[-1]]
    docs = vmatlas_json(["whatis", pid] + [hex(b[1] + b[2] // 2) for b in picks])
    for b, w in zip(picks, docs):
        h = w["heap"]
        assert h and h["allocator"] == "nt" and h["state"] == "used", (b, w)
        assert int(h["user"], 16) == b[1] and h["user_size"] == b[2], (b, h)
        assert int(h["heap_addr"], 16) == b[0], (b, h)
    m = vmatlas_json(["map", pid])
    for w in truth["walks"]:
        # each heap's first segment labelled once, the heap's allocation of usage heap
        alloc = [a for a in m["allocations"] if int(a["base"], 16) == w["heap"]]
        assert alloc and alloc[0]["usage"] == "heap", (hex(w["heap"]), alloc)
        first = alloc[0]["regions"][0]
        heap_items = [c for c in first["contents"] if c["kind"] == "heap" and int(c["addr"], 16) == w["heap"]]
        assert len(heap_items) == 1, (hex(w["heap"]), heap_items)
        c = heap_items[0]
        # the PEB's process heap keeps its name; Wine lists no other heap
        # in the PEB: they are named by the walk
        name = "process heap" if w["heap"] == truth["process_heap"] else "NT heap 0x%x, segment 0" % w["heap"]
        assert c["name"] == name, c
        assert int(c["addr"], 16) + c["size"] <= int(first["base"], 16) + first["size"], (c, first)
        # the segment's walk and its blocks in the one item
        assert "bytes committed" in c["detail"] and "blocks in use" in c["detail"], c
        if w["heap"] == truth["process_heap"]:
            assert "(the process heap)" in c["detail"], c


def test_winheap_spawned_program():
    """'-- PROG' with --run: heaplive.exe writes its HeapWalk to a file
    once its heaps stand, then sleeps; vmatlas.exe maps it after the run
    time and kills it. The fixture needs well under a second for this;
    the run time leaves it many"""
    fixture()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "truth.json")
        p = vmatlas(["heap", "--blocks", "--json", "--run", "5000", "--", FIXTURE, out], timeout=300)
        assert p.returncode == 0, p.stderr
        assert os.path.exists(out), "heaplive.exe did not write its truth within the run time"
        with open(out) as f:
            truth = json.loads(f.read())
        compare(json.loads(p.stdout), truth)


def test_winheap_capture_gives_the_same_heaps_on_linux():
    _, truth = fixture()
    with tempfile.TemporaryDirectory() as d:
        dmp = os.path.join(d, "h.dmp")
        c = vmatlas_json(["capture", str(truth["pid"]), "-o", dmp])
        assert c["bytes"] == os.path.getsize(dmp)
        doc = run_json(["heap", "--blocks", dmp])
        compare(doc, walk_again())
