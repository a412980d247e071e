/* Building the map: target -> raw regions -> annotators -> allocations. */
#include "vmatlas/map.h"

#include <stdlib.h>
#include <string.h>

#include "annotate/annotate.h"
#include "base/util.h"
#include "vmatlas/error.h"

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
		/* no process has user memory above 2^56 (57-bit addresses with
		 * 5-level paging; 2^32 for 32-bit ones): a file that says so is
		 * cut there; the kernel's own pages at the top (vsyscall) are not
		 * user memory and stay */
		uint64_t limit = m->info.bits == 32 ? 1ull << 32 : (1ull << 56) - m->info.page_size;
		if (raw[i].type != VM_TYPE_SPECIAL && end >= limit) {
			if (raw[i].base >= limit) {
				vm_map_warn(m, "region at 0x%llx lies past the top of the address space: left out",
					    (unsigned long long)raw[i].base);
				vm_region one = raw[i];
				vm_regions_free_contents(&one);
				continue;
			}
			vm_map_warn(m, "region at 0x%llx (size 0x%llx) runs past the top of the address space: cut "
				       "at 0x%llx",
				    (unsigned long long)raw[i].base, (unsigned long long)raw[i].size,
				    (unsigned long long)limit);
			raw[i].size = limit - raw[i].base;
			if (raw[i].held > raw[i].size)
				raw[i].held = raw[i].size;
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
	/* a gap before each region and one after the last, at most: the
	 * array is made once (20,000 regions of a few hundred bytes each
	 * were copied on every growth) */
	size_t cap = 2 * n + 1;
	vm_region *out = xmalloc(cap * sizeof *out);
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
	if (!(vm_target_caps(t) & VM_CAP_PAGES)) {
		vm_map_warn(m, "this target has no per-page information");
		return;
	}
	uint64_t pg = m->info.page_size; /* set by vm_map_build */
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
		if (vm_target_pages(t, r->base, r->size / pg, &r->runs, &r->nruns, &r->pages) < 0)
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

vm_map *vm_map_build(vm_target *t, const vm_map_options *opt)
{
	static const vm_map_options defaults;
	if (!opt)
		opt = &defaults;
	vm_map *saved;
	int rc = vm_map_saved(t, &saved);
	if (rc <= 0)
		return saved; /* NULL with the error set when damaged */
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
	m->info.win.csd = info.win.csd ? xstrdup(info.win.csd) : NULL;
	m->info.warnings = NULL;
	for (const char *w = info.warnings; w && *w;) {
		size_t len = strcspn(w, ";");
		vm_map_warn(m, "%.*s", (int)len, w);
		w += len;
		while (*w == ';' || *w == ' ')
			w++;
	}
	/* every consumer of the map relies on a page size (targets and
	 * snapshots give a power of two or none) */
	if (!m->info.page_size)
		m->info.page_size = 4096;

	if (opt->freeze && (vm_target_caps(t) & VM_CAP_FREEZE)) {
		if (vm_target_freeze(t) < 0) {
			vm_map_free(m);
			return NULL;
		}
		m->frozen = true;
	}

	vm_region *raw;
	size_t nraw;
	if (vm_target_regions(t, opt->no_stats ? 0 : VM_REGIONS_STATS, &raw, &nraw) < 0)
		goto fail;
	add_free_gaps(m, raw, nraw);
	map_builder b = { .m = m, .t = t, .opt = opt };
	/* before anything reads the target: a read of a file page (an
	 * image's headers) brings it into the process */
	if (opt->pages)
		load_pages(&b);
	check_memory_readable(m, t);

	if (vm_target_threads(t, opt->stacks ? VM_THREADS_STACKS : 0, &m->threads, &m->nthreads) < 0) {
		vm_map_warn(m, "threads: %s", vm_error());
		m->incomplete = true;
	}

	b.group = xmalloc(m->nregions * sizeof *b.group);
	for (size_t i = 0; i < m->nregions; i++)
		b.group[i] = -1;
	annotate_run(&b, ANN_REGIONS);
	mb_group_rest(&b);
	mb_make_allocations(&b);
	vm_map_sort_modules(m);
	vm_map_sort_contents(m);
	annotate_run(&b, ANN_MAP);
	for (size_t i = 0; i < b.ngroups; i++)
		free(b.groups[i].details);
	free(b.groups);
	free(b.group);

	if (m->frozen)
		vm_target_thaw(t);
	return m;
fail:
	if (m->frozen)
		vm_target_thaw(t);
	vm_map_free(m);
	return NULL;
}

