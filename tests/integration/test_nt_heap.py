"""The NT heap walk on a Wine-made minidump: heapfix.exe's child builds a
private heap with known blocks, walks it and the process heap with
HeapWalk, and is dumped by its parent while it waits; vmatlas's heaps,
segments and blocks must be HeapWalk's exactly, and whatis and the map
must name the blocks and segments."""
import atexit
import json
import os
import shutil
import struct
import subprocess
import tempfile

from lib import BUILD, FIXTURES, Skip, no_sanitizer_reports, run, run_json
from winlive import ENV, WINE, run_wine

# PROCESS_HEAP_ENTRY.wFlags
REGION, UNCOMMITTED, BUSY = 0x1, 0x2, 0x4

_cache = {}


def heap_dump():
    """one run of the fixture for all tests: (truth, dump path)"""
    if "dump" not in _cache:
        exe = os.path.join(FIXTURES, "win", "heapfix.exe")
        if not os.path.exists(exe) or not os.path.exists(WINE):
            raise Skip("no mingw-w64 fixture or no wine64")
        d = tempfile.mkdtemp()
        atexit.register(shutil.rmtree, d, True)
        env = dict(ENV, WINEPREFIX=os.path.abspath(os.path.join(BUILD, "wineprefix")))
        out = os.path.join(d, "h.dmp")
        p = run_wine([WINE, os.path.abspath(exe), out], capture_output=True, text=True, env=env,
                     timeout=600, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr[-2000:]
        _cache["dump"] = (json.loads(p.stdout.strip().splitlines()[-1]), out)
    return _cache["dump"]


def walk_of(truth, heap):
    return [w for w in truth["walks"] if w["heap"] == heap][0]


def expected_blocks(walk, align=16):
    """HeapWalk's busy and free entries: (data, size, busy). Wine reports
    a free block that reaches into the last 4 BLOCK_ALIGN bytes of the
    committed memory as ending there (its own FIXME in heap_walk_blocks);
    that is applied by the caller with the segment's commit end."""
    return [(e[0], e[1], bool(e[4] & BUSY)) for e in walk["entries"] if not e[4] & (REGION | UNCOMMITTED)]


def test_nt_heap_blocks_are_heapwalks():
    truth, dmp = heap_dump()
    doc = run_json(["heap", "--blocks", dmp])
    assert doc["allocator"] == "nt" and doc["layout"] == "wine-8", doc.get("layout")
    assert doc["process_heap"] == hex(truth["process_heap"])
    heaps = {int(h["addr"], 16): h for h in doc["heaps"]}
    assert truth["process_heap"] in heaps and heaps[truth["process_heap"]]["process"]
    # Wine leaves the PEB's heap list empty: the private heap is found all the same
    assert truth["private_heap"] in heaps, sorted(heaps)
    assert doc["problems"] == [], doc["problems"]
    for which in ("private_heap", "process_heap"):
        walk = walk_of(truth, truth[which])
        assert walk["complete"]
        hid = heaps[truth[which]]["id"]
        segs = [g for g in doc["segments"] if g["heap"] == hid]
        # the regions HeapWalk lists: base, committed and reserved sizes
        regions = [(e[0], e[5], e[5] + e[6]) for e in walk["entries"] if e[4] & REGION]
        mine = [(int(g["base"], 16), g["committed"], g["size"]) for g in segs if g["kind"] == "segment"]
        assert mine == regions, (which, mine, regions)
        commit_end = {int(g["base"], 16): int(g["base"], 16) + g["committed"] for g in segs}
        got = []
        for g in segs:
            for b in g["blocks"]:
                size = b["user_size"]
                if b["state"] == "free":
                    end = commit_end[int(g["base"], 16)] - 4 * 16
                    if int(b["addr"], 16) + b["size"] > end:
                        size = end - int(b["user"], 16)
                got.append((int(b["user"], 16), size, b["state"] == "busy"))
        want = expected_blocks(walk)
        assert len(got) == len(want), (which, len(got), len(want))
        for k, (x, y) in enumerate(zip(got, want)):
            assert x == y, (which, k, [hex(v) for v in x[:2]], [hex(v) for v in y[:2]], x[2], y[2])
        h = heaps[truth[which]]
        assert h["in_use_blocks"] == sum(1 for b in want if b[2])
        assert h["free_blocks"] == sum(1 for b in want if not b[2])
    # the large blocks: one mapping each
    big = [b for b in truth["blocks"] if b[1] >= 3 << 20]
    larges = [g for g in doc["segments"] if g["kind"] == "large"]
    assert sorted(int(g["blocks"][0]["user"], 16) for g in larges) == sorted(b[0] for b in big)


def test_nt_heap_text_and_arena_filter():
    truth, dmp = heap_dump()
    p = run(["heap", dmp])
    assert p.returncode == 0, p.stderr
    assert "NT heaps (layout wine-8)" in p.stdout and "%016x" % truth["private_heap"] in p.stdout, p.stdout
    doc = run_json(["heap", dmp])
    hid = [h["id"] for h in doc["heaps"] if int(h["addr"], 16) == truth["private_heap"]][0]
    p = run(["heap", "--blocks", "--arena", str(hid), dmp])
    assert p.returncode == 0, p.stderr
    # a block the fixture filled with its index's letter
    i, (addr, size, freed) = next((i, b) for i, b in enumerate(truth["blocks"]) if not b[2] and b[1] >= 16)
    line = [x for x in p.stdout.splitlines() if " %016x " % addr in x]
    assert line and ("%02x" % (0x40 + (i & 31))) * 1 in line[0] and " busy " in line[0], line
    p = run(["heap", "--arena", "999", dmp])
    assert p.returncode == 1 and "no heap 999" in p.stderr, p.stderr


def test_whatis_names_nt_heap_block():
    truth, dmp = heap_dump()
    addrs = [(b[0], b[1]) for b in truth["blocks"] if not b[2]]
    addrs += [(b[0], 40) for b in truth["lfh"] if not b[1]][:5]
    args = ["whatis", dmp] + [hex(a + s // 2) for a, s in addrs]
    docs = run_json(args)
    assert len(docs) == len(addrs)
    for (a, s), w in zip(addrs, docs):
        h = w["heap"]
        assert h and h["allocator"] == "nt", (hex(a), w)
        assert int(h["user"], 16) == a and h["user_size"] == s and h["state"] == "used", (hex(a), s, h)
        assert int(h["heap_addr"], 16) == truth["private_heap"], h
    text = run(["whatis", dmp, hex(addrs[1][0] + 1)]).stdout
    assert "heap block" in text and "in use, NT heap" in text and "+0x1 into the user data" in text, text


def test_map_labels_nt_heap_segments():
    truth, dmp = heap_dump()
    p = run(["map", dmp])
    assert p.returncode == 0, p.stderr
    no_sanitizer_reports(p.stderr)
    assert "NT heap 0x%x, segment 0" % truth["private_heap"] in p.stdout, p.stdout
    assert "NT heap 0x%x, large block" % truth["private_heap"] in p.stdout
    doc = run_json(["map", dmp])
    alloc = [a for a in doc["allocations"] if int(a["base"], 16) == truth["private_heap"]][0]
    assert alloc["usage"] == "heap", alloc


def test_damaged_nt_heap_is_reported_not_followed():
    """a block header overwritten, a segment list that points at itself and
    a large-block list that loops: problems, a walk cut short, no loop"""
    from test_minidump import file_offset
    truth, dmp = heap_dump()
    doc = run_json(["heap", "--blocks", dmp])
    heap = truth["private_heap"]
    segs = [g for g in doc["segments"] if int(g["heap_addr"], 16) == heap]
    seg, large = segs[0], [g for g in segs if g["kind"] == "large"]
    victim = seg["blocks"][len(seg["blocks"]) // 2]
    data = bytearray(open(dmp, "rb").read())
    at = file_offset(data, int(victim["addr"], 16))
    data[at:at + 8] = b"\xff" * 8
    # the second large block's list entry (ARENA_LARGE + 0x10) points at itself
    ent = int(large[1]["base"], 16) + 0x10
    at = file_offset(data, ent)
    struct.pack_into("<QQ", data, at, ent, ent)
    d = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, d, True)
    bad = os.path.join(d, "bad.dmp")
    open(bad, "wb").write(bytes(data))
    p = run(["heap", "--blocks", "--json", bad], timeout=120)
    assert p.returncode == 0, p.stderr
    no_sanitizer_reports(p.stderr)
    got = json.loads(p.stdout)
    mine = [g for g in got["segments"] if int(g["heap_addr"], 16) == heap]
    assert mine[0]["cut_short"] and len(mine[0]["blocks"]) == len(seg["blocks"]) // 2, mine[0]["blocks"][-1:]
    what = " ".join(x["what"] for x in got["problems"])
    assert "damaged block header" in what and "large block list" in what, got["problems"]
    # the first large block is still there; the list stops at the broken link
    assert [g["base"] for g in mine if g["kind"] == "large"] == [large[0]["base"]], mine
    w = run_json(["whatis", bad, hex(int(victim["user"], 16))])
    assert w[0]["heap"] is None or w[0]["heap"]["chunk"] != victim["addr"]


# Windows' own NT heap, 64-bit and 32-bit, built here by the layout of
# ntdll's public symbols (Windows 10, x64 and x86): no dump made on
# Windows with heap memory is at hand, so this checks the walk against
# that description, not against Windows itself.
WH, WT, WV, WS = 0x250000, 0x300000, 0x400000, 0x500000
KEY = bytes([0x3c, 0x91, 0x5a, 0xe7, 0x12, 0x88, 0x6d, 0xb4])
# offsets of _HEAP (h_), _HEAP_SEGMENT (s_), _HEAP_UCR_DESCRIPTOR (u_),
# _HEAP_VIRTUAL_ALLOC_ENTRY (v_), _HEAP_USERDATA_HEADER (ub_),
# _HEAP_SUBSEGMENT (ss_), TEB and PEB; entry: sizeof _HEAP_ENTRY
WIN_LAYOUT = {
    64: dict(w=8, entry=16, s_sig=0x10, s_list=0x18, s_heap=0x28, s_base=0x30, s_pages=0x38, s_first=0x40,
             s_last=0x48, s_ucr_pages=0x50, s_ucrs=0x60, h_flags=0x70, h_enc=0x80, h_sig=0x98, h_virt=0x110,
             h_segs=0x120, h_fe=0x1a2, u_seg=0x10, u_addr=0x20, u_size=0x28, v_commit=0x20, v_busy=0x30,
             v_hdr=0x40, ub_size_index=0x10, ub_sig=0x14, ub_bitmap=0x20, ub_hdr=0x30, ss_user_blocks=0x8,
             ss_block_size=0x24, ss_block_count=0x28, teb_peb=0x60, peb_heap=0x30),
    32: dict(w=4, entry=8, s_sig=0x8, s_list=0x10, s_heap=0x18, s_base=0x1c, s_pages=0x20, s_first=0x24,
             s_last=0x28, s_ucr_pages=0x2c, s_ucrs=0x38, h_flags=0x40, h_enc=0x50, h_sig=0x60, h_virt=0x9c,
             h_segs=0xa4, h_fe=0xea, u_seg=0x8, u_addr=0x10, u_size=0x14, v_commit=0x10, v_busy=0x18,
             v_hdr=0x20, ub_size_index=0x8, ub_sig=0xc, ub_bitmap=0x14, ub_hdr=0x1c, ss_user_blocks=0x4,
             ss_block_size=0x14, ss_block_count=0x18, teb_peb=0x30, peb_heap=0x18),
}


def win_entry(L, size, flags, unused, encode=True):
    """a _HEAP_ENTRY: its last 8 bytes coded"""
    e = L["entry"]
    b = bytearray(e)
    lo, hi = (size // e) & 0xff, (size // e) >> 8
    b[e - 8:e] = bytes([lo, hi, flags, lo ^ hi ^ flags, 0, 0, 0, unused])
    if encode:
        for i in range(8):
            b[e - 8 + i] ^= KEY[i]
    return b


def thread_stream32(tid, teb, esp):
    """one thread with an x86 CONTEXT"""
    def make(at):
        ctx = bytearray(716)
        struct.pack_into("<I", ctx, 196, esp)
        return struct.pack("<I", 1) + struct.pack("<IIIIQQIIII", tid, 0, 0, 0, teb, 0, 0, 0, len(ctx), at + 52) + bytes(ctx)
    return (3, make)


def win_heap_dump(path, damage=None, bits=64):
    """a dump of one Windows heap: a segment of 0x20000 with an
    uncommitted range at +0x10000 (0x8000), six blocks, and a large
    block; returns the blocks [(addr, size, busy, user_size)] and the
    large one"""
    from test_minidump import build_dump, sysinfo_stream, thread_stream
    L = WIN_LAYOUT[bits]
    e, fmt = L["entry"], "<Q" if bits == 64 else "<I"

    def word(mem, off, *vals):
        for i, v in enumerate(vals):
            struct.pack_into(fmt, mem, off + i * L["w"], v)
    heap = bytearray(0x10000)
    tail = bytearray(0x8000)
    struct.pack_into("<I", heap, L["s_sig"], 0xffeeffee)
    word(heap, L["s_list"], WH + L["h_segs"], WH + L["h_segs"])
    word(heap, L["s_heap"], WH, WH)                              # Heap, BaseAddress
    struct.pack_into("<I", heap, L["s_pages"], 0x20)
    word(heap, L["s_first"], WH + 0x600, WH + 0x20000)           # FirstEntry, LastValidEntry
    struct.pack_into("<I", heap, L["s_ucr_pages"], 8)
    word(heap, L["s_ucrs"], WH + 0x400 + L["u_seg"], WH + 0x400 + L["u_seg"])
    struct.pack_into("<IIII", heap, L["h_flags"], 2, 0, 0, 0x100000)  # Flags .. EncodeFlagMask
    heap[L["h_enc"] + e - 8:L["h_enc"] + e] = KEY                # Encoding, its coded part
    struct.pack_into("<I", heap, L["h_sig"], 0xeeffeeff)
    word(heap, L["h_virt"], WV, WV)                               # VirtualAllocdBlocks
    word(heap, L["h_segs"], WH + L["s_list"], WH + L["s_list"])  # SegmentList
    # a UCR descriptor at 0x400
    word(heap, 0x400 + L["u_seg"], WH + L["s_ucrs"], WH + L["s_ucrs"], WH + 0x10000, 0x8000)
    blocks = []

    def block(mem, base, off, size, busy, req=0, last=False):
        unused = size - req if busy else 0
        mem[off:off + e] = win_entry(L, size, (1 if busy else 0) | (0x10 if last else 0), unused)
        blocks.append((base + off, size, busy, req if busy else size - e))
    block(heap, WH, 0x600, 0x40, True, 0x2b)
    block(heap, WH, 0x640, 0x100, False)
    block(heap, WH, 0x740, 0x1000, True, 0xff0)
    block(heap, WH, 0x1740, 0x10000 - 0x1740, False, last=True)
    block(tail, WH + 0x18000, 0, 0x200, True, 0x1e0)
    block(tail, WH + 0x18000, 0x200, 0x8000 - 0x200, False, last=True)
    big = bytearray(0x1000)
    word(big, 0, WH + L["h_virt"], WH + L["h_virt"])
    word(big, L["v_commit"], 0x21000, 0x22000)                   # CommitSize, ReserveSize
    unused = 0x21000 - L["v_hdr"] - 0x20123
    big[L["v_busy"]:L["v_busy"] + e] = win_entry(L, unused * e, 0x09, 0)
    teb = bytearray(0x2000)
    word(teb, L["teb_peb"], WT + 0x1000)
    word(teb, 0x1000 + L["peb_heap"], WH)
    if damage == "others":
        # PEB.ProcessHeaps (0xe8 NumberOfHeaps, 0xf0 the array, here in the
        # TEB page): the process heap, a segment heap (its signature
        # 0xddeeddee at 0x10), and a page of no heap
        struct.pack_into("<IIQ", teb, 0x1000 + 0xe8, 3, 16, WT + 0x1800)
        struct.pack_into("<QQQ", teb, 0x1800, WH, WS, WS + 0x1000)
        seg = bytearray(0x2000)
        struct.pack_into("<I", seg, 0x10, 0xddeeddee)
    if damage and damage.startswith("lfh"):
        # the LFH on (FrontEndHeapType), and the busy block at 0x740 its
        # user blocks: _HEAP_USERDATA_HEADER at its user data, its
        # _HEAP_SUBSEGMENT in the TEB's page pointing back, 80 blocks of
        # 48 bytes, LFH_BUSY of them busy by the bitmap
        ub, sub = WH + 0x740 + e, WT + 0x1900
        heap[L["h_fe"]] = 2
        u = ub - WH
        word(heap, u, sub)
        heap[u + L["ub_size_index"]] = 3
        struct.pack_into("<II", heap, u + L["ub_sig"], 0xf0e0d0c0, 0x5a5a1234)  # Signature, EncodedOffsets
        word(heap, u + L["ub_bitmap"], 80, ub + L["ub_hdr"] if damage != "lfh-bitmap" else ub + 0xff0)
        heap[u + L["ub_hdr"]:u + L["ub_hdr"] + len(LFH_BITMAP)] = LFH_BITMAP
        word(teb, 0x1900 + L["ss_user_blocks"], ub if damage != "lfh-link" else ub + 16)
        struct.pack_into("<H", teb, 0x1900 + L["ss_block_size"], 48 // e)
        struct.pack_into("<H", teb, 0x1900 + L["ss_block_count"], 80)
    if damage == "checksum":
        heap[0x740 + e - 5] ^= 0x40
    elif damage == "loop":
        word(heap, L["s_list"], WH + L["s_list"], WH + L["s_list"])
    elif damage == "ucr":
        word(heap, 0x400 + L["u_size"], 1 << (62 if bits == 64 else 30))
    mem = [(WT, bytes(teb)), (WH, bytes(heap)), (WH + 0x18000, bytes(tail)), (WV, bytes(big))]
    if damage == "others":
        mem.append((WS, bytes(seg)))
    if bits == 64:
        streams = [sysinfo_stream(), thread_stream([(7, WT, {"rsp": WT + 0x800, "rip": 0})])]
    else:
        streams = [sysinfo_stream(0), thread_stream32(7, WT, WT + 0x800)]
    open(path, "wb").write(build_dump(streams, mem))
    return blocks, (WV, 0x21000, True, 0x20123)


def test_windows_nt_heap_by_its_layout():
    """both bitnesses: every block of the segment (across its uncommitted
    range) and the large block, with their user data and sizes"""
    d = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, d, True)
    for bits in (64, 32):
        L = WIN_LAYOUT[bits]
        path = os.path.join(d, "w%d.dmp" % bits)
        blocks, large = win_heap_dump(path, bits=bits)
        doc = run_json(["heap", "--blocks", path])
        assert doc["layout"] == "windows" and doc["process_heap"] == hex(WH), (bits, doc)
        assert doc["problems"] == [], (bits, doc["problems"])
        (h,) = doc["heaps"]
        assert (h["addr"], h["source"], h["segments"], h["large_blocks"]) == (hex(WH), "peb", 1, 1), h
        assert (h["front_end"], h["lfh_user_blocks"]) == ("none", 0), h
        assert all(b["lfh"] is None for g in doc["segments"] for b in g["blocks"])
        seg, lg = doc["segments"]
        assert (seg["kind"], seg["base"], seg["size"], seg["committed"]) == ("segment", hex(WH), 0x20000, 0x18000)
        got = [(int(b["addr"], 16), b["size"], b["state"] == "busy", b["user_size"]) for b in seg["blocks"]]
        assert got == blocks, (bits, got)
        assert all(int(b["user"], 16) == int(b["addr"], 16) + L["entry"] for b in seg["blocks"])
        b = lg["blocks"][0]
        assert (int(b["addr"], 16), b["size"], b["state"] == "busy", b["user_size"]) == large, (bits, b)
        assert int(b["user"], 16) == WV + L["v_hdr"]
        w = run_json(["whatis", path, hex(blocks[2][0] + L["entry"] + 0x100)])[0]["heap"]
        assert w["allocator"] == "nt" and w["user"] == hex(blocks[2][0] + L["entry"]), (bits, w)
        assert w["user_size"] == 0xff0, (bits, w)


LFH_BITMAP = bytes([0xff, 0x0f, 0, 0x81, 0xaa, 0, 0, 0xff, 0x01, 0])
LFH_BUSY = sum(bin(b).count("1") for b in LFH_BITMAP)


def test_windows_lfh_user_blocks_by_their_layout():
    """the LFH's user blocks (a busy back-end block) named with their
    bucket, block size, count and busy count, on both bitnesses; the
    blocks in them are not listed (placed by a key of ntdll's); damaged
    ones are a problem"""
    d = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, d, True)
    for bits in (64, 32):
        e = WIN_LAYOUT[bits]["entry"]
        ub = WH + 0x740 + e
        path = os.path.join(d, "l%d.dmp" % bits)
        blocks, _ = win_heap_dump(path, "lfh", bits)
        doc = run_json(["heap", "--blocks", path])
        assert doc["problems"] == [], (bits, doc["problems"])
        (h,) = doc["heaps"]
        assert h["front_end"] == "lfh" and "low-fragmentation front end is on" in h["note"], h
        assert (h["lfh_user_blocks"], h["lfh_blocks"], h["lfh_busy"]) == (1, 80, LFH_BUSY), (bits, h)
        seg = doc["segments"][0]
        # the back-end blocks are still every block, as HeapWalk's back end
        got = [(int(b["addr"], 16), b["size"], b["state"] == "busy", b["user_size"]) for b in seg["blocks"]]
        assert got == blocks, (bits, got)
        lfh = [b for b in seg["blocks"] if b["lfh"]]
        assert [int(b["addr"], 16) for b in lfh] == [WH + 0x740], lfh
        assert lfh[0]["lfh"] == {"subsegment": hex(WT + 0x1900), "bucket": 3, "block_size": 48, "blocks": 80,
                                 "busy": LFH_BUSY}, (bits, lfh[0])
        p = run(["heap", "--blocks", path])
        assert p.returncode == 0 and "LFH user blocks: bucket 3, 80 blocks of 48 bytes, %d busy" % LFH_BUSY in p.stdout
        assert "heap 0: LFH user blocks: 1, holding 80 blocks, %d busy" % LFH_BUSY in p.stdout, p.stdout
        # whatis of an address in them names them, and of another block not
        w = run_json(["whatis", path, hex(ub + 0x100), hex(WH + 0x610)])
        assert w[0]["heap"]["lfh"] == lfh[0]["lfh"] and w[1]["heap"]["lfh"] is None, w
        p = run(["whatis", path, hex(ub + 0x100)])
        assert "the LFH's user blocks (bucket 3, 80 blocks of 48 bytes, %d busy)" % LFH_BUSY in p.stdout, p.stdout
        # no link back from the subsegment: an ordinary busy block (a
        # program's bytes, or user blocks cached for reuse), no problem; a
        # bitmap outside the block: a problem
        for damage, want in (("lfh-link", None), ("lfh-bitmap", "do not hold together")):
            win_heap_dump(path, damage, bits)
            p = run(["heap", "--blocks", "--json", path], timeout=60)
            assert p.returncode == 0, (bits, damage, p.stderr)
            no_sanitizer_reports(p.stderr)
            doc = json.loads(p.stdout)
            if want:
                assert want in " ".join(x["what"] for x in doc["problems"]), (bits, damage, doc["problems"])
            else:
                assert doc["problems"] == [], (bits, damage, doc["problems"])
            assert doc["heaps"][0]["lfh_user_blocks"] == 0 and not any(b["lfh"] for b in doc["segments"][0]["blocks"])
            assert len(doc["segments"][0]["blocks"]) == len(blocks), (bits, damage)


def test_damaged_windows_nt_heap():
    d = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, d, True)
    for bits in (64, 32):
        for damage, want, nblocks in (("checksum", "damaged", 2), ("loop", "segment list", None), ("ucr", None, 4)):
            path = os.path.join(d, "%s%d.dmp" % (damage, bits))
            win_heap_dump(path, damage, bits)
            p = run(["heap", "--blocks", "--json", path], timeout=60)
            assert p.returncode == 0, (bits, damage, p.stderr)
            no_sanitizer_reports(p.stderr)
            doc = json.loads(p.stdout)
            what = " ".join(x["what"] for x in doc["problems"])
            if want:
                assert want in what, (bits, damage, doc["problems"])
            segs = [g for g in doc["segments"] if g["kind"] == "segment"]
            if nblocks is None:
                assert segs == [], (bits, segs)
            else:
                assert len(segs[0]["blocks"]) == nblocks, (bits, damage, segs[0]["blocks"])


def test_heaps_the_walk_cannot_follow_are_named_not_guessed():
    """the PEB's heaps the walk does not know (a segment heap, no heap at
    all) are listed with why, not walked; the process heap still is"""
    d = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, d, True)
    path = os.path.join(d, "o.dmp")
    blocks, _ = win_heap_dump(path, "others")
    doc = run_json(["heap", "--blocks", path])
    assert doc["problems"] == [], doc["problems"]
    h = {int(x["addr"], 16): x for x in doc["heaps"]}
    assert set(h) == {WH, WS, WS + 0x1000}, sorted(h)
    assert h[WH]["walked"] and h[WH]["note"] is None and h[WH]["in_use_blocks"] == 4, h[WH]
    assert not h[WS]["walked"] and "segment heap" in h[WS]["note"] and h[WS]["source"] == "peb-list", h[WS]
    assert not h[WS + 0x1000]["walked"] and "not a heap of a known layout" in h[WS + 0x1000]["note"]
    assert all(g["heap_addr"] == hex(WH) for g in doc["segments"])
    p = run(["heap", path])
    assert p.returncode == 0 and "a segment heap (Windows 10 and later): not walked" in p.stdout, p.stdout
    # the process heap itself a segment heap: one line says so
    from test_minidump import file_offset
    data = bytearray(open(path, "rb").read())
    at = file_offset(data, WT + 0x1000 + 0x30)
    struct.pack_into("<Q", data, at, WS)
    at = file_offset(data, WT + 0x1800)
    struct.pack_into("<Q", data, at, WS)
    open(path, "wb").write(bytes(data))
    p = run(["heap", path])
    assert p.returncode == 1 and "process heap at 0x500000: a segment heap" in p.stderr, (p.stdout, p.stderr)
