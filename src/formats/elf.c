/* ELF header, program header and section header parsing. */
#include "vmatlas/elf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "elf_defs.h"
#include "vmatlas/error.h"

/* Loaded images never have this many headers; files are bounded by
 * their size as well. */
#define MAX_MEMORY_PHDRS 4096u
#define MAX_MEMORY_SHDRS 65536u
#define MAX_SHSTRTAB (16u << 20)
#define MAX_NOTES (1u << 20)

/* ---- field decoding ---- */

#define g16 elf_g16
#define g32 elf_g32
#define g64 elf_g64
#define gw elf_gw

static void warn(elf_image *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(elf_image *e, const char *fmt, ...)
{
	strbuf sb = STRBUF_INIT;
	if (e->warnings) {
		sb_puts(&sb, e->warnings);
		sb_puts(&sb, "; ");
		free(e->warnings);
	}
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	e->warnings = sb_detach(&sb);
}

bool elf_is_magic(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	return len >= 4 && p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' && p[3] == 'F';
}

/* Raw read at a file offset before the program headers are known: in
 * memory mode the header and phdrs are assumed to sit in the first
 * mapped page run after `base`. */
static bool raw_read(const elf_image *e, uint64_t off, void *buf, size_t len)
{
	uint64_t at = off;
	if (e->in_memory && add_overflow_u64(e->base, off, &at))
		return false;
	return vm_reader_full(&e->r, at, buf, len);
}

static void decode_phdr(const elf_image *e, const uint8_t *p, elf_phdr *ph)
{
	if (e->bits == 64) {
		ph->type = g32(e, p);
		ph->flags = g32(e, p + 4);
		ph->offset = g64(e, p + 8);
		ph->vaddr = g64(e, p + 16);
		ph->paddr = g64(e, p + 24);
		ph->filesz = g64(e, p + 32);
		ph->memsz = g64(e, p + 40);
		ph->align = g64(e, p + 48);
	} else {
		ph->type = g32(e, p);
		ph->offset = g32(e, p + 4);
		ph->vaddr = g32(e, p + 8);
		ph->paddr = g32(e, p + 12);
		ph->filesz = g32(e, p + 16);
		ph->memsz = g32(e, p + 20);
		ph->flags = g32(e, p + 24);
		ph->align = g32(e, p + 28);
	}
}

/* Elf32_Shdr and Elf64_Shdr differ only in the width of their words */
static void decode_shdr(const elf_image *e, const uint8_t *p, elf_shdr *sh)
{
	size_t w = e->bits == 64 ? 8 : 4;
	sh->name = g32(e, p);
	sh->type = g32(e, p + 4);
	p += 8;
	sh->flags = gw(e, p);
	sh->addr = gw(e, p + w);
	sh->offset = gw(e, p + 2 * w);
	sh->size = gw(e, p + 3 * w);
	p += 4 * w;
	sh->link = g32(e, p);
	sh->info = g32(e, p + 4);
	p += 8;
	sh->addralign = gw(e, p);
	sh->entsize = gw(e, p + w);
	sh->namestr = "";
}

/* The first section header carries the real counts when they overflow
 * the ELF header's 16-bit fields. */
static bool read_shdr0(elf_image *e, elf_shdr *sh0)
{
	uint8_t buf[64];
	size_t sz = e->bits == 64 ? 64 : 40;
	if (e->shoff == 0 || e->shentsize < sz)
		return false;
	if (e->in_memory) {
		if (elf_read_offset(e, e->shoff, buf, sz) < 0)
			return false;
	} else if (!vm_reader_full(&e->r, e->shoff, buf, sz)) {
		return false;
	}
	decode_shdr(e, buf, sh0);
	return true;
}

static void compute_bias(elf_image *e)
{
	/* the segment that maps file offset 0 holds the header at base */
	for (size_t i = 0; i < e->nph; i++) {
		const elf_phdr *ph = &e->ph[i];
		if (ph->type != PT_LOAD)
			continue;
		uint64_t pg = e->page_size;
		if (ph->offset / pg == 0 && ph->filesz > 0) {
			/* base is the live address of file offset 0 */
			e->bias = e->base - (ph->vaddr - ph->offset);
			return;
		}
	}
	uint64_t lo, hi;
	if (elf_load_extent(e, &lo, &hi))
		e->bias = e->base - lo;
	else
		e->bias = e->base;
}

int elf_open(elf_image *e, const vm_reader *r, bool in_memory, uint64_t base, uint64_t page_size)
{
	memset(e, 0, sizeof *e);
	e->r = *r;
	e->in_memory = in_memory;
	e->base = base;
	e->page_size = page_size ? page_size : 4096;

	uint8_t h[64];
	if (!raw_read(e, 0, h, 52)) {
		vm_seterr("cannot read an ELF header");
		return -1;
	}
	if (!elf_is_magic(h, 4)) {
		vm_seterr("not an ELF file (bad magic)");
		return -1;
	}
	if (h[EI_CLASS] != ELFCLASS32 && h[EI_CLASS] != ELFCLASS64) {
		vm_seterr("ELF header: bad class %u", h[EI_CLASS]);
		return -1;
	}
	if (h[EI_DATA] != ELFDATA2LSB && h[EI_DATA] != ELFDATA2MSB) {
		vm_seterr("ELF header: bad byte order %u", h[EI_DATA]);
		return -1;
	}
	e->bits = h[EI_CLASS] == ELFCLASS64 ? 64 : 32;
	e->big_endian = h[EI_DATA] == ELFDATA2MSB;
	e->osabi = h[EI_OSABI];
	if (e->bits == 64 && !raw_read(e, 52, h + 52, 12)) {
		vm_seterr("ELF header truncated");
		return -1;
	}
	e->type = g16(e, h + 16);
	e->machine = g16(e, h + 18);
	e->version = g32(e, h + 20);
	/* the classes differ only in the width of entry, phoff and shoff */
	size_t w = e->bits == 64 ? 8 : 4;
	e->entry = gw(e, h + 24);
	e->phoff = gw(e, h + 24 + w);
	e->shoff = gw(e, h + 24 + 2 * w);
	const uint8_t *q = h + 24 + 3 * w;
	e->flags = g32(e, q);
	e->ehsize = g16(e, q + 4);
	e->phentsize = g16(e, q + 6);
	e->phnum = g16(e, q + 8);
	e->shentsize = g16(e, q + 10);
	e->shnum = g16(e, q + 12);
	e->shstrndx = g16(e, q + 14);

	/* the extended counts live in section header 0 */
	if (e->phnum == PN_XNUM || e->shnum == 0 || e->shstrndx == SHN_XINDEX) {
		elf_shdr sh0;
		bool have0 = !in_memory && read_shdr0(e, &sh0);
		if (e->phnum == PN_XNUM) {
			if (have0)
				e->phnum = sh0.info;
			else
				warn(e, "PN_XNUM without a readable section header 0");
		}
		if (e->shnum == 0 && e->shoff != 0 && have0)
			e->shnum = sh0.size > UINT32_MAX ? UINT32_MAX : (uint32_t)sh0.size;
		if (e->shstrndx == SHN_XINDEX && have0)
			e->shstrndx = sh0.link;
	}

	size_t phsz = e->bits == 64 ? 56 : 32;
	if (e->phnum == 0)
		return 0;
	if (e->phentsize < phsz) {
		warn(e, "program header entry size %u is too small", e->phentsize);
		return 0;
	}
	uint64_t limit = in_memory ? MAX_MEMORY_PHDRS : e->r.size / e->phentsize;
	if (e->phnum > limit) {
		warn(e, "%u program headers do not fit", e->phnum);
		return 0;
	}
	uint64_t tbl;
	if (mul_overflow_u64(e->phnum, e->phentsize, &tbl) || tbl > (64u << 20)) {
		warn(e, "program header table too large");
		return 0;
	}
	uint8_t *buf = xmalloc((size_t)tbl);
	if (!raw_read(e, e->phoff, buf, (size_t)tbl)) {
		warn(e, "program header table at 0x%llx is unreadable", (unsigned long long)e->phoff);
		free(buf);
		return 0;
	}
	e->ph = xcalloc(e->phnum, sizeof *e->ph);
	e->nph = e->phnum;
	for (size_t i = 0; i < e->nph; i++)
		decode_phdr(e, buf + i * e->phentsize, &e->ph[i]);
	free(buf);
	if (in_memory)
		compute_bias(e);
	return 0;
}

void elf_close(elf_image *e)
{
	free(e->ph);
	free(e->sh);
	free(e->shstr);
	free(e->warnings);
	memset(e, 0, sizeof *e);
}

bool elf_load_extent(const elf_image *e, uint64_t *lo, uint64_t *hi)
{
	uint64_t l = UINT64_MAX, h = 0, pg = e->page_size;
	for (size_t i = 0; i < e->nph; i++) {
		const elf_phdr *ph = &e->ph[i];
		if (ph->type != PT_LOAD || ph->memsz == 0)
			continue;
		uint64_t end;
		if (add_overflow_u64(ph->vaddr, ph->memsz, &end))
			continue;
		uint64_t s = ph->vaddr - ph->vaddr % pg;
		if (end % pg && add_overflow_u64(end, pg - end % pg, &end))
			continue;
		if (s < l)
			l = s;
		if (end > h)
			h = end;
	}
	if (l == UINT64_MAX)
		return false;
	*lo = l;
	*hi = h;
	return true;
}

int elf_read_vaddr(const elf_image *e, uint64_t vaddr, void *buf, size_t len)
{
	if (e->in_memory) {
		uint64_t at;
		if (add_overflow_u64(vaddr, e->bias, &at))
			return -1;
		return vm_reader_full(&e->r, at, buf, len) ? 0 : -1;
	}
	/* file mode: through the segment holding the range */
	uint8_t *out = buf;
	while (len > 0) {
		const elf_phdr *seg = NULL;
		for (size_t i = 0; i < e->nph; i++) {
			const elf_phdr *ph = &e->ph[i];
			if (ph->type == PT_LOAD && range_contains(ph->vaddr, ph->filesz, vaddr)) {
				seg = ph;
				break;
			}
		}
		if (!seg)
			return -1;
		uint64_t in_seg = vaddr - seg->vaddr;
		uint64_t avail = seg->filesz - in_seg;
		size_t n = len < avail ? len : (size_t)avail;
		uint64_t off;
		if (add_overflow_u64(seg->offset, in_seg, &off) || !vm_reader_full(&e->r, off, out, n))
			return -1;
		out += n;
		len -= n;
		vaddr += n;
	}
	return 0;
}

int elf_read_offset(const elf_image *e, uint64_t off, void *buf, size_t len)
{
	if (!e->in_memory)
		return vm_reader_full(&e->r, off, buf, len) ? 0 : -1;
	uint8_t *out = buf;
	while (len > 0) {
		const elf_phdr *seg = NULL;
		for (size_t i = 0; i < e->nph; i++) {
			const elf_phdr *ph = &e->ph[i];
			if (ph->type == PT_LOAD && range_contains(ph->offset, ph->filesz, off)) {
				seg = ph;
				break;
			}
		}
		if (!seg) {
			/* outside every segment: only a linear mapping has it */
			uint64_t end, at;
			if (add_overflow_u64(off, len, &end) || end > e->linear ||
			    add_overflow_u64(e->base, off, &at))
				return -1;
			return vm_reader_full(&e->r, at, out, len) ? 0 : -1;
		}
		uint64_t in_seg = off - seg->offset;
		uint64_t avail = seg->filesz - in_seg;
		size_t n = len < avail ? len : (size_t)avail;
		uint64_t va;
		if (add_overflow_u64(seg->vaddr, in_seg, &va) || elf_read_vaddr(e, va, out, n) < 0)
			return -1;
		out += n;
		len -= n;
		off += n;
	}
	return 0;
}

int elf_load_sections(elf_image *e)
{
	if (e->sh)
		return 0;
	size_t shsz = e->bits == 64 ? 64 : 40;
	if (e->shoff == 0 || e->shnum == 0) {
		vm_seterr("no section header table");
		return -1;
	}
	if (e->shentsize < shsz) {
		vm_seterr("section header entry size %u is too small", e->shentsize);
		return -1;
	}
	uint64_t limit = e->in_memory ? MAX_MEMORY_SHDRS : e->r.size / e->shentsize;
	uint64_t tbl;
	if (e->shnum > limit || mul_overflow_u64(e->shnum, e->shentsize, &tbl) || tbl > (256u << 20)) {
		vm_seterr("%u section headers do not fit", e->shnum);
		return -1;
	}
	uint8_t *buf = xmalloc((size_t)tbl);
	if (elf_read_offset(e, e->shoff, buf, (size_t)tbl) < 0) {
		free(buf);
		vm_seterr("section header table at offset 0x%llx is unreadable",
			  (unsigned long long)e->shoff);
		return -1;
	}
	e->sh = xcalloc(e->shnum, sizeof *e->sh);
	e->nsh = e->shnum;
	for (size_t i = 0; i < e->nsh; i++)
		decode_shdr(e, buf + i * e->shentsize, &e->sh[i]);
	free(buf);

	if (e->shstrndx == SHN_UNDEF || e->shstrndx >= e->nsh) {
		if (e->shstrndx != SHN_UNDEF)
			warn(e, "section name table index %u out of range", e->shstrndx);
		return 0;
	}
	const elf_shdr *st = &e->sh[e->shstrndx];
	if (st->type == SHT_NOBITS || st->size == 0 || st->size > MAX_SHSTRTAB) {
		warn(e, "section name table is unusable");
		return 0;
	}
	/* a file holds what it claims, or the claim is not allocated */
	if (!e->in_memory && e->r.size != UINT64_MAX &&
	    (st->offset > e->r.size || st->size > e->r.size - st->offset)) {
		warn(e, "section name table is unreadable (past the end of the file)");
		return 0;
	}
	e->shstr = xmalloc((size_t)st->size + 1);
	if (elf_read_offset(e, st->offset, e->shstr, (size_t)st->size) < 0) {
		warn(e, "section name table is unreadable");
		free(e->shstr);
		e->shstr = NULL;
		return 0;
	}
	e->shstr[st->size] = 0; /* names without a terminator end here */
	e->shstr_len = (size_t)st->size;
	for (size_t i = 0; i < e->nsh; i++)
		if (e->sh[i].name < e->shstr_len)
			e->sh[i].namestr = e->shstr + e->sh[i].name;
	return 0;
}

const elf_shdr *elf_section_by_name(const elf_image *e, const char *name)
{
	for (size_t i = 0; i < e->nsh; i++)
		if (strcmp(e->sh[i].namestr, name) == 0)
			return &e->sh[i];
	return NULL;
}

/* Walk the notes in buf for a GNU build id. */
static bool find_build_id(const elf_image *e, const uint8_t *p, size_t n, uint8_t *out,
			  size_t cap, size_t *len)
{
	size_t pos = 0;
	while (n - pos >= 12) {
		uint32_t namesz = g32(e, p + pos), descsz = g32(e, p + pos + 4);
		uint32_t type = g32(e, p + pos + 8);
		pos += 12;
		uint64_t nalign = ((uint64_t)namesz + 3) & ~3ull;
		uint64_t dalign = ((uint64_t)descsz + 3) & ~3ull;
		if (nalign > n - pos)
			return false;
		const uint8_t *name = p + pos;
		pos += (size_t)nalign;
		if (dalign > n - pos && descsz > n - pos)
			return false;
		const uint8_t *desc = p + pos;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
		    descsz > 0 && descsz <= cap && descsz <= n - pos) {
			memcpy(out, desc, descsz);
			*len = descsz;
			return true;
		}
		if (dalign > n - pos)
			return false;
		pos += (size_t)dalign;
	}
	return false;
}

bool elf_build_id(const elf_image *e, uint8_t *out, size_t cap, size_t *len)
{
	for (size_t i = 0; i < e->nph; i++) {
		const elf_phdr *ph = &e->ph[i];
		if (ph->type != PT_NOTE || ph->filesz == 0 || ph->filesz > MAX_NOTES)
			continue;
		uint8_t *buf = xmalloc((size_t)ph->filesz);
		int rc = e->in_memory ? elf_read_vaddr(e, ph->vaddr, buf, (size_t)ph->filesz)
				      : elf_read_offset(e, ph->offset, buf, (size_t)ph->filesz);
		bool found = rc == 0 && find_build_id(e, buf, (size_t)ph->filesz, out, cap, len);
		free(buf);
		if (found)
			return true;
	}
	for (size_t i = 0; i < e->nsh; i++) {
		const elf_shdr *sh = &e->sh[i];
		if (sh->type != SHT_NOTE || sh->size == 0 || sh->size > MAX_NOTES)
			continue;
		uint8_t *buf = xmalloc((size_t)sh->size);
		bool found = elf_read_offset(e, sh->offset, buf, (size_t)sh->size) == 0 &&
			     find_build_id(e, buf, (size_t)sh->size, out, cap, len);
		free(buf);
		if (found)
			return true;
	}
	return false;
}

const char *elf_type_name(uint16_t type)
{
	switch (type) {
	case ET_NONE: return "none";
	case ET_REL: return "rel";
	case ET_EXEC: return "exec";
	case ET_DYN: return "dyn";
	case ET_CORE: return "core";
	default: return "other";
	}
}

const char *elf_machine_name(uint16_t m)
{
	switch (m) {
	case EM_386: return "i386";
	case EM_ARM: return "arm";
	case EM_X86_64: return "x86_64";
	case EM_AARCH64: return "aarch64";
	case EM_RISCV: return "riscv";
	default: return "unknown";
	}
}

vm_arch elf_machine_arch(uint16_t m)
{
	switch (m) {
	case EM_386: return VM_ARCH_I386;
	case EM_ARM: return VM_ARCH_ARM;
	case EM_X86_64: return VM_ARCH_X86_64;
	case EM_AARCH64: return VM_ARCH_AARCH64;
	case EM_RISCV: return VM_ARCH_RISCV;
	default: return VM_ARCH_UNKNOWN;
	}
}

const char *elf_phdr_type_name(uint32_t t)
{
	switch (t) {
	case PT_NULL: return "NULL";
	case PT_LOAD: return "LOAD";
	case PT_DYNAMIC: return "DYNAMIC";
	case PT_INTERP: return "INTERP";
	case PT_NOTE: return "NOTE";
	case PT_SHLIB: return "SHLIB";
	case PT_PHDR: return "PHDR";
	case PT_TLS: return "TLS";
	case PT_GNU_EH_FRAME: return "GNU_EH_FRAME";
	case PT_GNU_STACK: return "GNU_STACK";
	case PT_GNU_RELRO: return "GNU_RELRO";
	case PT_GNU_PROPERTY: return "GNU_PROPERTY";
	default: return "OTHER";
	}
}

const char *elf_shdr_type_name(uint32_t t)
{
	switch (t) {
	case SHT_NULL: return "NULL";
	case SHT_PROGBITS: return "PROGBITS";
	case SHT_SYMTAB: return "SYMTAB";
	case SHT_STRTAB: return "STRTAB";
	case SHT_RELA: return "RELA";
	case SHT_HASH: return "HASH";
	case SHT_DYNAMIC: return "DYNAMIC";
	case SHT_NOTE: return "NOTE";
	case SHT_NOBITS: return "NOBITS";
	case SHT_REL: return "REL";
	case SHT_DYNSYM: return "DYNSYM";
	case SHT_INIT_ARRAY: return "INIT_ARRAY";
	case SHT_FINI_ARRAY: return "FINI_ARRAY";
	case SHT_PREINIT_ARRAY: return "PREINIT_ARRAY";
	case SHT_GROUP: return "GROUP";
	case SHT_SYMTAB_SHNDX: return "SYMTAB_SHNDX";
	case SHT_GNU_HASH: return "GNU_HASH";
	case SHT_GNU_verdef: return "VERDEF";
	case SHT_GNU_verneed: return "VERNEED";
	case SHT_GNU_versym: return "VERSYM";
	case SHT_X86_64_UNWIND: return "X86_64_UNWIND";
	default: return "OTHER";
	}
}
