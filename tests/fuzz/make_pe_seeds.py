#!/usr/bin/env python3
"""Small odd PE files made here: a minimal valid PE32+ DLL and variants
that break it the ways hostile files do. Written as fuzzer seeds
(tests/fuzz/seeds/pe/odd-*, first byte 0: "a PE file") and used by the
image tests, which expect each to give a dump with warnings or one clean
error, never a crash.
    tests/fuzz/make_pe_seeds.py [OUTDIR]"""
import os
import struct
import sys

FA = 0x200      # file alignment
SA = 0x1000     # section alignment


def build(sections, dirs, entry=0x1000, nsections=None, ndirs=16, opt_size=None, lfanew=0x80, extra=b""):
    """sections: [(name, rva, vsize, raw_offset, raw_bytes)]; dirs: {index: (rva, size)}"""
    dos = bytearray(lfanew)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3c, lfanew)
    opt = bytearray(112 + 8 * ndirs)
    struct.pack_into("<HBBIIIII", opt, 0, 0x20b, 14, 0, 0x200, 0x200, 0, entry, 0x1000)
    struct.pack_into("<QIIHHHHHHIIII", opt, 24, 0x180000000, SA, FA, 6, 0, 0, 0, 6, 0, 0, 0x10000, 0x400, 0)
    struct.pack_into("<HH", opt, 68, 2, 0x160)
    struct.pack_into("<QQQQII", opt, 72, 0x100000, 0x1000, 0x100000, 0x1000, 0, ndirs)
    for i, (rva, size) in dirs.items():
        if i < ndirs:
            struct.pack_into("<II", opt, 112 + 8 * i, rva, size)
    n = len(sections) if nsections is None else nsections
    fh = struct.pack("<HHIIIHH", 0x8664, n, 0x5f000000, 0, 0, len(opt) if opt_size is None else opt_size, 0x2022)
    shdrs = b""
    for name, rva, vsize, raw_off, raw in sections:
        shdrs += struct.pack("<8sIIIIIIHHI", name, vsize, rva, len(raw), raw_off, 0, 0, 0, 0, 0x60000020)
    head = bytes(dos) + b"PE\0\0" + fh + bytes(opt) + shdrs
    out = bytearray(head.ljust(0x400, b"\0"))
    for name, rva, vsize, raw_off, raw in sections:
        if raw_off + len(raw) > len(out):
            out.extend(b"\0" * (raw_off + len(raw) - len(out)))
        out[raw_off:raw_off + len(raw)] = raw
    return bytes(out) + extra


def rdata_with_imports_exports():
    """a section at RVA 0x2000 (file 0x600) holding an import and an export table"""
    b = bytearray(0x400)
    base = 0x2000
    # import descriptor at +0: INT at +0x40, name at +0x80, IAT at +0x60
    struct.pack_into("<IIIII", b, 0, base + 0x40, 0, 0, base + 0x80, base + 0x60)
    struct.pack_into("<QQ", b, 0x40, base + 0xa0, 0)
    struct.pack_into("<QQ", b, 0x60, base + 0xa0, 0)
    b[0x80:0x8d] = b"kernel32.dll\0"
    b[0xa0:0xb0] = struct.pack("<H", 7) + b"GetTickCount\0\0"
    # export directory at +0x100: 1 function, 1 name
    struct.pack_into("<IIHHIIIIIII", b, 0x100, 0, 0, 0, 0, base + 0x180, 1, 1, 1, base + 0x140, base + 0x150,
                     base + 0x160)
    struct.pack_into("<I", b, 0x140, 0x1000)
    struct.pack_into("<I", b, 0x150, base + 0x190)
    struct.pack_into("<H", b, 0x160, 0)
    b[0x180:0x188] = b"odd.dll\0"
    b[0x190:0x194] = b"fn1\0"
    return bytes(b)


def variants():
    text = (0x1000, ".text", b"\xc3" * 0x200)
    rd = rdata_with_imports_exports()
    secs = [(b".text", 0x1000, 0x200, 0x400, b"\xc3" * 0x200), (b".rdata", 0x2000, 0x400, 0x600, rd)]
    dirs = {0: (0x2100, 0x100), 1: (0x2000, 0x28)}
    yield "ok", build(secs, dirs)
    yield "sections-past-end", build(secs, dirs, nsections=40)
    yield "raw-past-end", build([(b".text", 0x1000, 0x200, 0x100000, b"")] + secs[1:], dirs)
    yield "overlapping", build(secs + [(b".over", 0x1100, 0x2000, 0x400, b"\xcc" * 0x200)], dirs)
    yield "zero-sized", build(secs + [(b".empty", 0x3000, 0, 0, b"")], dirs)
    yield "rva-outside", build(secs, {0: (0x90000, 0x100), 1: (0x80000000, 0x28), 6: (0x7ffff000, 0x1c)})
    yield "absurd-dirs", build(secs, dirs, ndirs=16, opt_size=0x1000)
    yield "short-opt", build(secs, dirs, opt_size=0x40)
    # import thunks that never end: a thunk table filling the section with non-zero entries
    loop = bytearray(rd)
    for k in range(0x40, 0x400, 8):
        struct.pack_into("<Q", loop, k, 0x20a0)
    yield "import-no-end", build([secs[0], (b".rdata", 0x2000, 0x400, 0x600, bytes(loop))], dirs)
    # thousands of DLLs sharing one long thunk table: listed whole, it
    # would be millions of lines from a file of 130 KiB
    fan = bytearray(0x20000)
    ndll, table, nthunks = 3000, 0x10000, 0x1000
    for k in range(ndll):
        struct.pack_into("<IIIII", fan, 20 * k, 0x2000 + table, 0, 0, 0x2000 + 0x1f000, 0x2000 + table)
    for k in range(nthunks):
        struct.pack_into("<Q", fan, table + 8 * k, 0x2000 + 0x1f100)
    fan[0x1f000:0x1f008] = b"fan.dll\0"
    fan[0x1f100:0x1f106] = struct.pack("<H", 1) + b"fn\0\0"
    yield "import-fanout", build([secs[0], (b".rdata", 0x2000, 0x20000, 0x600, bytes(fan))], {1: (0x2000, 20 * ndll)})
    # a thunk naming an RVA outside the image: the table ends there
    badname = bytearray(rd)
    struct.pack_into("<QQQQ", badname, 0x40, 0x20a0, 0x7fff0000, 0x20a0, 0)
    yield "import-bad-name", build([secs[0], (b".rdata", 0x2000, 0x400, 0x600, bytes(badname))], dirs)
    # export table claiming millions of functions and names
    big = bytearray(rd)
    struct.pack_into("<II", big, 0x114, 0x7fffffff, 0x7fffffff)
    yield "export-absurd", build([secs[0], (b".rdata", 0x2000, 0x400, 0x600, bytes(big))], dirs)
    # names with no terminator to the end of the file
    unterminated = bytearray(rd)
    unterminated[0x80:] = b"A" * (0x400 - 0x80)
    yield "name-unterminated", build([secs[0], (b".rdata", 0x2000, 0x400, 0x600, bytes(unterminated))], dirs)
    # a resource tree whose subdirectory points back at the root
    rs = bytearray(0x100)
    struct.pack_into("<IIHHHH", rs, 0, 0, 0, 0, 0, 0, 1)
    struct.pack_into("<II", rs, 16, 3, 0x80000000)   # id 3 -> directory at offset 0: the root again
    yield "resource-cycle", build(secs + [(b".rsrc", 0x3000, 0x100, 0xa00, bytes(rs))], {**dirs, 2: (0x3000, 0x100)})
    # relocation blocks with a size running past the directory
    rel = struct.pack("<II", 0x1000, 0x7ffffff0) + b"\0" * 8
    yield "reloc-bad-size", build(secs + [(b".reloc", 0x3000, 0x10, 0xa00, rel)], {**dirs, 5: (0x3000, 0x10)})
    # lfanew past the end, and a PE signature missing
    yield "lfanew-past-end", build(secs, dirs)[:0x40].ljust(0x40, b"\0")[:0x3c] + struct.pack("<I", 0x7fffffff)
    yield "no-pe-signature", b"MZ" + b"\0" * 0x3a + struct.pack("<I", 0x40) + b"NE\0\0" + b"\0" * 64


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "pe")
    os.makedirs(out, exist_ok=True)
    for name, blob in variants():
        with open(os.path.join(out, "odd-" + name), "wb") as f:
            f.write(b"\0" + blob)


if __name__ == "__main__":
    main()
