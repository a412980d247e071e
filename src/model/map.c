/* The map and its queries: regions by address, modules, contents. */
#include "vmatlas/map.h"
#include "vmatlas/heap_report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
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

uint64_t vm_region_data_size(const vm_region *r)
{
	if (r->flags & VM_RF_FROM_FILE)
		return r->size;
	if (r->flags & VM_RF_NO_DATA)
		return 0;
	if (r->flags & VM_RF_PART_DATA)
		return r->held < r->size ? r->held : r->size;
	return r->size;
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

static int cmp_module(const void *a, const void *b)
{
	const vm_module *x = a, *y = b;
	if (x->base != y->base)
		return (x->base > y->base) - (x->base < y->base);
	return (x->size > y->size) - (x->size < y->size);
}

/* Modules in address order (for binary search), with the contents that
 * name a module following it. */
void vm_map_sort_modules(vm_map *m)
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

/* by address and kind, then in the order they were added: qsort is not
 * stable everywhere (glibc's happens to be, the Windows C runtime's is
 * not), and the order is in the output */
struct content_at {
	vm_content c;
	size_t old;
};

static int cmp_content(const void *a, const void *b)
{
	const struct content_at *x = a, *y = b;
	if (x->c.addr != y->c.addr)
		return (x->c.addr > y->c.addr) - (x->c.addr < y->c.addr);
	if (x->c.kind != y->c.kind)
		return (int)x->c.kind - (int)y->c.kind;
	return (x->old > y->old) - (x->old < y->old);
}

void vm_region_sort_contents(vm_region *r)
{
	size_t n = r->ncontents;
	if (n < 2)
		return;
	struct content_at *p = xcalloc(n, sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p[i].c = r->contents[i];
		p[i].old = i;
	}
	qsort(p, n, sizeof *p, cmp_content);
	for (size_t i = 0; i < n; i++)
		r->contents[i] = p[i].c;
	free(p);
}

void vm_map_sort_contents(vm_map *m)
{
	for (size_t i = 0; i < m->nregions; i++)
		vm_region_sort_contents(&m->regions[i]);
}

const vm_module *vm_map_module_at(const vm_map *m, uint64_t addr)
{
	/* the last module starting at or below addr that holds it; extents
	 * of modules do not nest, but manual ones may overlap: scan back */
	size_t lo = upper_bound_u64(m->modules, m->nmodules, sizeof *m->modules, offsetof(vm_module, base), addr);
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

void vm_map_free(vm_map *m)
{
	if (!m)
		return;
	vm_regions_free(m->regions, m->nregions);
	for (size_t i = 0; i < m->nallocs; i++)
		free(m->allocs[i].details);
	free(m->allocs);
	vm_threads_free(m->threads, m->nthreads);
	if (m->heap) {
		vm_heap_report_free(m->heap);
		free(m->heap);
	}
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
	free(m->info.win.csd);
	free(m->info.cwd);
	free(m);
}
