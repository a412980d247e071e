#include "elf_builder.h"

#include <string.h>

const uint8_t elf_built_id[20] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6,
				   7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

void eb_put(elf_built *e, size_t off, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		int shift = e->be ? 8 * (bytes - 1 - i) : 8 * i;
		e->buf[off + (size_t)i] = (uint8_t)(v >> shift);
	}
}

void elf_build(elf_built *e, int bits, bool be, int type, uint64_t vaddr)
{
	memset(e, 0, sizeof *e);
	e->bits = bits;
	e->be = be;
	bool b64 = bits == 64;
	int w = b64 ? 8 : 4;
	size_t ehsize = b64 ? 64 : 52, phsz = b64 ? 56 : 32, shsz = b64 ? 64 : 40;
	uint8_t *h = e->buf;
	memcpy(h, "\177ELF", 4);
	h[4] = b64 ? 2 : 1;
	h[5] = be ? 2 : 1;
	h[6] = 1;
	eb_put(e, 16, (uint64_t)type, 2);
	eb_put(e, 18, b64 ? 62 : 3, 2);
	eb_put(e, 20, 1, 4);
	e->phoff = ehsize;
	e->shoff = 0x1000; /* past the loaded bytes, as in real files */
	size_t p = 24;
	eb_put(e, p, vaddr + 0x100, w); /* entry */
	eb_put(e, p + (size_t)w, e->phoff, w);
	eb_put(e, p + 2 * (size_t)w, e->shoff, w);
	p += 3 * (size_t)w + 4; /* flags */
	eb_put(e, p, ehsize, 2);
	eb_put(e, p + 2, phsz, 2);
	eb_put(e, p + 4, 2, 2);    /* phnum */
	eb_put(e, p + 6, shsz, 2);
	eb_put(e, p + 8, 4, 2);    /* shnum */
	eb_put(e, p + 10, 2, 2);   /* shstrndx */

	/* program headers: LOAD (offset 0, 0x1000 in file, 0x3000 in memory), NOTE */
	struct { uint32_t type, flags; uint64_t off, va, filesz, memsz, align; } ph[2] = {
		{ 1, 5, 0, vaddr, 0x1000, 0x3000, 0x1000 },
		{ 4, 4, 0x200, vaddr + 0x200, 36, 36, 4 },
	};
	for (int i = 0; i < 2; i++) {
		size_t o = e->phoff + (size_t)i * phsz;
		if (b64) {
			eb_put(e, o, ph[i].type, 4);
			eb_put(e, o + 4, ph[i].flags, 4);
			eb_put(e, o + 8, ph[i].off, 8);
			eb_put(e, o + 16, ph[i].va, 8);
			eb_put(e, o + 24, ph[i].va, 8);
			eb_put(e, o + 32, ph[i].filesz, 8);
			eb_put(e, o + 40, ph[i].memsz, 8);
			eb_put(e, o + 48, ph[i].align, 8);
		} else {
			eb_put(e, o, ph[i].type, 4);
			eb_put(e, o + 4, ph[i].off, 4);
			eb_put(e, o + 8, ph[i].va, 4);
			eb_put(e, o + 12, ph[i].va, 4);
			eb_put(e, o + 16, ph[i].filesz, 4);
			eb_put(e, o + 20, ph[i].memsz, 4);
			eb_put(e, o + 24, ph[i].flags, 4);
			eb_put(e, o + 28, ph[i].align, 4);
		}
	}
	/* the build id note */
	eb_put(e, 0x200, 4, 4);
	eb_put(e, 0x204, 20, 4);
	eb_put(e, 0x208, 3, 4);
	memcpy(e->buf + 0x20c, "GNU", 4);
	memcpy(e->buf + 0x210, elf_built_id, 20);
	/* section names */
	static const char names[] = "\0.text\0.shstrtab\0.bss";
	memcpy(e->buf + 0x300, names, sizeof names);
	struct { uint32_t name, type; uint64_t flags, addr, off, size; } sh[4] = {
		{ 0, 0, 0, 0, 0, 0 },
		{ 1, 1, 6, vaddr + 0x100, 0x100, 0x80 },
		{ 7, 3, 0, 0, 0x300, sizeof names },
		{ 17, 8, 3, vaddr + 0x1000, 0x1000, 0x2000 },
	};
	for (int i = 0; i < 4; i++) {
		size_t o = e->shoff + (size_t)i * shsz;
		eb_put(e, o, sh[i].name, 4);
		eb_put(e, o + 4, sh[i].type, 4);
		eb_put(e, o + 8, sh[i].flags, w);
		eb_put(e, o + 8 + (size_t)w, sh[i].addr, w);
		eb_put(e, o + 8 + 2 * (size_t)w, sh[i].off, w);
		eb_put(e, o + 8 + 3 * (size_t)w, sh[i].size, w);
	}
	e->len = e->shoff + 4 * shsz;
}
