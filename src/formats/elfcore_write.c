/* The pieces of an ELF core file, as the kernel writes them: headers and
 * notes, little-endian. */
#include "formats/elfcore_write.h"

#include <string.h>

#include "base/bytes.h"
#include "base/util.h"
#include "formats/elf_defs.h"

void cw_put(cw_buf *b, const void *v, size_t n)
{
	ARRAY_GROW(b->p, b->cap, b->n + n);
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

void cw_put_word(cw_buf *b, int bits, uint64_t v)
{
	uint8_t x[8];
	st_le64(x, v);
	cw_put(b, x, bits / 8);
}

static void align4(cw_buf *b)
{
	static const uint8_t z[4];
	cw_put(b, z, (4 - b->n % 4) % 4);
}

void cw_note(cw_buf *b, const char *owner, uint32_t type, const void *desc, size_t len)
{
	uint8_t h[12];
	st_le32(h, (uint32_t)strlen(owner) + 1);
	st_le32(h + 4, (uint32_t)len);
	st_le32(h + 8, type);
	cw_put(b, h, 12);
	cw_put(b, owner, strlen(owner) + 1);
	align4(b);
	cw_put(b, desc, len);
	align4(b);
}

void cw_put_ehdr(cw_buf *b, uint16_t machine, int bits, uint64_t nph, uint64_t shoff)
{
	uint8_t h[64] = { 0x7f, 'E', 'L', 'F', (uint8_t)(bits == 64 ? 2 : 1), 1, 1, 0 };
	uint16_t phnum = nph >= PN_XNUM ? PN_XNUM : (uint16_t)nph;
	st_le16(h + 16, ET_CORE);
	st_le16(h + 18, machine);
	st_le32(h + 20, 1);
	if (bits == 64) {
		st_le64(h + 32, 64);
		st_le64(h + 40, shoff);
		st_le16(h + 52, 64);
		st_le16(h + 54, 56);
		st_le16(h + 56, phnum);
		st_le16(h + 58, shoff ? 64 : 0);
		st_le16(h + 60, shoff ? 1 : 0);
		cw_put(b, h, 64);
	} else {
		st_le32(h + 28, 52);
		st_le32(h + 32, (uint32_t)shoff);
		st_le16(h + 40, 52);
		st_le16(h + 42, 32);
		st_le16(h + 44, phnum);
		st_le16(h + 46, shoff ? 40 : 0);
		st_le16(h + 48, shoff ? 1 : 0);
		cw_put(b, h, 52);
	}
}

void cw_put_phdr(cw_buf *b, int bits, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
		     uint64_t filesz, uint64_t memsz, uint64_t align)
{
	uint8_t p[56] = { 0 };
	if (bits == 64) {
		st_le32(p, type);
		st_le32(p + 4, flags);
		st_le64(p + 8, off);
		st_le64(p + 16, vaddr);
		st_le64(p + 32, filesz);
		st_le64(p + 40, memsz);
		st_le64(p + 48, align);
		cw_put(b, p, 56);
	} else {
		st_le32(p, type);
		st_le32(p + 4, (uint32_t)off);
		st_le32(p + 8, (uint32_t)vaddr);
		st_le32(p + 16, (uint32_t)filesz);
		st_le32(p + 20, (uint32_t)memsz);
		st_le32(p + 24, flags);
		st_le32(p + 28, (uint32_t)align);
		cw_put(b, p, 32);
	}
}

/* PN_XNUM: the real count of program headers is section 0's sh_info */
void cw_put_shdr0(cw_buf *b, int bits, uint64_t nph)
{
	uint8_t s[64] = { 0 };
	st_le32(s + (bits == 64 ? 44 : 28), (uint32_t)nph);
	cw_put(b, s, bits == 64 ? 64 : 40);
}

