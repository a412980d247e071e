#!/usr/bin/env python3
"""Writes the fuzzers' seed inputs: small, odd files we make ourselves."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def elf(bits=64, be=False, phnum=2, shnum=4, shoff=0x200, phentsize=None, xnum=False):
    e = ">" if be else "<"
    w = "Q" if bits == 64 else "I"
    ehsize, phsz, shsz = (64, 56, 64) if bits == 64 else (52, 32, 40)
    phentsize = phentsize or phsz
    body = bytearray(0x400)
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 2 if be else 1, 1]) + bytes(9)
    hdr = ident + struct.pack(e + "HHI" + w + w + w + "IHHHHHH", 3, 62, 1, 0x1000, ehsize,
                              shoff, 0, ehsize, phentsize, 0xffff if xnum else phnum, shsz,
                              0 if xnum else shnum, 2)
    body[:len(hdr)] = hdr
    for i in range(phnum):
        if bits == 64:
            ph = struct.pack(e + "IIQQQQQQ", 1 if i == 0 else 4, 5, 0, 0, 0, 0x400, 0x2000, 0x1000)
        else:
            ph = struct.pack(e + "IIIIIIII", 1 if i == 0 else 4, 0, 0, 0, 0x400, 0x2000, 5, 0x1000)
        o = ehsize + i * phentsize
        body[o:o + len(ph)] = ph
    names = b"\0.text\0.shstrtab\0"
    body[0x180:0x180 + len(names)] = names
    for i in range(shnum):
        fields = [(0, 0, 0, 0, 0, 0), (1, 1, 6, 0x100, 0x100, 0x40), (7, 3, 0, 0, 0x180, len(names)),
                  (0, 8, 3, 0x1000, 0x400, 0x1000)][i % 4]
        if xnum and i == 0:
            sh = struct.pack(e + "II" + w * 4 + "II" + w * 2, 0, 0, 0, 0, 0, shnum, 0, phnum, 0, 0)
        else:
            sh = struct.pack(e + "II" + w * 4 + "II" + w * 2, *fields, 0, 0, 1, 0)
        o = shoff + i * shsz
        body[o:o + len(sh)] = sh
    return bytes(body)


def main():
    seeds = {
        "elf/le64": elf(),
        "elf/be32": elf(bits=32, be=True),
        "elf/le32": elf(bits=32),
        "elf/xnum": elf(xnum=True),
        "elf/bigphent": elf(phentsize=80),
        "elf/truncated": elf()[:70],
        "proc/maps": (b"55d0c1a00000-55d0c1a2f000 r--p 00000000 fe:00 247498   /usr/bin/bash\n"
                      b"7f0000000000-7f0000001000 rw-s 00001000 08:01 12  /tmp/a b (deleted)\n"
                      b"7f0000002000-7f0000003000 ---p 00000000 00:00 0\n"
                      b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n"),
        "proc/smaps": (b"00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon\n"
                       b"Size:                328 kB\nRss:                 296 kB\n"
                       b"THPeligible:    1\nVmFlags: rd ex mr mw me dw\n"),
        "proc/stat": b"1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3\n",
        "proc/syscall": b"230 0x0 0x0 0x7fff81ff69e0 0x7fff81ff6a20 0x0 0x0 0x7fff81ff69c8 0x7fb0\n",
    }
    for name, data in seeds.items():
        with open(os.path.join(here, "seeds", name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
