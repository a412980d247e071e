#!/usr/bin/env python3
"""Writes small ELF core files to tests/fuzz/seeds/core/ for fuzz_core:
64- and 32-bit x86, every note vmatlas reads, an ELF image in memory,
a stack holding argv/envp/auxv, PN_XNUM, overlapping segments."""
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "seeds", "core")
os.makedirs(out, exist_ok=True)


def note(owner, ntype, desc):
    o = owner.encode() + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(o), len(desc), ntype) + pad(o) + pad(desc)


def core(bits, xnum=False, overlap=False):
    w = 8 if bits == 64 else 4
    W = "<Q" if w == 8 else "<I"
    word = lambda v: struct.pack(W, v)
    machine = 62 if bits == 64 else 3
    exe, stack = (0x400000, 0x7ffff000) if bits == 32 else (0x555555554000, 0x7ffffffde000)
    # memory: an ELF header page for the executable, and a stack page
    ehdr = bytearray(4096)
    ehdr[:4] = b"\x7fELF"
    ehdr[4] = 2 if bits == 64 else 1
    ehdr[5] = 1
    struct.pack_into("<HH", ehdr, 16, 3, machine)
    stk = bytearray(4096)
    auxv = [(3, exe + 64), (6, 4096), (9, exe + 0x100), (31, stack + 0xff0), (0, 0)]
    at = 0x800
    struct.pack_into(W, stk, at, 1)                      # argc
    struct.pack_into(W, stk, at + w, stack + 0xf00)      # argv[0]
    struct.pack_into(W, stk, at + 3 * w, stack + 0xf10)  # envp[0]
    for i, (t, v) in enumerate(auxv):
        struct.pack_into(W + W[1], stk, at + 5 * w + 2 * w * i, t, v)
    stk[0xf00:0xf08] = b"/bin/x\0\0"
    stk[0xf10:0xf18] = b"A=1\0\0\0\0\0"
    stk[0xff0:0xff7] = b"/bin/x\0"
    # notes
    ps = bytearray(136 if bits == 64 else 124)
    ps[1] = ord("S")
    struct.pack_into("<I", ps, 24 if bits == 64 else 12, 1234)
    ps[40 if bits == 64 else 28:][:4]
    name_at = 40 if bits == 64 else 28
    ps[name_at:name_at + 2] = b"x\0"
    notes = note("CORE", 3, bytes(ps))
    reg_off, nregs = (112, 27) if bits == 64 else (72, 17)
    for tid in (1234, 1235):
        pr = bytearray(336 if bits == 64 else 144)
        struct.pack_into("<I", pr, 32 if bits == 64 else 24, tid)
        regs = [0] * nregs
        if bits == 64:
            regs[16], regs[19], regs[21] = exe + 0x100, stack + 0x800, stack + 0x100
        else:
            regs[12], regs[15] = exe + 0x100, stack + 0x800
        struct.pack_into(("<%dQ" if bits == 64 else "<%dI") % nregs, pr, reg_off, *regs)
        notes += note("CORE", 1, bytes(pr))
        if bits == 32:
            notes += note("LINUX", 0x200, struct.pack("<IIII", 12, stack + 0x100, 0xfffff, 0x51))
    notes += note("CORE", 6, b"".join(word(t) + word(v) for t, v in auxv))
    notes += note("CORE", 0x53494749, struct.pack("<iii", 11, 0, 1) + b"\0" * 4 + word(0xdead) + b"\0" * 100)
    files = word(2) + word(4096) + word(exe) + word(exe + 0x1000) + word(0) + \
        word(exe + 0x1000) + word(exe + 0x3000) + word(1) + b"/bin/x\0/bin/x (deleted)\0"
    notes += note("CORE", 0x46494c45, files)
    loads = [(exe, 0x1000, bytes(ehdr), 4), (exe + 0x1000, 0x2000, b"", 5), (stack, 0x1000, bytes(stk), 6),
             (stack + 0x1000, 0x20000, b"", 0)]
    if overlap:
        loads.append((stack + 0x800, 0x1000, bytes(stk[:0x1000]), 6))
    nph = 1 + len(loads)
    ehsz, phsz = (64, 56) if bits == 64 else (52, 32)
    notes_off = ehsz + nph * phsz
    data_off = notes_off + len(notes)
    body = notes
    ph = b""
    def phdr(t, flags, off, vaddr, filesz, memsz):
        if bits == 64:
            return struct.pack("<IIQQQQQQ", t, flags, off, vaddr, 0, filesz, memsz, 4096)
        return struct.pack("<IIIIIIII", t, off, vaddr, 0, filesz, memsz, flags, 4096)
    ph += phdr(4, 0, notes_off, 0, len(notes), 0)
    off = data_off
    for vaddr, memsz, data, flags in loads:
        ph += phdr(1, flags, off, vaddr, len(data), memsz)
        body += data
        off += len(data)
    shoff = 0
    tail = b""
    if xnum:
        shoff = ehsz + nph * phsz + len(body)
        sh = bytearray(64 if bits == 64 else 40)
        struct.pack_into("<I", sh, 44 if bits == 64 else 28, nph)
        tail = bytes(sh)
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1, 1]) + b"\0" * 9
    phnum = 0xffff if xnum else nph
    if bits == 64:
        eh = ident + struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, ehsz, shoff, 0, ehsz, phsz, phnum,
                                 64 if xnum else 0, 1 if xnum else 0, 0)
    else:
        eh = ident + struct.pack("<HHIIIIIHHHHHH", 4, machine, 1, 0, ehsz, shoff, 0, ehsz, phsz, phnum,
                                 40 if xnum else 0, 1 if xnum else 0, 0)
    return eh + ph + body + tail


for name, data in (("core64", core(64)), ("core32", core(32)), ("xnum64", core(64, xnum=True)),
                   ("xnum32", core(32, xnum=True)), ("overlap", core(64, overlap=True))):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
