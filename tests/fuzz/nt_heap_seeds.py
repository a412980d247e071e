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


def windows_heap():
    """TEB, PEB and a Windows heap at 0xc80000: a segment of 0x20000 with
    an uncommitted range at +0x10000 (left out of the memory: the seed
    holds the first 0x10000), four blocks, entries encoded; the LFH on
    (FrontEndHeapType 2) and the busy block at +0x740 its user blocks
    (_HEAP_USERDATA_HEADER, its _HEAP_SUBSEGMENT in the TEB's page)"""
    H = BASE + 0x10000
    key = bytes([0x3c, 0x91, 0x5a, 0xe7, 0x12, 0x88, 0x6d, 0xb4])
    mem = bytearray(0x20000)
    put = lambda fmt, off, *v: struct.pack_into(fmt, mem, off, *v)
    put("<Q", 0x60, BASE + 0x1000)
    put("<Q", 0x1000 + 0x30, H)
    h = 0x10000
    put("<I", h + 0x10, 0xffeeffee)
    put("<QQ", h + 0x18, H + 0x120, H + 0x120)
    put("<QQIxxxxQQI", h + 0x28, H, H, 0x20, H + 0x600, H + 0x20000, 8)
    put("<QQ", h + 0x60, H + 0x410, H + 0x410)
    put("<IIII", h + 0x70, 2, 0, 0, 0x100000)
    mem[h + 0x88:h + 0x90] = key
    put("<I", h + 0x98, 0xeeffeeff)
    put("<QQ", h + 0x110, H + 0x110, H + 0x110)
    put("<QQ", h + 0x120, H + 0x18, H + 0x18)
    put("<QQQQ", h + 0x410, H + 0x60, H + 0x60, H + 0x10000, 0x8000)
    mem[h + 0x1a2] = 2
    ub, sub = H + 0x750, BASE + 0x1900
    put("<QQBBHIIxxxxQQ", h + 0x750, sub, 0, 3, 0, 0, 0xf0e0d0c0, 0x5a5a1234, 80, ub + 0x30)
    mem[h + 0x780:h + 0x78a] = bytes([0xff, 0x0f, 0, 0x81, 0xaa, 0, 0, 0xff, 0x01, 0])
    put("<QQ", 0x1900, 0, ub)
    put("<HHH", 0x1900 + 0x24, 3, 0, 80)
    for off, size, flags, unused in ((0x600, 0x40, 1, 0x15), (0x640, 0x100, 0, 0), (0x740, 0x1000, 1, 0x10),
                                     (0x1740, 0x10000 - 0x1740, 0x10, 0)):
        lo, hi = (size // 16) & 0xff, (size // 16) >> 8
        e = bytes([lo, hi, flags, lo ^ hi ^ flags, 0, 0, 0, unused])
        mem[h + off + 8:h + off + 16] = bytes(a ^ b for a, b in zip(e, key))
    return bytes(mem)


def windows_heap32():
    """the same heap in Windows' 32-bit layout (x86 offsets, 8-byte
    entries): TEB.ProcessEnvironmentBlock at 0x30, PEB.ProcessHeap at
    0x18"""
    H = BASE + 0x10000
    key = bytes([0x3c, 0x91, 0x5a, 0xe7, 0x12, 0x88, 0x6d, 0xb4])
    mem = bytearray(0x20000)
    put = lambda fmt, off, *v: struct.pack_into(fmt, mem, off, *v)
    put("<I", 0x30, BASE + 0x1000)
    put("<I", 0x1000 + 0x18, H)
    h = 0x10000
    put("<I", h + 0x8, 0xffeeffee)
    put("<II", h + 0x10, H + 0xa4, H + 0xa4)
    put("<IIIIII", h + 0x18, H, H, 0x20, H + 0x600, H + 0x20000, 8)
    put("<II", h + 0x38, H + 0x408, H + 0x408)
    put("<IIII", h + 0x40, 2, 0, 0, 0x100000)
    mem[h + 0x50:h + 0x58] = key
    put("<I", h + 0x60, 0xeeffeeff)
    put("<II", h + 0x9c, H + 0x9c, H + 0x9c)
    put("<II", h + 0xa4, H + 0x10, H + 0x10)
    put("<IIII", h + 0x408, H + 0x38, H + 0x38, H + 0x10000, 0x8000)
    mem[h + 0xea] = 2
    ub, sub = H + 0x748, BASE + 0x1900
    put("<IIBBHIIII", h + 0x748, sub, 0, 3, 0, 0, 0xf0e0d0c0, 0x5a5a1234, 80, ub + 0x1c)
    mem[h + 0x764:h + 0x76e] = bytes([0xff, 0x0f, 0, 0x81, 0xaa, 0, 0, 0xff, 0x01, 0])
    put("<II", 0x1900, 0, ub)
    put("<HHH", 0x1900 + 0x14, 6, 0, 80)
    for off, size, flags, unused in ((0x600, 0x40, 1, 0x15), (0x640, 0x100, 0, 0), (0x740, 0x1000, 1, 0x10),
                                     (0x1740, 0x10000 - 0x1740, 0x10, 0)):
        lo, hi = (size // 8) & 0xff, (size // 8) >> 8
        e = bytes([lo, hi, flags, lo ^ hi ^ flags, 0, 0, 0, unused])
        mem[h + off:h + off + 8] = bytes(a ^ b for a, b in zip(e, key))
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
    open(os.path.join(outdir, "windows-x86"), "wb").write(b"\1" + windows_heap32())


if __name__ == "__main__":
    main()
