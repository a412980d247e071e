#include "symtab.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "lines.h"
#include "vmatlas/symbols.h"

sym_table *symtab_new(void)
{
	sym_table *t = xcalloc(1, sizeof *t);
	t->dwarf_fd = -1;
	return t;
}

static uint32_t intern_n(sym_table *t, const char *s, size_t len)
{
	if (t->nlen + len + 1 > UINT32_MAX)
		return 0;
	ARRAY_GROW(t->names, t->ncap, t->nlen + len + 1);
	uint32_t off = (uint32_t)t->nlen;
	memcpy(t->names + t->nlen, s, len);
	t->names[t->nlen + len] = 0;
	t->nlen += len + 1;
	return off;
}

static uint32_t intern(sym_table *t, const char *s)
{
	return intern_n(t, s, strlen(s));
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

void symtab_add_versioned(sym_table *t, const elf_symtab *st, bool dynamic, char *const *vers)
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
		sym_entry *e = s->type == STT_TLS ? ARRAY_PUSH(t->tls, t->ntls, t->tcap)
						  : ARRAY_PUSH(t->e, t->n, t->cap);
		e->addr = s->value;
		e->size = s->size;
		e->type = s->type;
		e->bind = s->bind;
		e->dynamic = dynamic;
		/* the version apart from the name: "malloc" with "@@GLIBC_2.2.5" */
		const char *at = strchr(name, '@');
		const char *ver = vers && vers[i] ? vers[i] : at;
		size_t len = at ? (size_t)(at - name) : strlen(name);
		if (at && at == name) { /* "@foo": no name before it, keep it whole */
			len = strlen(name);
			ver = vers ? vers[i] : NULL;
		}
		e->name = intern_n(t, name, len);
		e->ver = ver ? intern(t, ver) : 0;
		e->versioned = ver && ver[1] != '@';
		e->rank = (uint8_t)rank(e);
		e->len = len > 0xffff ? 0xffff : (uint16_t)len;
	}
}

void symtab_add(sym_table *t, const elf_symtab *st, bool dynamic)
{
	symtab_add_versioned(t, st, dynamic, NULL);
}

const char *symtab_version(const sym_table *t, const sym_entry *e)
{
	return e->ver ? t->names + e->ver : NULL;
}

/* one symbol with no version (PE exports, COFF symbols: ELF's STT_ and
 * STB_ values) */
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
	size_t len = strlen(name);
	e->name = intern_n(t, name, len);
	e->ver = 0;
	e->versioned = false;
	e->rank = (uint8_t)rank(e);
	e->len = len > 0xffff ? 0xffff : (uint16_t)len;
}

void symtab_add_forward(sym_table *t, const char *name, const char *target)
{
	if (!t->nlen)
		intern(t, "");
	sym_forward *f = ARRAY_PUSH(t->fwd, t->nfwd, t->fwdcap);
	f->name = intern(t, name);
	f->target = intern(t, target);
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
	/* then the order the tables gave them: deterministic, and no string
	 * compare (C++ constructors come in same-length pairs at one address) */
	(void)t;
	return (x->name > y->name) - (x->name < y->name);
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
	/* the same symbol from several tables (.symtab of the debug file,
	 * .dynsym): keep one, exported if any copy was, with the version
	 * the dynamic table gives. Copies of one name at one address need
	 * not be neighbours (aliases sort between them). */
	size_t k = 0, group = 0;
	for (size_t i = 0; i < t->n; i++) {
		sym_entry *x = &t->e[i];
		if (k == 0 || t->e[k - 1].addr != x->addr)
			group = k;
		bool merged = false;
		/* (bounded: a pathological table with thousands of names at
		 * one address keeps some copies) */
		for (size_t j = k > group + 64 ? k - 64 : group; j < k && !merged; j++) {
			sym_entry *y = &t->e[j];
			if (y->len != x->len || strcmp(t->names + y->name, t->names + x->name) != 0 ||
			    (y->ver && x->ver && strcmp(t->names + y->ver, t->names + x->ver) != 0))
				continue;
			/* x sorts later: it is the better of the two */
			sym_entry keep = *x;
			keep.dynamic = y->dynamic || x->dynamic;
			keep.size = x->size ? x->size : y->size;
			keep.ver = x->ver ? x->ver : y->ver;
			keep.versioned = keep.ver && t->names[keep.ver + 1] != '@';
			*y = keep;
			merged = true;
		}
		if (!merged)
			t->e[k++] = *x;
	}
	t->n = k; /* a merged entry keeps its place among its aliases */
}

static const sym_section *section_at(const sym_table *t, uint64_t addr)
{
	size_t lo = upper_bound_u64(t->sec, t->nsec, sizeof *t->sec, offsetof(sym_section, addr), addr);
	if (lo == 0)
		return NULL;
	const sym_section *sc = &t->sec[lo - 1];
	return addr - sc->addr < sc->size ? sc : NULL;
}

const sym_entry *symtab_find(const sym_table *t, uint64_t addr)
{
	size_t lo = upper_bound_u64(t->e, t->n, sizeof *t->e, offsetof(sym_entry, addr), addr);
	if (lo == 0)
		return NULL;
	const sym_entry *best = &t->e[lo - 1];
	if (best->size != 0 && addr - best->addr < best->size)
		return best;
	/* a symbol a little further back may still contain it (nested or
	 * overlapping symbols); the entries at best's address come first,
	 * the best of them last */
	const sym_entry *unsized = NULL;
	bool sized_between = false;
	for (size_t i = lo, steps = 0; i-- > 0 && steps < 64; steps++) {
		const sym_entry *e = &t->e[i];
		if (e->size && addr - e->addr < e->size)
			return e;
		if (e->size)
			sized_between = true; /* ended at or before addr */
		else if (!unsized && !sized_between)
			unsized = e;
	}
	if (!unsized)
		return NULL;
	/* an unsized symbol (an assembly label, _end) names addresses up to
	 * the next sized symbol, within its own section */
	if (unsized->addr == addr)
		return unsized; /* the label itself, wherever it is */
	if (t->nsec) {
		const sym_section *a = section_at(t, addr), *b = section_at(t, unsized->addr);
		if (!a || a != b)
			return NULL;
	}
	return unsized;
}

void symtab_add_sections(sym_table *t, const elf_image *e)
{
	if (t->nsec)
		return;
	for (size_t i = 0; i < e->nsh; i++) {
		const elf_shdr *sh = &e->sh[i];
		if (!(sh->flags & SHF_ALLOC) || sh->size == 0 || sh->addr == 0 ||
		    ((sh->flags & SHF_TLS) && sh->type == SHT_NOBITS) || /* .tbss takes no space */
		    sh->addr + sh->size < sh->addr)
			continue;
		sym_section *sc = ARRAY_PUSH(t->sec, t->nsec, t->seccap);
		sc->addr = sh->addr;
		sc->size = sh->size;
	}
	/* by address (insertion: section tables are short and nearly sorted) */
	for (size_t i = 1; i < t->nsec; i++) {
		sym_section x = t->sec[i];
		size_t j = i;
		for (; j > 0 && t->sec[j - 1].addr > x.addr; j--)
			t->sec[j] = t->sec[j - 1];
		t->sec[j] = x;
	}
	/* overlapping sections (.tbss over the next one): drop the later */
	size_t k = 0;
	for (size_t i = 0; i < t->nsec; i++) {
		if (k && t->sec[i].addr < t->sec[k - 1].addr + t->sec[k - 1].size)
			continue;
		t->sec[k++] = t->sec[i];
	}
	t->nsec = k;
}

const char *symtab_name(const sym_table *t, const sym_entry *e)
{
	return t->names + e->name;
}

static char not_mangled[1];

const char *symtab_display_name(sym_table *t, const sym_entry *e, bool demangle)
{
	const char *name = t->names + e->name;
	if (!demangle || name[0] != '_' || name[1] != 'Z' || e < t->e || e >= t->e + t->n)
		return name;
	size_t i = (size_t)(e - t->e);
	if (!t->dm)
		t->dm = xcalloc(t->n, sizeof *t->dm);
	if (!t->dm[i]) {
		char *d = vm_demangle_symbol(name);
		t->dm[i] = d ? d : not_mangled;
	}
	return t->dm[i] == not_mangled ? name : t->dm[i];
}

void symtab_free(sym_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->dm && i < t->n; i++)
		if (t->dm[i] != not_mangled)
			free(t->dm[i]);
	free(t->dm);
	free(t->e);
	free(t->tls);
	free(t->names);
	free(t->sources);
	free(t->sec);
	free(t->fwd);
	lines_close(t->lines);
	if (t->dwarf_fd >= 0)
		close(t->dwarf_fd);
	free(t);
}
