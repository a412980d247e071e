#!/usr/bin/env python3
"""Seeds for fuzz_nt_heap: a Wine 8 heap taken out of a minidump that
heapfix.exe wrote (its memory as it was), with a TEB and a PEB made here
in front of it that name it as the process heap. The harness places the
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


if __name__ == "__main__":
    main()
