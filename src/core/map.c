/* Building the map: target -> raw regions -> annotators -> allocations. */
#include "vmatlas/map.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "annotate/annotate.h"
#include "core/strbuf.h"
#include "core/util.h"
#include "vmatlas/error.h"

void vm_map_warn(vm_map *m, const char *fmt, ...)
{
	strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	*ARRAY_PUSH(m->warnings, m->nwarnings, m->wcap) = sb_detach(&sb);
}

vm_content *vm_region_add_content(vm_region *r, vm_content_kind kind, uint64_t addr,
				  uint64_t size, const char *name, const char *detail)
{
	vm_content *c = ARRAY_PUSH(r->contents, r->ncontents, r->ccap);
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->addr = addr;
	c->size = size;
	c->name = xstrdup(name ? name : "");
	c->detail = detail ? xstrdup(detail) : NULL;
	c->module = -1;
	return c;
}

size_t vm_map_region_index(const vm_map *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nregions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const vm_region *r = &m->regions[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->size)
			lo = mid + 1;
		else
			return mid;
	}
	return (size_t)-1;
}

const vm_region *vm_map_region_at(const vm_map *m, uint64_t addr)
{
	size_t i = vm_map_region_index(m, addr);
	return i == (size_t)-1 ? NULL : &m->regions[i];
}

const vm_alloc *vm_map_alloc_of(const vm_map *m, const vm_region *r)
{
	return r->alloc < m->nallocs ? &m->allocs[r->alloc] : NULL;
}

/* ---- builder helpers ---- */

int mb_group_new(map_builder *b, vm_usage usage, const char *details)
{
	mb_group *g = ARRAY_PUSH(b->groups, b->ngroups, b->gcap);
	g->usage = usage;
	g->details = details ? xstrdup(details) : NULL;
	return (int)(b->ngroups - 1);
}

bool mb_claim(map_builder *b, size_t ri, int gid)
{
	if (ri >= b->m->nregions || b->group[ri] >= 0 || b->m->regions[ri].state == VM_STATE_FREE)
		return false;
	b->group[ri] = gid;
	return true;
}

bool mb_claimed(const map_builder *b, size_t ri)
{
	return ri < b->m->nregions && b->group[ri] >= 0;
}

size_t mb_find(const map_builder *b, uint64_t addr)
{
	size_t i = vm_map_region_index(b->m, addr);
	if (i == (size_t)-1 || b->m->regions[i].state == VM_STATE_FREE)
		return (size_t)-1;
	return i;
}

vm_module *mb_module_add(map_builder *b)
{
	vm_map *m = b->m;
	vm_module *mod = ARRAY_PUSH(m->modules, m->nmodules, m->mcap);
	memset(mod, 0, sizeof *mod);
	mod->loader_index = -1;
	return mod;
}

/* ---- free gaps ---- */

static vm_region free_region(uint64_t base, uint64_t end)
{
	vm_region r;
	memset(&r, 0, sizeof r);
	r.base = base;
	r.size = end - base;
	r.state = VM_STATE_FREE;
	r.type = VM_TYPE_NONE;
	r.usage = VM_USAGE_FREE;
	r.alloc = (size_t)-1;
	return r;
}

static int cmp_region(const void *a, const void *b)
{
	const vm_region *x = a, *y = b;
	return (x->base > y->base) - (x->base < y->base);
}

/* Targets should give sorted, disjoint regions; dump files may not.
 * Sort, and drop what overlaps a region before it (with a warning). */
static size_t normalize_regions(vm_map *m, vm_region *raw, size_t n)
{
	if (n > 1)
		qsort(raw, n, sizeof *raw, cmp_region);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t end;
		if (raw[i].size == 0 || add_overflow_u64(raw[i].base, raw[i].size - 1, &end) ||
		    (k > 0 && raw[i].base < raw[k - 1].base + raw[k - 1].size)) {
			vm_map_warn(m, "region at 0x%llx (size 0x%llx) overlaps another or is empty: "
				       "left out",
				    (unsigned long long)raw[i].base, (unsigned long long)raw[i].size);
			vm_region one = raw[i];
			vm_regions_free_contents(&one);
			continue;
		}
		raw[k++] = raw[i];
	}
	return k;
}

/* Interleave the gaps of the user address space as free regions. */
static void add_free_gaps(vm_map *m, vm_region *raw, size_t n)
{
	n = normalize_regions(m, raw, n);
	uint64_t top = m->info.user_top;
	/* a region above the default top (57-bit user space) moves it */
	for (size_t i = 0; i < n; i++) {
		uint64_t end = raw[i].base + raw[i].size;
		if (end > top && !(raw[i].type == VM_TYPE_SPECIAL && raw[i].base >= (1ull << 63)))
			top = (end > (1ull << 47)) ? (1ull << 56) - m->info.page_size : end;
	}
	m->info.user_top = top;
	size_t cap = 0;
	vm_region *out = NULL;
	size_t no = 0;
	uint64_t cursor = 0;
	for (size_t i = 0; i < n; i++) {
		if (raw[i].base > cursor && cursor < top)
			*ARRAY_PUSH(out, no, cap) = free_region(cursor, raw[i].base < top ? raw[i].base : top);
		*ARRAY_PUSH(out, no, cap) = raw[i];
		cursor = raw[i].base + raw[i].size;
		if (cursor == 0) /* a region ending at 2^64 */
			break;
	}
	if (cursor < top)
		*ARRAY_PUSH(out, no, cap) = free_region(cursor, top);
	free(raw);
	m->regions = out;
	m->nregions = no;
}

static void load_pages(map_builder *b)
{
	vm_map *m = b->m;
	vm_target *t = b->t;
	if (!t->ops->pages) {
		vm_map_warn(m, "this target has no per-page information");
		return;
	}
	uint64_t pg = m->info.page_size ? m->info.page_size : 4096;
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if (r->state == VM_STATE_FREE)
			continue;
		if (b->opt->pages_all) {
			/* reservations hold no pages; huge ones (sanitizer
			 * shadows, JIT heaps) would cost gigabytes of pagemap */
			if (r->state == VM_STATE_RESERVE || r->type == VM_TYPE_SPECIAL)
				continue;
		} else if (!range_contains(r->base, r->size, b->opt->pages_addr)) {
			continue;
		}
		if (t->ops->pages(t, r->base, r->size / pg, &r->runs, &r->nruns, &r->pages) < 0)
			vm_map_warn(m, "pages of %llx: %s", (unsigned long long)r->base, vm_error());
	}
}

/* Everything inside the regions comes from reading memory: if the
 * target refuses every read, say so rather than show a map where
 * images look like plain file mappings. */
static void check_memory_readable(vm_map *m, vm_target *t)
{
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_READ) ||
		    (r->flags & (VM_RF_NO_DATA | VM_RF_PART_DATA)) || r->type == VM_TYPE_SPECIAL)
			continue;
		uint8_t byte;
		vm_clearerr();
		if (vm_read(t, r->base, &byte, 1) == 1)
			return;
		vm_map_warn(m, "cannot read the memory of the target (%s): images, stacks and "
			       "heaps are not annotated",
			    vm_has_error() ? vm_error() : "every read fails");
		m->incomplete = true;
		return;
	}
}

static int cmp_module(const void *a, const void *b)
{
	const vm_module *x = a, *y = b;
	if (x->base != y->base)
		return (x->base > y->base) - (x->base < y->base);
	return (x->size > y->size) - (x->size < y->size);
}

/* Modules in address order (for binary search), with the contents that
 * name a module following it. */
static void sort_modules(vm_map *m)
{
	size_t n = m->nmodules;
	if (n < 2)
		return;
	/* sort (module, old index) pairs, then renumber the contents */
	struct pair {
		vm_module mod;
		size_t old;
	} *p = xmalloc(n * sizeof *p);
	size_t *newidx = xmalloc(n * sizeof *newidx);
	for (size_t i = 0; i < n; i++) {
		p[i].mod = m->modules[i];
		p[i].old = i;
	}
	qsort(p, n, sizeof *p, cmp_module);
	for (size_t i = 0; i < n; i++) {
		m->modules[i] = p[i].mod;
		newidx[p[i].old] = i;
	}
	for (size_t i = 0; i < m->nregions; i++)
		for (size_t k = 0; k < m->regions[i].ncontents; k++) {
			int *mod = &m->regions[i].contents[k].module;
			if (*mod >= 0 && (size_t)*mod < n)
				*mod = (int)newidx[*mod];
		}
	free(p);
	free(newidx);
}

static int cmp_content(const void *a, const void *b)
{
	const vm_content *x = a, *y = b;
	if (x->addr != y->addr)
		return (x->addr > y->addr) - (x->addr < y->addr);
	return (int)x->kind - (int)y->kind;
}

void vm_region_sort_contents(vm_region *r)
{
	if (r->ncontents > 1)
		qsort(r->contents, r->ncontents, sizeof(vm_content), cmp_content);
}

static void sort_contents(vm_map *m)
{
	for (size_t i = 0; i < m->nregions; i++)
		vm_region_sort_contents(&m->regions[i]);
}

const vm_module *vm_map_module_at(const vm_map *m, uint64_t addr)
{
	/* the last module starting at or below addr that holds it; extents
	 * of modules do not nest, but manual ones may overlap: scan back */
	size_t lo = 0, hi = m->nmodules;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->modules[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		const vm_module *mod = &m->modules[i];
		if (range_contains(mod->base, mod->size, addr))
			return mod;
		if (lo - i > 8)
			break;
	}
	return NULL;
}

const vm_module *vm_map_module_by_name(const vm_map *m, const char *name)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (strcmp(m->modules[i].name, name) == 0 ||
		    (m->modules[i].path && strcmp(m->modules[i].path, name) == 0))
			return &m->modules[i];
	return NULL;
}

vm_map *vm_map_build(vm_target *t, const vm_map_options *opt)
{
	static const vm_map_options defaults;
	if (!opt)
		opt = &defaults;
	if (t->ops->saved_map) {
		vm_map *saved = NULL;
		int rc = t->ops->saved_map(t, &saved);
		if (rc <= 0)
			return saved; /* NULL with the error set when damaged */
	}
	vm_map *m = xcalloc(1, sizeof *m);
	vm_target_info info;
	if (vm_target_info_get(t, &info) < 0) {
		free(m);
		return NULL;
	}
	m->info = info;
	m->info.name = info.name ? xstrdup(info.name) : NULL;
	m->info.exe = info.exe ? xstrdup(info.exe) : NULL;
	m->info.cwd = info.cwd ? xstrdup(info.cwd) : NULL;
	m->info.warnings = NULL;
	for (const char *w = info.warnings; w && *w;) {
		size_t len = strcspn(w, ";");
		vm_map_warn(m, "%.*s", (int)len, w);
		w += len;
		while (*w == ';' || *w == ' ')
			w++;
	}
	if (!m->info.page_size)
		m->info.page_size = 4096;

	if (opt->freeze && t->ops->freeze) {
		if (t->ops->freeze(t) < 0) {
			vm_map_free(m);
			return NULL;
		}
		m->frozen = true;
	}

	vm_region *raw;
	size_t nraw;
	if (t->ops->regions(t, opt->no_stats ? 0 : VM_REGIONS_STATS, &raw, &nraw) < 0)
		goto fail;
	add_free_gaps(m, raw, nraw);
	check_memory_readable(m, t);

	if (t->ops->threads(t, opt->stacks ? VM_THREADS_STACKS : 0, &m->threads, &m->nthreads) < 0) {
		vm_map_warn(m, "threads: %s", vm_error());
		m->incomplete = true;
	}

	map_builder b = { .m = m, .t = t, .opt = opt };
	b.group = xmalloc(m->nregions * sizeof *b.group);
	for (size_t i = 0; i < m->nregions; i++)
		b.group[i] = -1;
	ann_system(&b);
	ann_images(&b);
	ann_target_modules(&b);
	ann_loader(&b);
	ann_manual(&b);
	ann_heaps(&b);
	ann_windows(&b);
	ann_threads(&b);
	ann_sysdata(&b);
	mb_group_rest(&b);
	mb_make_allocations(&b);
	sort_modules(m);
	sort_contents(m);
	if (opt->pages)
		load_pages(&b);
	for (size_t i = 0; i < b.ngroups; i++)
		free(b.groups[i].details);
	free(b.groups);
	free(b.group);

	if (m->frozen && t->ops->thaw)
		t->ops->thaw(t);
	return m;
fail:
	if (m->frozen && t->ops->thaw)
		t->ops->thaw(t);
	vm_map_free(m);
	return NULL;
}

void vm_map_free(vm_map *m)
{
	if (!m)
		return;
	vm_regions_free(m->regions, m->nregions);
	for (size_t i = 0; i < m->nallocs; i++)
		free(m->allocs[i].details);
	free(m->allocs);
	vm_threads_free(m->threads, m->nthreads);
	for (size_t i = 0; i < m->nmodules; i++) {
		free(m->modules[i].name);
		free(m->modules[i].path);
		free(m->modules[i].loader_name);
	}
	free(m->modules);
	for (size_t i = 0; i < m->nwarnings; i++)
		free(m->warnings[i]);
	free(m->warnings);
	free(m->info.name);
	free(m->info.exe);
	free(m->info.cwd);
	free(m);
}
