#!/usr/bin/env python3
"""Seeds for fuzz_nt_heap: a Wine 8 heap taken out of a minidump that
heapfix.exe wrote (its memory as it was), with a TEB and a PEB made here
in front of it that name it as the process heap; and a Windows NT heap
built here by its documented layout (encoded entries, an uncommitted
range, a large block, the LFH on with one busy block its user blocks). The harness places the
memory at 0xc70000, so the heap is taken from a dump where it lies at
0xc80000 (or any 64 KiB-aligned address: HEAP is moved there only if it
is at 0xc80000, as pointers inside it are absolute).
    tests/fuzz/nt_heap_seeds.py DUMP HEAP OUTDIR"""
import os
import struct
import sys

BASE = 0xc70000


def memory(data):
    """the Memory64List of a minidump: [(addr, file offset, size)]"""
    nstreams, dir_at = struct.unpack_from("<II", data, 8)
    for i in range(nstreams):
        t, size, at = struct.unpack_from("<III", data, dir_at + 12 * i)
        if t == 9:
            count, off = struct.unpack_from("<QQ", data, at)
            out = []
            for k in range(count):
                a, s = struct.unpack_from("<QQ", data, at + 16 + 16 * k)
                out.append((a, off, s))
                off += s
            return out
    return []


def read(data, ranges, addr, size):
    for a, off, s in ranges:
        if a <= addr and addr + size <= a + s:
            return data[off + addr - a:off + addr - a + size]
    raise SystemExit(f"0x{addr:x}+{size} is not in the dump")


# offsets of _HEAP (h_), _HEAP_SEGMENT (s_), _HEAP_UCR_DESCRIPTOR (u_),
# _HEAP_USERDATA_HEADER (ub_), _HEAP_SUBSEGMENT (ss_), TEB and PEB, by
# bitness (ntdll's public symbols, Windows 10 x64 and x86)
LAYOUT = {
    64: dict(w=8, e=16, teb_peb=0x60, peb_heap=0x30, s_sig=0x10, s_list=0x18, s_heap=0x28, s_pages=0x38,
             s_first=0x40, s_ucr_pages=0x50, s_ucrs=0x60, h_flags=0x70, h_enc=0x88, h_sig=0x98, h_virt=0x110,
             h_segs=0x120, h_fe=0x1a2, u_seg=0x10, ub_size_index=0x10, ub_sig=0x14, ub_bitmap=0x20, ub_hdr=0x30,
             ss_block_size=0x24),
    32: dict(w=4, e=8, teb_peb=0x30, peb_heap=0x18, s_sig=0x8, s_list=0x10, s_heap=0x18, s_pages=0x20,
             s_first=0x24, s_ucr_pages=0x2c, s_ucrs=0x38, h_flags=0x40, h_enc=0x50, h_sig=0x60, h_virt=0x9c,
             h_segs=0xa4, h_fe=0xea, u_seg=0x8, ub_size_index=0x8, ub_sig=0xc, ub_bitmap=0x14, ub_hdr=0x1c,
             ss_block_size=0x14),
}


def windows_heap(bits=64):
    """TEB, PEB and a Windows heap at 0xc80000: a segment of 0x20000 with
    an uncommitted range at +0x10000 (left out of the memory: the seed
    holds the first 0x10000), four blocks, entries encoded; the LFH on
    (FrontEndHeapType 2) and the busy block at +0x740 its user blocks
    (_HEAP_USERDATA_HEADER, its _HEAP_SUBSEGMENT in the TEB's page)"""
    L = LAYOUT[bits]
    e, fmt = L["e"], "<Q" if bits == 64 else "<I"
    H = BASE + 0x10000
    key = bytes([0x3c, 0x91, 0x5a, 0xe7, 0x12, 0x88, 0x6d, 0xb4])
    mem = bytearray(0x20000)

    def word(off, *vals):
        for i, v in enumerate(vals):
            struct.pack_into(fmt, mem, off + i * L["w"], v)
    h = 0x10000
    word(L["teb_peb"], BASE + 0x1000)
    word(0x1000 + L["peb_heap"], H)
    struct.pack_into("<I", mem, h + L["s_sig"], 0xffeeffee)
    word(h + L["s_list"], H + L["h_segs"], H + L["h_segs"])
    word(h + L["s_heap"], H, H)                                   # Heap, BaseAddress
    struct.pack_into("<I", mem, h + L["s_pages"], 0x20)
    word(h + L["s_first"], H + 0x600, H + 0x20000)                # FirstEntry, LastValidEntry
    struct.pack_into("<I", mem, h + L["s_ucr_pages"], 8)
    word(h + L["s_ucrs"], H + 0x400 + L["u_seg"], H + 0x400 + L["u_seg"])
    struct.pack_into("<IIII", mem, h + L["h_flags"], 2, 0, 0, 0x100000)
    mem[h + L["h_enc"]:h + L["h_enc"] + 8] = key                  # Encoding's coded part
    struct.pack_into("<I", mem, h + L["h_sig"], 0xeeffeeff)
    word(h + L["h_virt"], H + L["h_virt"], H + L["h_virt"])       # VirtualAllocdBlocks, empty
    word(h + L["h_segs"], H + L["s_list"], H + L["s_list"])       # SegmentList
    word(h + 0x400 + L["u_seg"], H + L["s_ucrs"], H + L["s_ucrs"], H + 0x10000, 0x8000)
    mem[h + L["h_fe"]] = 2
    ub, sub = H + 0x740 + e, BASE + 0x1900
    u = ub - BASE
    word(u, sub)                                                  # SubSegment
    mem[u + L["ub_size_index"]] = 3
    struct.pack_into("<II", mem, u + L["ub_sig"], 0xf0e0d0c0, 0x5a5a1234)  # Signature, EncodedOffsets
    word(u + L["ub_bitmap"], 80, ub + L["ub_hdr"])                # BusyBitmap
    mem[u + L["ub_hdr"]:u + L["ub_hdr"] + 10] = bytes([0xff, 0x0f, 0, 0x81, 0xaa, 0, 0, 0xff, 0x01, 0])
    word(0x1900, 0, ub)
    struct.pack_into("<HHH", mem, 0x1900 + L["ss_block_size"], 48 // e, 0, 80)
    for off, size, flags, unused in ((0x600, 0x40, 1, 0x15), (0x640, 0x100, 0, 0), (0x740, 0x1000, 1, 0x10),
                                     (0x1740, 0x10000 - 0x1740, 0x10, 0)):
        lo, hi = (size // e) & 0xff, (size // e) >> 8
        c = bytes([lo, hi, flags, lo ^ hi ^ flags, 0, 0, 0, unused])
        mem[h + off + e - 8:h + off + e] = bytes(a ^ b for a, b in zip(c, key))
    return bytes(mem)


def main():
    dump, heap, outdir = sys.argv[1], int(sys.argv[2], 0), sys.argv[3]
    if heap != BASE + 0x10000:
        raise SystemExit(f"the heap must lie at 0x{BASE + 0x10000:x} (its pointers are absolute)")
    data = open(dump, "rb").read()
    ranges = memory(data)
    front = bytearray(0x10000)
    peb = BASE + 0x1000
    struct.pack_into("<Q", front, 0x60, peb)           # TEB.ProcessEnvironmentBlock
    struct.pack_into("<Q", front, 0x1000 + 0x30, heap)  # PEB.ProcessHeap
    mem = bytes(front) + read(data, ranges, heap, 0x10000)
    os.makedirs(outdir, exist_ok=True)
    open(os.path.join(outdir, "wine8-x64"), "wb").write(b"\0" + mem)
    open(os.path.join(outdir, "windows-x64"), "wb").write(b"\0" + windows_heap())
    open(os.path.join(outdir, "windows-x86"), "wb").write(b"\1" + windows_heap(32))


if __name__ == "__main__":
    main()
