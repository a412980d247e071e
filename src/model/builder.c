/* The map builder's primitives: groups of regions, claims, modules. The
 * annotators (src/annotate/) use them; the pipeline runs them. */
#include "model/builder.h"

#include <string.h>

#include "base/util.h"

int mb_group_new(map_builder *b, vm_usage usage, const char *details)
{
	mb_group *g = ARRAY_PUSH(b->groups, b->ngroups, b->gcap);
	g->usage = usage;
	g->details = details ? xstrdup(details) : NULL;
	g->heuristic = false;
	return (int)(b->ngroups - 1);
}

bool mb_claim(map_builder *b, size_t ri, int gid)
{
	if (ri >= b->m->nregions || b->group[ri] >= 0 || b->m->regions[ri].state == VM_STATE_FREE)
		return false;
	b->group[ri] = gid;
	return true;
}

void mb_reclaim(map_builder *b, size_t ri, int gid)
{
	if (ri < b->m->nregions && b->m->regions[ri].state != VM_STATE_FREE)
		b->group[ri] = gid;
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


/* a region's page totals from its runs, counted as the targets count
 * them (src/target/linux/pagemap.c, windows/win_ws.c) */
static void runs_count(vm_region *r, uint64_t pg)
{
	vm_page_counts *c = &r->pages;
	c->present = c->swapped = c->exclusive = c->shared = 0;
	for (size_t i = 0; i < r->nruns; i++) {
		const vm_page_run *x = &r->runs[i];
		uint64_t n = x->count;
		if (x->addr < r->base || x->addr - r->base >= r->size)
			continue;
		if (n > (r->base + r->size - x->addr) / pg)
			n = (r->base + r->size - x->addr) / pg;
		if (x->flags & VM_PAGE_PRESENT) {
			c->present += n;
			if (x->mapcount > 1 || (x->mapcount < 0 && !(x->flags & VM_PAGE_EXCLUSIVE)))
				c->shared += n;
			if (x->flags & VM_PAGE_EXCLUSIVE)
				c->exclusive += n;
		}
		if (x->flags & VM_PAGE_SWAPPED)
			c->swapped += n;
	}
}

/* Split region ri at `at` (page aligned, inside it) into two regions with
 * the same attributes, for a VMA that holds two mappings the kernel
 * merged (an mmapped malloc chunk beside other anonymous memory). The
 * contents go with the piece their start is in; the statistics are the
 * whole VMA's, so they are divided: `first_share` (0..1, of the RSS and
 * of every other count) goes to the first piece. Returns the index of
 * the second piece, or (size_t)-1 when `at` does not split ri. Indexes
 * of later regions move up by one. */
size_t mb_split(map_builder *b, size_t ri, uint64_t at, double first_share)
{
	vm_map *m = b->m;
	if (ri >= m->nregions)
		return (size_t)-1;
	vm_region *r = &m->regions[ri];
	uint64_t pg = m->info.page_size ? m->info.page_size : 4096;
	if (at <= r->base || at - r->base >= r->size || at % pg)
		return (size_t)-1;
	m->regions = xrealloc(m->regions, (m->nregions + 1) * sizeof *m->regions);
	b->group = xrealloc(b->group, (m->nregions + 1) * sizeof *b->group);
	memmove(&m->regions[ri + 2], &m->regions[ri + 1], (m->nregions - ri - 1) * sizeof *m->regions);
	memmove(&b->group[ri + 2], &b->group[ri + 1], (m->nregions - ri - 1) * sizeof *b->group);
	m->nregions++;
	r = &m->regions[ri];
	vm_region *s = &m->regions[ri + 1];
	*s = *r;
	r->flags |= VM_RF_SPLIT; /* s goes on where r went on */
	b->group[ri + 1] = b->group[ri];
	uint64_t head = at - r->base;
	s->base = at;
	s->size = r->size - head;
	r->size = head;
	s->path = r->path ? xstrdup(r->path) : NULL;
	s->offset = r->offset + (r->path && r->path[0] == '/' ? head : 0);
	if (r->flags & VM_RF_PART_DATA) {
		/* a file target holds the first `held` bytes */
		s->held = r->held > head ? r->held - head : 0;
		r->held = r->held < head ? r->held : head;
		if (s->held == 0) {
			s->flags = (s->flags & ~VM_RF_PART_DATA) | VM_RF_NO_DATA;
		} else if (s->held >= s->size) {
			s->flags &= ~VM_RF_PART_DATA;
			s->held = s->size;
		}
		if (r->held >= r->size) {
			r->flags &= ~VM_RF_PART_DATA;
			r->held = r->size;
		}
	} else {
		s->held = r->held > head ? r->held - head : 0;
		r->held = r->held < head ? r->held : head;
	}
	/* contents: by where they start */
	s->contents = NULL;
	s->ncontents = s->ccap = 0;
	size_t keep = 0;
	for (size_t i = 0; i < r->ncontents; i++) {
		vm_content *c = &r->contents[i];
		if (c->addr >= at)
			*ARRAY_PUSH(s->contents, s->ncontents, s->ccap) = *c;
		else
			r->contents[keep++] = *c;
	}
	r->ncontents = keep;
	/* per-page runs: cut the one that spans `at` */
	s->runs = NULL;
	s->nruns = 0;
	if (r->nruns) {
		vm_page_run *a = r->runs;
		size_t n = r->nruns, na = 0;
		s->runs = xcalloc(n, sizeof *s->runs);
		for (size_t i = 0; i < n; i++) {
			vm_page_run x = a[i];
			uint64_t end = x.addr + x.count * pg;
			if (end <= at) {
				a[na++] = x;
			} else if (x.addr >= at) {
				s->runs[s->nruns++] = x;
			} else {
				vm_page_run y = x;
				x.count = (at - x.addr) / pg;
				y.addr = at;
				y.count -= x.count;
				a[na++] = x;
				s->runs[s->nruns++] = y;
			}
		}
		r->nruns = na;
	}
	if (first_share < 0 || first_share > 1)
		first_share = (double)head / (double)(head + s->size);
#define SHARE(f)                                                       \
	do {                                                           \
		uint64_t whole = r->f;                                 \
		r->f = (uint64_t)((double)whole * first_share / (double)pg + 0.5) * pg; \
		if (r->f > whole)                                      \
			r->f = whole;                                  \
		s->f = whole - r->f;                                   \
	} while (0)
	if (r->stats.valid) {
		SHARE(stats.rss);
		SHARE(stats.shared_clean);
		SHARE(stats.shared_dirty);
		SHARE(stats.private_clean);
		SHARE(stats.private_dirty);
		SHARE(stats.swap);
		SHARE(stats.locked);
		SHARE(stats.lx.pss);
		SHARE(stats.lx.pss_dirty);
		SHARE(stats.lx.referenced);
		SHARE(stats.lx.anonymous);
		SHARE(stats.lx.lazyfree);
		SHARE(stats.lx.ksm);
		SHARE(stats.lx.anon_huge);
		SHARE(stats.lx.swap_pss);
	}
#undef SHARE
#define SHARE(f)                                                       \
	do {                                                           \
		uint64_t whole = r->f;                                 \
		r->f = (uint64_t)((double)whole * first_share + 0.5);  \
		if (r->f > whole)                                      \
			r->f = whole;                                  \
		s->f = whole - r->f;                                   \
	} while (0)
	if (r->pages.valid && (r->nruns || s->nruns)) {
		/* the per-page runs say exactly what each piece holds */
		runs_count(r, pg);
		runs_count(s, pg);
	} else if (r->pages.valid) {
		SHARE(pages.present);
		SHARE(pages.swapped);
		SHARE(pages.exclusive);
		SHARE(pages.shared);
	}
#undef SHARE
	return ri + 1;
}
