/* libdw answers "which line" once it has the compile unit. The unit is
 * found through .debug_aranges when the file has it (cheap); where that
 * section is missing or silent, we index every unit's address ranges
 * ourselves, once (which means reading all of .debug_info). */
#include "lines.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

typedef struct cu_range {
	uint64_t lo, hi;
	Dwarf_Off die;
} cu_range;

typedef struct joined {
	const char *src; /* libdw's string */
	char *path;      /* with the compile directory in front */
} joined;

struct line_index {
	Dwarf *dw;
	Elf *elf;        /* lines_open_sections: the ELF image made for libdw */
	uint8_t *image;
	bool indexed;    /* r[] has been built */
	cu_range *r;
	size_t n, cap;
	joined *j;       /* file names made absolute, a few at a time */
	size_t nj, jcap;
};

/* A relative file name is relative to the unit's compile directory, as
 * addr2line shows it; a relative compile directory (debug-prefix-mapped
 * builds) is left alone. */
static const char *absolute(line_index *li, Dwarf_Die *cu, const char *src)
{
	if (src[0] == '/')
		return src;
	for (size_t i = 0; i < li->nj; i++)
		if (li->j[i].src == src)
			return li->j[i].path;
	Dwarf_Attribute at;
	const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &at));
	if (!dir || dir[0] != '/')
		return src;
	joined *j = ARRAY_PUSH(li->j, li->nj, li->jcap);
	j->src = src;
	j->path = xasprintf("%s/%s", dir, src);
	return j->path;
}

static int cmp_range(const void *a, const void *b)
{
	const cu_range *x = a, *y = b;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

line_index *lines_open(int fd)
{
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw)
		return NULL;
	line_index *li = xcalloc(1, sizeof *li);
	li->dw = dw;
	return li;
}

/* an ELF64 file of the sections alone: a header, the data, the section
 * names, the section headers. The sizes are the caller's (bounded); the
 * sum is checked. */
line_index *lines_open_sections(const lines_section *sec, size_t n)
{
	if (!n || n > 64)
		return NULL;
	size_t names = 1, data = 0;
	for (size_t i = 0; i < n; i++) {
		names += strlen(sec[i].name) + 1;
		if (sec[i].size > ((size_t)1 << 30) || data > ((size_t)1 << 31))
			return NULL;
		data += sec[i].size;
	}
	names += sizeof ".shstrtab";
	size_t shoff = (sizeof(Elf64_Ehdr) + data + names + 7) & ~(size_t)7;
	size_t total = shoff + (n + 2) * sizeof(Elf64_Shdr);
	uint8_t *img = xcalloc(1, total);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC; /* addresses as they are: nothing to relocate */
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shoff = shoff;
	eh->e_shnum = (Elf64_Half)(n + 2);
	eh->e_shstrndx = (Elf64_Half)(n + 1);
	size_t at = sizeof(Elf64_Ehdr), nat = sizeof(Elf64_Ehdr) + data + 1;
	Elf64_Shdr sh[66];
	memset(sh, 0, sizeof sh);
	for (size_t i = 0; i < n; i++) {
		memcpy(img + at, sec[i].data, sec[i].size);
		sh[i + 1].sh_name = (Elf64_Word)(nat - (sizeof(Elf64_Ehdr) + data));
		sh[i + 1].sh_type = SHT_PROGBITS;
		sh[i + 1].sh_offset = at;
		sh[i + 1].sh_size = sec[i].size;
		sh[i + 1].sh_addralign = 1;
		size_t l = strlen(sec[i].name) + 1;
		memcpy(img + nat, sec[i].name, l);
		nat += l;
		at += sec[i].size;
	}
	sh[n + 1].sh_name = (Elf64_Word)(nat - (sizeof(Elf64_Ehdr) + data));
	memcpy(img + nat, ".shstrtab", sizeof ".shstrtab");
	sh[n + 1].sh_type = SHT_STRTAB;
	sh[n + 1].sh_offset = sizeof(Elf64_Ehdr) + data;
	sh[n + 1].sh_size = names;
	sh[n + 1].sh_addralign = 1;
	memcpy(img + shoff, sh, (n + 2) * sizeof(Elf64_Shdr));
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory((char *)img, total);
	Dwarf *dw = elf ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	if (!dw) {
		if (elf)
			elf_end(elf);
		free(img);
		return NULL;
	}
	line_index *li = xcalloc(1, sizeof *li);
	li->dw = dw;
	li->elf = elf;
	li->image = img;
	return li;
}

static void build_index(line_index *li)
{
	li->indexed = true;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(li->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(li->dw, off + hsize, &cu)) {
			Dwarf_Addr base, start, end;
			ptrdiff_t o = 0;
			int guard = 0;
			while ((o = dwarf_ranges(&cu, o, &base, &start, &end)) > 0 && guard++ < 100000) {
				if (end <= start)
					continue;
				cu_range *r = ARRAY_PUSH(li->r, li->n, li->cap);
				r->lo = start;
				r->hi = end;
				r->die = dwarf_dieoffset(&cu);
			}
		}
		off = next;
	}
	if (li->n > 1)
		qsort(li->r, li->n, sizeof *li->r, cmp_range);
}

static bool line_in_cu(line_index *li, Dwarf_Die *cu, uint64_t addr, const char **file, int *line)
{
	Dwarf_Line *l = dwarf_getsrc_die(cu, addr);
	if (!l)
		return false;
	const char *src = dwarf_linesrc(l, NULL, NULL);
	int ln = 0;
	if (!src || dwarf_lineno(l, &ln) != 0)
		return false;
	*file = absolute(li, cu, src);
	*line = ln;
	return true;
}

/* call fn with each unit that may hold addr (its aranges', then the
 * units whose ranges hold it) until it answers true */
static bool each_cu(line_index *li, uint64_t addr, bool (*fn)(line_index *, Dwarf_Die *, uint64_t, void *),
		    void *arg)
{
	if (!li)
		return false;
	Dwarf_Die cu;
	if (dwarf_addrdie(li->dw, addr, &cu) && fn(li, &cu, addr, arg))
		return true;
	if (!li->indexed)
		build_index(li);
	size_t lo = upper_bound_u64(li->r, li->n, sizeof *li->r, offsetof(cu_range, lo), addr);
	/* ranges of different units may interleave: look back a little */
	for (size_t i = lo, steps = 0; i-- > 0 && steps < 64; steps++) {
		if (addr >= li->r[i].hi)
			continue;
		if (dwarf_offdie(li->dw, li->r[i].die, &cu) && fn(li, &cu, addr, arg))
			return true;
	}
	return false;
}

typedef struct file_line {
	const char **file;
	int *line;
} file_line;

static bool lookup_cb(line_index *li, Dwarf_Die *cu, uint64_t addr, void *arg)
{
	file_line *fl = arg;
	return line_in_cu(li, cu, addr, fl->file, fl->line);
}

bool lines_lookup(line_index *li, uint64_t addr, const char **file, int *line)
{
	file_line fl = { file, line };
	return each_cu(li, addr, lookup_cb, &fl);
}

static uint64_t row_addr(Dwarf_Line *l)
{
	Dwarf_Addr a = 0;
	dwarf_lineaddr(l, &a);
	return a;
}

static bool row_flag(Dwarf_Line *l, int (*get)(Dwarf_Line *, bool *))
{
	bool b = false;
	return get(l, &b) == 0 && b;
}

static bool row_cb(line_index *li, Dwarf_Die *cu, uint64_t addr, void *arg)
{
	line_row *out = arg;
	Dwarf_Lines *lines;
	size_t n;
	if (dwarf_getsrclines(cu, &lines, &n) != 0 || !n)
		return false;
	/* the first row above addr (rows are sorted by address) */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (row_addr(dwarf_onesrcline(lines, mid)) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	size_t above = lo, best = lo - 1;
	uint64_t at = row_addr(dwarf_onesrcline(lines, best));
	/* the rows at that address: the last one that starts code (an
	 * end_sequence row ends the code before it), is_stmt preferred */
	size_t first = best;
	while (first > 0 && row_addr(dwarf_onesrcline(lines, first - 1)) == at)
		first--;
	size_t pick = n, stmt = n;
	for (size_t i = first; i <= best; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		int ln = 0;
		if (row_flag(l, dwarf_lineendsequence) || dwarf_lineno(l, &ln) != 0 || ln == 0)
			continue;
		pick = i;
		if (row_flag(l, dwarf_linebeginstatement))
			stmt = i;
	}
	if (pick == n)
		return false;
	if (!row_flag(dwarf_onesrcline(lines, pick), dwarf_linebeginstatement) && stmt != n)
		pick = stmt;
	Dwarf_Line *l = dwarf_onesrcline(lines, pick);
	const char *src = dwarf_linesrc(l, NULL, NULL);
	if (!src)
		return false;
	out->addr = at;
	out->end = above < n ? row_addr(dwarf_onesrcline(lines, above)) : at + 1;
	out->file = absolute(li, cu, src);
	dwarf_lineno(l, &out->line);
	out->is_stmt = row_flag(l, dwarf_linebeginstatement);
	return true;
}

bool lines_row(line_index *li, uint64_t addr, line_row *out)
{
	memset(out, 0, sizeof *out);
	return each_cu(li, addr, row_cb, out);
}

typedef struct range_q {
	uint64_t hi, *at;
} range_q;

static bool prologue_cb(line_index *li, Dwarf_Die *cu, uint64_t lo, void *arg)
{
	(void)li;
	range_q *q = arg;
	Dwarf_Lines *lines;
	size_t n;
	if (dwarf_getsrclines(cu, &lines, &n) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		uint64_t a = row_addr(l);
		if (a >= lo && a < q->hi && row_flag(l, dwarf_lineprologueend)) {
			*q->at = a;
			return true;
		}
	}
	return false;
}

bool lines_prologue_end(line_index *li, uint64_t lo, uint64_t hi, uint64_t *at)
{
	range_q q = { hi, at };
	return each_cu(li, lo, prologue_cb, &q);
}

bool lines_find(line_index *li, const char *file, int line, uint64_t *addr)
{
	/* gdb's choice: is_stmt rows only; a line with none (no code, or
	 * only code moved there by the optimizer) gives way to the next
	 * line that has some. libdw's answer for a line without rows is
	 * one row of the nearest line after it: asked again for all */
	for (int tries = 0; tries < 64 && line > 0; tries++) {
		Dwarf_Line **l = NULL;
		size_t n = 0;
		int got;
		if (dwarf_getsrc_file(li->dw, file, line, 0, &l, &n) != 0 || !n)
			return false;
		if (dwarf_lineno(l[0], &got) != 0 || got < line) {
			free(l);
			return false;
		}
		if (got != line) {
			free(l);
			line = got;
			continue;
		}
		bool found = false;
		for (size_t i = 0; i < n; i++) {
			Dwarf_Addr a;
			bool stmt = false;
			if (dwarf_linebeginstatement(l[i], &stmt) == 0 && stmt && dwarf_lineaddr(l[i], &a) == 0 &&
			    (!found || a < *addr)) {
				*addr = a;
				found = true;
			}
		}
		free(l);
		if (found)
			return true;
		line++;
	}
	return false;
}

void lines_close(line_index *li)
{
	if (!li)
		return;
	dwarf_end(li->dw);
	if (li->elf)
		elf_end(li->elf);
	free(li->image);
	for (size_t i = 0; i < li->nj; i++)
		free(li->j[i].path);
	free(li->j);
	free(li->r);
	free(li);
}
