#include "symtab.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "lines.h"

sym_table *symtab_new(void)
{
	sym_table *t = xcalloc(1, sizeof *t);
	t->dwarf_fd = -1;
	return t;
}

static uint32_t intern(sym_table *t, const char *s)
{
	size_t len = strlen(s);
	if (t->nlen + len + 1 > UINT32_MAX)
		return 0;
	ARRAY_GROW(t->names, t->ncap, t->nlen + len + 1);
	uint32_t off = (uint32_t)t->nlen;
	memcpy(t->names + t->nlen, s, len + 1);
	t->nlen += len + 1;
	return off;
}

/* how much a symbol is worth at its address: functions over objects over
 * the rest, globals over weak over locals, sized over unsized, exported
 * over not, and plain names over versioned ones (malloc over
 * malloc@GLIBC_2.2.5) */
static int rank(const sym_entry *e)
{
	int r = 0;
	if (e->type == STT_FUNC || e->type == STT_GNU_IFUNC)
		r += 8;
	else if (e->type == STT_OBJECT)
		r += 4;
	if (e->bind == STB_GLOBAL)
		r += 2;
	else if (e->bind == STB_WEAK)
		r += 1;
	return ((r * 2 + (e->size != 0)) * 2 + e->dynamic) * 2 + !e->versioned;
}

void symtab_add(sym_table *t, const elf_symtab *st, bool dynamic)
{
	if (!t->nlen)
		intern(t, ""); /* offset 0 is the empty name */
	for (size_t i = 0; i < st->n; i++) {
		const elf_sym *s = &st->syms[i];
		if (s->shndx == SHN_UNDEF || s->shndx == SHN_ABS || s->type == STT_SECTION ||
		    s->type == STT_FILE)
			continue;
		const char *name = elf_sym_name(st, s);
		if (!name[0] || name[0] == '$') /* ARM/AArch64 mapping symbols */
			continue;
		symtab_add_one(t, name, s->value, s->size, s->type, s->bind, dynamic);
	}
}

void symtab_add_one(sym_table *t, const char *name, uint64_t addr, uint64_t size, uint8_t type, uint8_t bind,
		    bool dynamic)
{
	if (!t->nlen)
		intern(t, "");
	sym_entry *e = type == STT_TLS ? ARRAY_PUSH(t->tls, t->ntls, t->tcap) : ARRAY_PUSH(t->e, t->n, t->cap);
	e->addr = addr;
	e->size = size;
	e->type = type;
	e->bind = bind;
	e->dynamic = dynamic;
	e->versioned = strchr(name, '@') != NULL;
	e->name = intern(t, name);
	e->rank = (uint8_t)rank(e);
	size_t len = strlen(name);
	e->len = len > 0xffff ? 0xffff : (uint16_t)len;
}

void symtab_note_source(sym_table *t, const char *what)
{
	strbuf sb = STRBUF_INIT;
	if (t->sources) {
		sb_puts(&sb, t->sources);
		sb_putc(&sb, ',');
		free(t->sources);
	}
	sb_puts(&sb, what);
	t->sources = sb_detach(&sb);
}

static int cmp_entry(const sym_table *t, const sym_entry *x, const sym_entry *y)
{
	if (x->addr != y->addr)
		return (x->addr > y->addr) - (x->addr < y->addr);
	if (x->rank != y->rank)
		return x->rank - y->rank; /* the best last: lookups take the last at an address */
	/* shorter names last: __libc_malloc before malloc */
	if (x->len != y->len)
		return (x->len < y->len) - (x->len > y->len);
	return strcmp(t->names + x->name, t->names + y->name);
}

/* a bottom-up merge sort with the comparison inlined: qsort's calls
 * and byte-wise moves were most of the time any address lookup took
 * (libc's tables hold some 13,000 symbols) */
static void sort_entries(sym_table *t)
{
	size_t n = t->n;
	sym_entry *a = t->e, *b = xmalloc(n * sizeof *b);
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = mid + width < n ? mid + width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				b[k++] = cmp_entry(t, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		sym_entry *tmp = a;
		a = b;
		b = tmp;
	}
	if (a != t->e) {
		memcpy(t->e, a, n * sizeof *a);
		b = a;
	}
	free(b);
}

void symtab_finish(sym_table *t)
{
	if (t->n == 0)
		return;
	sort_entries(t);
	/* the same symbol from several tables: keep one, exported if any was */
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++) {
		/* the same symbol from two tables: keep the better, which
		 * sorts later; an exported copy makes it exported */
		if (k > 0 && t->e[k - 1].addr == t->e[i].addr &&
		    strcmp(t->names + t->e[k - 1].name, t->names + t->e[i].name) == 0) {
			bool dyn = t->e[k - 1].dynamic || t->e[i].dynamic;
			uint64_t size = t->e[i].size ? t->e[i].size : t->e[k - 1].size;
			t->e[k - 1] = t->e[i];
			t->e[k - 1].dynamic = dyn;
			t->e[k - 1].size = size;
			continue;
		}
		t->e[k++] = t->e[i];
	}
	t->n = k;
}

const sym_entry *symtab_find(const sym_table *t, uint64_t addr)
{
	size_t lo = upper_bound_u64(t->e, t->n, sizeof *t->e, offsetof(sym_entry, addr), addr);
	if (lo == 0)
		return NULL;
	const sym_entry *best = &t->e[lo - 1];
	if (best->size == 0 || addr - best->addr < best->size)
		return best;
	/* past its end: a symbol a little further back may still contain
	 * it (nested or overlapping symbols) */
	for (size_t i = lo - 1, steps = 0; i-- > 0 && steps < 32; steps++) {
		const sym_entry *e = &t->e[i];
		if (e->size && addr - e->addr < e->size)
			return e;
	}
	return best;
}

const char *symtab_name(const sym_table *t, const sym_entry *e)
{
	return t->names + e->name;
}

void symtab_free(sym_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t->tls);
	free(t->names);
	free(t->sources);
	lines_close(t->lines);
	if (t->dwarf_fd >= 0)
		close(t->dwarf_fd);
	free(t);
}
