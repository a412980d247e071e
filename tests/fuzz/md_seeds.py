#!/usr/bin/env python3
"""Writes small minidumps to tests/fuzz/seeds/minidump/ for fuzz_minidump:
x64 and x86 with threads and contexts, modules with CodeView records and a
PE header in memory, memory lists of both kinds, MemoryInfoList, an
exception, thread names. (tests/fuzz/run.sh adds the public test dumps in
../shared/corpora/minidump when they are there.)"""
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "seeds", "minidump")
os.makedirs(out, exist_ok=True)


def utf16(s):
    b = s.encode("utf-16-le")
    return struct.pack("<I", len(b)) + b + b"\0\0"


def pe_header(bits):
    h = bytearray(0x400)
    h[0:2] = b"MZ"
    struct.pack_into("<I", h, 60, 0x80)
    h[0x80:0x84] = b"PE\0\0"
    opt = 240 if bits == 64 else 224
    struct.pack_into("<HHIIIHH", h, 0x84, 0x8664 if bits == 64 else 0x14c, 1, 0, 0, 0, opt, 0x2022)
    o = 0x98
    struct.pack_into("<H", h, o, 0x20b if bits == 64 else 0x10b)
    struct.pack_into("<I", h, o + 16, 0x1000)                 # entry
    struct.pack_into("<I", h, o + 56, 0x3000)                 # SizeOfImage
    struct.pack_into("<I", h, o + 60, 0x400)                  # SizeOfHeaders
    struct.pack_into("<I", h, o + (108 if bits == 64 else 92), 16)
    sec = o + opt
    h[sec:sec + 8] = b".text\0\0\0"
    struct.pack_into("<IIII", h, sec + 8, 0x1000, 0x1000, 0x200, 0x400)
    struct.pack_into("<I", h, sec + 36, 0x60000020)
    return bytes(h)


def dump(bits, mem64, with_info):
    arch = 9 if bits == 64 else 0
    base = 0x140000000 if bits == 64 else 0x400000
    stack = 0x100000
    blobs = []          # (stream type, bytes) ; rvas fixed up below
    extra = bytearray()  # strings, contexts, memory after the streams
    def at_extra(b):
        off = len(extra)
        extra.extend(b)
        return off
    name = at_extra(utf16("C:\\x\\app.exe"))
    cv = at_extra(b"RSDS" + bytes(range(16)) + struct.pack("<I", 1) + b"app.pdb\0")
    ctx = bytearray(1232 if bits == 64 else 716)
    if bits == 64:
        struct.pack_into("<Q", ctx, 248, base + 0x1000)
        struct.pack_into("<Q", ctx, 152, stack + 0x800)
    else:
        struct.pack_into("<I", ctx, 184, base + 0x1000)
        struct.pack_into("<I", ctx, 196, stack + 0x800)
    cx = at_extra(bytes(ctx))
    tname = at_extra(utf16("main"))
    hdr = pe_header(bits)
    stk = bytes(0x1000)
    memory = [(base, hdr), (stack, stk)]
    return arch, base, stack, name, cv, cx, tname, memory, extra


def build(bits=64, mem64=True, with_info=True, exception=True):
    arch, base, stack, name, cv, cx, tname, memory, extra = dump(bits, mem64, with_info)
    streams = []
    streams.append((7, struct.pack("<HHHBBIIII", arch, 6, 0, 4, 1, 10, 0, 19045, 2) + b"\0" * 32))
    streams.append((15, struct.pack("<IIII", 24, 1, 4242, 0) + b"\0" * 8))
    mods = struct.pack("<I", 1) + struct.pack("<QIIII", base, 0x3000, 0, 0, 0) + b"\0" * 52 + \
        struct.pack("<II", 0, 0) + struct.pack("<II", 0, 0) + b"\0" * 16
    streams.append((4, mods))
    streams.append((3, None))          # threads: filled once rvas are known
    streams.append((24, None))         # thread names
    if exception:
        streams.append((6, struct.pack("<II", 1, 0) + struct.pack("<IIQQII", 0xc0000005, 0, 0, base + 0x1000, 0, 0)
                        + b"\0" * 120 + struct.pack("<II", 0, 0)))
    if with_info:
        mi = struct.pack("<IIQ", 16, 48, 2)
        mi += struct.pack("<QQIIQIIII", base, base, 0x80, 0, 0x3000, 0x1000, 0x20, 0x1000000, 0)
        mi += struct.pack("<QQIIQIIII", stack, stack, 4, 0, 0x1000, 0x1000, 0x104, 0x20000, 0)
        streams.append((16, mi))
    streams.append((9 if mem64 else 5, None))
    ndir = len(streams)
    head = 32 + 12 * ndir
    # lay out: fixed streams, then extra, then memory
    sizes = {3: 4 + 48, 24: 4 + 12, 9: 16 + 16 * 2, 5: 4 + 16 * 2}
    body_len = sum(len(b) if b is not None else sizes[t] for t, b in streams)
    extra_at = head + body_len
    mem_at = extra_at + len(extra)
    name_rva, cv_rva, cx_rva, tname_rva = (extra_at + x for x in (name, cv, cx, tname))
    body = b""
    dirs = []
    mem_off = mem_at
    for t, b in streams:
        if t == 4:
            b = bytearray(b)
            struct.pack_into("<I", b, 4 + 20, name_rva)
            struct.pack_into("<II", b, 4 + 76, 31 + 4, cv_rva)
            b = bytes(b)
        elif t == 3:
            b = struct.pack("<I", 1) + struct.pack("<IIIIQQII", 1, 0, 0, 0, 0x7ff00000, 0x100000, 0x1000,
                                                   mem_at + len(memory[0][1])) + \
                struct.pack("<II", 1232 if bits == 64 else 716, cx_rva)
        elif t == 24:
            b = struct.pack("<I", 1) + struct.pack("<IQ", 1, tname_rva)
        elif t == 9:
            b = struct.pack("<QQ", 2, mem_at) + b"".join(struct.pack("<QQ", a, len(m)) for a, m in memory)
        elif t == 5:
            off = mem_at
            b = struct.pack("<I", 2)
            for a, m in memory:
                b += struct.pack("<QII", a, len(m), off)
                off += len(m)
        dirs.append(struct.pack("<III", t, len(b), head + len(body)))
        body += b
    hdr = struct.pack("<4sIIIIIQ", b"MDMP", 0xa793, ndir, 32, 0, 0, 0)
    return hdr + b"".join(dirs) + body + bytes(extra) + b"".join(m for _, m in memory)


for name, data in (("x64", build()), ("x86", build(32)), ("memlist", build(mem64=False)),
                   ("noinfo", build(with_info=False, exception=False))):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
