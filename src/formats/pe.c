/* PE and COFF headers and the section table; RVA <-> file offset. The
 * mapping follows the Windows loader (and pefile): raw data offsets are
 * rounded down to 512 when the file alignment is at least that, and a
 * section's extent is the larger of its virtual and raw sizes. */
#include "pe_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "vmatlas/error.h"

void pe_warn(pe_image *pe, const char *fmt, ...)
{
	/* counted, not searched for: hostile files can warn millions of times */
	size_t n = pe->nwarnings++;
	if (n > PE_MAX_WARNINGS)
		return;
	if (n == PE_MAX_WARNINGS) {
		char *w = xasprintf("%s; and more", pe->warnings);
		free(pe->warnings);
		pe->warnings = w;
		return;
	}
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char *w = pe->warnings ? xasprintf("%s; %s", pe->warnings, msg) : xstrdup(msg);
	free(pe->warnings);
	pe->warnings = w;
}

int pe_read_off(const pe_image *pe, uint64_t off, void *buf, size_t len)
{
	if (off > pe->file_size || len > pe->file_size - off)
		return -1;
	return vm_reader_full(&pe->r, off, buf, len) ? 0 : -1;
}

char *pe_string_off(const pe_image *pe, uint64_t off, size_t max)
{
	char chunk[256];
	strbuf sb = STRBUF_INIT;
	while (sb.len < max) {
		size_t want = sizeof chunk;
		if (off > pe->file_size)
			break;
		if (want > pe->file_size - off)
			want = (size_t)(pe->file_size - off);
		if (want > max - sb.len)
			want = max - sb.len;
		ssize_t got = want ? pe->r.read(&pe->r, off, chunk, want) : 0;
		if (got <= 0)
			break;
		char *nul = memchr(chunk, 0, (size_t)got);
		if (nul) {
			sb_add(&sb, chunk, (size_t)(nul - chunk));
			return sb_detach(&sb);
		}
		sb_add(&sb, chunk, (size_t)got);
		off += (uint64_t)got;
	}
	sb_free(&sb);
	return NULL;
}

char *pe_string_rva(const pe_image *pe, uint32_t rva, size_t max)
{
	uint64_t off;
	if (!pe_rva_to_offset(pe, rva, &off))
		return NULL;
	return pe_string_off(pe, off, max);
}

bool pe_memory_is_file_layout(const pe_image *pe)
{
	if (!pe->in_memory || !pe->nsec)
		return false;
	const pe_section *s = &pe->sec[pe->by_rva ? pe->by_rva[0] : 0];
	if (!s->raw_size || s->raw_offset >= s->rva || s->raw_offset < pe->size_headers)
		return false;
	uint8_t b[64];
	size_t n = s->raw_size < sizeof b ? s->raw_size : sizeof b;
	if (s->rva - s->raw_offset < n)
		n = s->rva - s->raw_offset;
	if (!vm_reader_full(&pe->r, s->raw_offset, b, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return true;
	return false;
}

bool pe_is_magic(const void *buf, size_t len)
{
	return len >= 2 && ((const uint8_t *)buf)[0] == 'M' && ((const uint8_t *)buf)[1] == 'Z';
}

static bool known_machine(uint16_t m)
{
	switch (m) {
	case 0x14c: case 0x8664: case 0xaa64: case 0x1c0: case 0x1c2: case 0x1c4: case 0x200:
	case 0xa641: case 0xa64e: case 0x5032: case 0x5064: case 0x166: case 0x1f0: case 0x1f1:
	case 0xebc: case 0x9041: case 0x6232: case 0x6264:
		return true;
	default:
		return false;
	}
}

bool coff_is_object(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (len < 20 || !known_machine(ld_le16(p)))
		return false;
	uint16_t nsec = ld_le16(p + 2), opt = ld_le16(p + 16);
	uint32_t symoff = ld_le32(p + 8);
	return nsec > 0 && nsec <= 4096 && opt == 0 && (symoff == 0 || symoff >= 20);
}

/* ---- RVAs ---- */

static uint64_t raw_start(const pe_image *pe, const pe_section *s)
{
	return pe->file_align >= 0x200 ? s->raw_offset & ~(uint64_t)0x1ff : s->raw_offset;
}

static uint64_t extent(const pe_section *s)
{
	return s->vsize > s->raw_size ? s->vsize : s->raw_size;
}

const pe_section *pe_section_of_rva(const pe_image *pe, uint32_t rva)
{
	if (pe->disjoint && pe->by_rva) {
		size_t lo = 0, hi = pe->nsec;
		while (lo < hi) { /* the last section starting at or below rva */
			size_t mid = lo + (hi - lo) / 2;
			if (pe->sec[pe->by_rva[mid]].rva <= rva)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; k-- > 0;) { /* empty sections share starts: look back past them */
			const pe_section *s = &pe->sec[pe->by_rva[k]];
			if ((uint64_t)rva - s->rva < extent(s))
				return s;
			if (extent(s))
				break;
		}
		return NULL;
	}
	/* overlapping sections (hostile files): the first that holds it */
	for (size_t i = 0; i < pe->nsec; i++) {
		const pe_section *s = &pe->sec[i];
		if (rva >= s->rva && (uint64_t)rva - s->rva < extent(s))
			return s;
	}
	return NULL;
}

const pe_section *pe_section_of_offset(const pe_image *pe, uint64_t off)
{
	for (size_t i = 0; i < pe->nsec; i++) {
		const pe_section *s = &pe->sec[i];
		uint64_t lo = raw_start(pe, s);
		if (s->raw_size && off >= lo && off - lo < s->raw_size)
			return s;
	}
	return NULL;
}

bool pe_rva_to_offset(const pe_image *pe, uint32_t rva, uint64_t *off)
{
	if (pe->in_memory) {
		*off = rva;
		return true;
	}
	const pe_section *s = pe_section_of_rva(pe, rva);
	if (!s) {
		/* the headers: file and image agree there */
		if (rva < pe->file_size && rva < pe->first_raw) {
			*off = rva;
			return true;
		}
		return false;
	}
	uint64_t d = rva - s->rva;
	if (d >= s->raw_size)
		return false; /* zero-filled: in memory, not in the file */
	*off = raw_start(pe, s) + d;
	return *off < pe->file_size;
}

bool pe_offset_to_rva(const pe_image *pe, uint64_t off, uint32_t *rva)
{
	if (pe->in_memory) {
		if (off > UINT32_MAX)
			return false;
		*rva = (uint32_t)off;
		return true;
	}
	const pe_section *s = pe_section_of_offset(pe, off);
	if (!s) {
		if (off < pe->first_raw && off <= UINT32_MAX) {
			*rva = (uint32_t)off;
			return true;
		}
		return false;
	}
	uint64_t r = s->rva + (off - raw_start(pe, s));
	if (r > UINT32_MAX)
		return false;
	*rva = (uint32_t)r;
	return true;
}

int pe_read_rva(const pe_image *pe, uint32_t rva, void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len) {
		if (pe->in_memory)
			return vm_reader_full(&pe->r, rva, out, len) ? 0 : -1;
		const pe_section *s = pe_section_of_rva(pe, rva);
		uint64_t off;
		if (!s) {
			if (!pe_rva_to_offset(pe, rva, &off))
				return -1;
			return pe_read_off(pe, off, out, len);
		}
		uint64_t d = rva - s->rva, in_raw = d < s->raw_size ? s->raw_size - d : 0;
		uint64_t in_sec = extent(s) - d;
		size_t n = len < in_sec ? len : (size_t)in_sec;
		size_t from_file = n < in_raw ? n : (size_t)in_raw;
		if (from_file && pe_read_off(pe, raw_start(pe, s) + d, out, from_file) < 0)
			return -1;
		memset(out + from_file, 0, n - from_file);
		out += n;
		len -= n;
		if (len && (uint64_t)rva + n > UINT32_MAX)
			return -1;
		rva += (uint32_t)n;
	}
	return 0;
}

bool pe_dir_get(const pe_image *pe, int i, pe_dir *d)
{
	if (i < 0 || i >= PE_NUM_DIRS || (uint32_t)i >= pe->ndirs)
		return false;
	*d = pe->dirs[i];
	return d->rva != 0 && d->size != 0;
}

const char *pe_section_name(const pe_section *s)
{
	return s->long_name ? s->long_name : s->name;
}

/* ---- opening ---- */

static void read_strtab(pe_image *pe)
{
	if (!pe->symtab_offset || pe->in_memory)
		return;
	uint64_t at = (uint64_t)pe->symtab_offset + (uint64_t)pe->nsymbols * 18;
	uint8_t sz[4];
	if (pe->nsymbols > PE_MAX_SYMBOLS || pe_read_off(pe, at, sz, 4) < 0) {
		pe_warn(pe, "the COFF symbol table (offset 0x%x, %u symbols) lies past the end of the file",
			pe->symtab_offset, pe->nsymbols);
		return;
	}
	uint32_t n = ld_le32(sz);
	if (n < 4)
		return;
	if (n > PE_MAX_STRTAB || at + n > pe->file_size) {
		pe_warn(pe, "the COFF string table (%u bytes) runs past the end of the file", n);
		n = at < pe->file_size ? (uint32_t)(pe->file_size - at < PE_MAX_STRTAB ? pe->file_size - at : PE_MAX_STRTAB) : 0;
		if (n < 4)
			return;
	}
	pe->strtab = xmalloc(n + 1);
	if (pe_read_off(pe, at, pe->strtab, n) < 0) {
		free(pe->strtab);
		pe->strtab = NULL;
		return;
	}
	pe->strtab[n] = 0;
	pe->strtab_size = n;
}

static int read_sections(pe_image *pe, uint64_t at)
{
	size_t n = pe->nsections;
	if (!n)
		return 0;
	if (at > pe->file_size || (uint64_t)n * 40 > pe->file_size - at) {
		size_t fit = at < pe->file_size ? (size_t)((pe->file_size - at) / 40) : 0;
		pe_warn(pe, "the section table (%zu sections) runs past the end of the file; %zu read", n, fit);
		n = fit;
	}
	pe->sec = xcalloc(n ? n : 1, sizeof *pe->sec);
	uint8_t h[40];
	for (size_t i = 0; i < n; i++) {
		if (pe_read_off(pe, at + 40 * i, h, 40) < 0)
			break;
		pe_section *s = &pe->sec[pe->nsec++];
		memcpy(s->name, h, 8);
		s->name[8] = 0;
		s->vsize = ld_le32(h + 8);
		s->rva = ld_le32(h + 12);
		s->raw_size = ld_le32(h + 16);
		s->raw_offset = ld_le32(h + 20);
		s->reloc_offset = ld_le32(h + 24);
		s->lines_offset = ld_le32(h + 28);
		s->nrelocs = ld_le16(h + 32);
		s->nlines = ld_le16(h + 34);
		s->flags = ld_le32(h + 36);
		if (s->raw_size && !pe->in_memory &&
		    (s->raw_offset > pe->file_size || s->raw_size > pe->file_size - s->raw_offset))
			pe_warn(pe, "section %.8s: its raw data (0x%x bytes at 0x%x) runs past the end of the file",
				s->name, s->raw_size, s->raw_offset);
	}
	return 0;
}

/* "/123": a name in the string table */
static void long_names(pe_image *pe)
{
	for (size_t i = 0; i < pe->nsec; i++) {
		pe_section *s = &pe->sec[i];
		uint64_t off;
		if (s->name[0] != '/' || !pe->strtab || !parse_u64(s->name + 1, &off))
			continue;
		if (off < 4 || off >= pe->strtab_size) {
			pe_warn(pe, "section %s: its long name lies outside the string table", s->name);
			continue;
		}
		s->long_name = xstrndup(pe->strtab + off, pe->strtab_size - off);
	}
}

typedef struct rva_idx {
	uint32_t rva;
	size_t idx;
} rva_idx;

static int by_rva(const void *x, const void *y)
{
	const rva_idx *a = x, *b = y;
	if (a->rva != b->rva)
		return (a->rva > b->rva) - (a->rva < b->rva);
	return (a->idx > b->idx) - (a->idx < b->idx);
}

static void sanity(pe_image *pe)
{
	pe->first_raw = UINT64_MAX;
	for (size_t i = 0; i < pe->nsec; i++) {
		if (pe->sec[i].raw_size && raw_start(pe, &pe->sec[i]) < pe->first_raw)
			pe->first_raw = raw_start(pe, &pe->sec[i]);
		if (!pe->sec[i].vsize && !pe->sec[i].raw_size)
			pe_warn(pe, "section %s is empty", pe_section_name(&pe->sec[i]));
	}
	/* sorted by RVA: overlaps are between neighbours, and lookups bisect */
	rva_idx *order = xcalloc(pe->nsec ? pe->nsec : 1, sizeof *order);
	for (size_t i = 0; i < pe->nsec; i++)
		order[i] = (rva_idx){ pe->sec[i].rva, i };
	qsort(order, pe->nsec, sizeof *order, by_rva);
	pe->by_rva = xcalloc(pe->nsec ? pe->nsec : 1, sizeof *pe->by_rva);
	for (size_t i = 0; i < pe->nsec; i++)
		pe->by_rva[i] = order[i].idx;
	free(order);
	pe->disjoint = true;
	uint64_t reach = 0; /* the furthest end so far */
	const pe_section *far = NULL;
	for (size_t k = 0; k < pe->nsec; k++) {
		const pe_section *s = &pe->sec[pe->by_rva[k]];
		if (far && s->rva < reach && extent(s)) {
			pe->disjoint = false;
			if (!pe->is_object && s->vsize && far->vsize && s->rva < (uint64_t)far->rva + far->vsize)
				pe_warn(pe, "sections %s and %s overlap in memory", pe_section_name(far), pe_section_name(s));
		}
		if (extent(s) && (uint64_t)s->rva + extent(s) > reach) {
			reach = (uint64_t)s->rva + extent(s);
			far = s;
		}
	}
	if (pe->entry_rva && !pe_section_of_rva(pe, pe->entry_rva) && !pe->is_object)
		pe_warn(pe, "the entry point 0x%x lies in no section", pe->entry_rva);
}

static void file_header(pe_image *pe, const uint8_t *h)
{
	pe->machine = ld_le16(h);
	pe->nsections = ld_le16(h + 2);
	pe->timestamp = ld_le32(h + 4);
	pe->symtab_offset = ld_le32(h + 8);
	pe->nsymbols = ld_le32(h + 12);
	pe->opt_size = ld_le16(h + 16);
	pe->characteristics = ld_le16(h + 18);
}

static int optional_header(pe_image *pe, uint64_t at)
{
	uint8_t o[240] = { 0 };
	size_t n = pe->opt_size < sizeof o ? pe->opt_size : sizeof o;
	if (n < 2 || pe_read_off(pe, at, o, n) < 0) {
		vm_seterr("the optional header (%u bytes at 0x%llx) cannot be read", pe->opt_size, (unsigned long long)at);
		return -1;
	}
	pe->magic = ld_le16(o);
	bool plus = pe->magic == 0x20b;
	if (pe->magic != 0x10b && !plus) {
		vm_seterr("unknown optional header magic 0x%x (neither PE32 nor PE32+)", pe->magic);
		return -1;
	}
	size_t fixed = plus ? 112 : 96;
	if (n < fixed)
		pe_warn(pe, "the optional header is %u bytes, short of the %zu it needs; the rest reads as zeros",
			pe->opt_size, fixed);
	pe->bits = plus ? 64 : 32;
	pe->linker_major = o[2];
	pe->linker_minor = o[3];
	pe->size_code = ld_le32(o + 4);
	pe->size_idata = ld_le32(o + 8);
	pe->size_udata = ld_le32(o + 12);
	pe->entry_rva = ld_le32(o + 16);
	pe->base_code = ld_le32(o + 20);
	pe->base_data = plus ? 0 : ld_le32(o + 24);
	pe->image_base = plus ? ld_le64(o + 24) : ld_le32(o + 28);
	pe->section_align = ld_le32(o + 32);
	pe->file_align = ld_le32(o + 36);
	pe->os_major = ld_le16(o + 40);
	pe->os_minor = ld_le16(o + 42);
	pe->image_major = ld_le16(o + 44);
	pe->image_minor = ld_le16(o + 46);
	pe->subsys_major = ld_le16(o + 48);
	pe->subsys_minor = ld_le16(o + 50);
	pe->win32_version = ld_le32(o + 52);
	pe->size_image = ld_le32(o + 56);
	pe->size_headers = ld_le32(o + 60);
	pe->checksum = ld_le32(o + 64);
	pe->subsystem = ld_le16(o + 68);
	pe->dll_characteristics = ld_le16(o + 70);
	if (plus) {
		pe->stack_reserve = ld_le64(o + 72);
		pe->stack_commit = ld_le64(o + 80);
		pe->heap_reserve = ld_le64(o + 88);
		pe->heap_commit = ld_le64(o + 96);
		pe->loader_flags = ld_le32(o + 104);
		pe->ndirs = ld_le32(o + 108);
	} else {
		pe->stack_reserve = ld_le32(o + 72);
		pe->stack_commit = ld_le32(o + 76);
		pe->heap_reserve = ld_le32(o + 80);
		pe->heap_commit = ld_le32(o + 84);
		pe->loader_flags = ld_le32(o + 88);
		pe->ndirs = ld_le32(o + 92);
	}
	uint32_t fit = n > fixed ? (uint32_t)((n - fixed) / 8) : 0, use = pe->ndirs;
	if (use > PE_NUM_DIRS) {
		pe_warn(pe, "NumberOfRvaAndSizes is %u; only 16 directories exist", pe->ndirs);
		use = PE_NUM_DIRS;
	}
	if (use > fit) {
		pe_warn(pe, "the optional header holds %u directories, not the %u it announces", fit, use);
		use = fit;
	}
	for (uint32_t i = 0; i < use; i++) {
		pe->dirs[i].rva = ld_le32(o + fixed + 8 * i);
		pe->dirs[i].size = ld_le32(o + fixed + 8 * i + 4);
	}
	pe->ndirs = use;
	if (pe->file_align && (pe->file_align & (pe->file_align - 1)))
		pe_warn(pe, "the file alignment 0x%x is not a power of two", pe->file_align);
	return 0;
}

static uint64_t reader_size(const vm_reader *r, bool in_memory)
{
	return in_memory ? UINT32_MAX + 1ull : r->size;
}

int pe_open(pe_image *pe, const vm_reader *r, bool in_memory)
{
	memset(pe, 0, sizeof *pe);
	pe->r = *r;
	pe->in_memory = in_memory;
	pe->file_size = reader_size(r, in_memory);
	uint8_t d[64];
	if (pe_read_off(pe, 0, d, sizeof d) < 0 || !pe_is_magic(d, sizeof d)) {
		vm_seterr("not a PE image (no MZ header)");
		return -1;
	}
	for (int i = 0; i < 30; i++)
		pe->dos[i] = ld_le16(d + 2 * i);
	pe->lfanew = ld_le32(d + 60);
	uint8_t h[24];
	if (pe_read_off(pe, pe->lfanew, h, sizeof h) < 0) {
		vm_seterr("an MZ file whose PE header (at 0x%x) lies past its end: a DOS program, or truncated",
			  pe->lfanew);
		return -1;
	}
	if (memcmp(h, "PE\0\0", 4) != 0) {
		vm_seterr("an MZ file without a PE signature at 0x%x (a DOS, NE or LE program?)", pe->lfanew);
		return -1;
	}
	file_header(pe, h + 4);
	if (optional_header(pe, (uint64_t)pe->lfanew + 24) < 0) {
		pe_close(pe);
		return -1;
	}
	read_sections(pe, (uint64_t)pe->lfanew + 24 + pe->opt_size);
	read_strtab(pe);
	long_names(pe);
	sanity(pe);
	return 0;
}

int coff_open(pe_image *pe, const vm_reader *r)
{
	memset(pe, 0, sizeof *pe);
	pe->r = *r;
	pe->file_size = r->size;
	pe->is_object = true;
	uint8_t h[20];
	if (pe_read_off(pe, 0, h, sizeof h) < 0 || !coff_is_object(h, sizeof h)) {
		vm_seterr("not a COFF object file");
		return -1;
	}
	file_header(pe, h);
	read_sections(pe, 20);
	read_strtab(pe);
	long_names(pe);
	sanity(pe);
	return 0;
}

void pe_close(pe_image *pe)
{
	for (size_t i = 0; i < pe->nsec; i++)
		free(pe->sec[i].long_name);
	free(pe->sec);
	free(pe->by_rva);
	free(pe->strtab);
	free(pe->warnings);
	memset(pe, 0, sizeof *pe);
}
