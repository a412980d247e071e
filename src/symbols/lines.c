/* libdw answers "which line" once it has the compile unit. The unit is
 * found through .debug_aranges when the file has it (cheap); where that
 * section is missing or silent, we index every unit's address ranges
 * ourselves, once (which means reading all of .debug_info). */
#include "lines.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdlib.h>

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

bool lines_lookup(line_index *li, uint64_t addr, const char **file, int *line)
{
	if (!li)
		return false;
	Dwarf_Die cu;
	if (dwarf_addrdie(li->dw, addr, &cu) && line_in_cu(li, &cu, addr, file, line))
		return true;
	if (!li->indexed)
		build_index(li);
	size_t lo = upper_bound_u64(li->r, li->n, sizeof *li->r, offsetof(cu_range, lo), addr);
	/* ranges of different units may interleave: look back a little */
	for (size_t i = lo, steps = 0; i-- > 0 && steps < 64; steps++) {
		if (addr >= li->r[i].hi)
			continue;
		if (dwarf_offdie(li->dw, li->r[i].die, &cu) && line_in_cu(li, &cu, addr, file, line))
			return true;
	}
	return false;
}

void lines_close(line_index *li)
{
	if (!li)
		return;
	dwarf_end(li->dw);
	for (size_t i = 0; i < li->nj; i++)
		free(li->j[i].path);
	free(li->j);
	free(li->r);
	free(li);
}
