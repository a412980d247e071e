/* The NT heaps on the map (Windows targets): each segment and each large
 * block of every heap the walk finds (heap/nt.c, without its blocks),
 * labelled on its regions and made an allocation of usage heap where no
 * other annotator claimed it (the PEB's heaps are claimed before, and
 * their items, "process heap" and "heap N", become the segments': one
 * label each). */
#include "annotate.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "vmatlas/heap.h"

/* the item at addr (the PEB's "process heap", "heap N": their names
 * kept), or a new one: a heap is labelled once */
static void label(vm_region *reg, uint64_t addr, uint64_t size, const char *name, const char *detail)
{
	for (size_t k = 0; k < reg->ncontents; k++) {
		vm_content *c = &reg->contents[k];
		if (c->kind == VM_CK_HEAP && c->addr == addr) {
			free(c->detail);
			c->detail = xstrdup(detail);
			c->size = size;
			return;
		}
	}
	vm_region_add_content(reg, VM_CK_HEAP, addr, size, name, detail);
}

static void place(map_builder *b, const vm_heap_report *r, const vm_heap_seg *g, size_t nth)
{
	vm_map *m = b->m;
	const vm_arena *a = &r->arenas[g->arena];
	bool large = g->kind[0] == 'l';
	char name[96], detail[160];
	if (large)
		snprintf(name, sizeof name, "NT heap 0x%llx, large block", (unsigned long long)a->addr);
	else
		snprintf(name, sizeof name, "NT heap 0x%llx, segment %zu", (unsigned long long)a->addr, nth);
	int gid = -1;
	for (size_t i = mb_find(b, g->base); i != (size_t)-1 && i < m->nregions; i++) {
		vm_region *reg = &m->regions[i];
		if (reg->base >= g->base + g->size || reg->state == VM_STATE_FREE)
			break;
		if (reg->base < g->base && i != mb_find(b, g->base))
			break;
		if (!mb_claimed(b, i)) {
			if (gid < 0)
				gid = mb_group_new(b, VM_USAGE_HEAP, name);
			mb_claim(b, i, gid);
		}
		uint64_t lo = reg->base > g->base ? reg->base : g->base;
		uint64_t hi = reg->base + reg->size < g->base + g->size ? reg->base + reg->size : g->base + g->size;
		if (lo == g->base) {
			if (large)
				snprintf(detail, sizeof detail, "heap %d: a large heap block, a mapping of its own",
					 g->arena);
			else
				snprintf(detail, sizeof detail, "heap %d%s, %s; %llu bytes committed",
					 g->arena, a->main ? " (the process heap)" : "", a->source,
					 (unsigned long long)g->committed);
			label(reg, lo, hi - lo, name, detail);
		} else {
			vm_region_add_content(reg, VM_CK_HEAP, lo, hi - lo, name, "continued");
		}
	}
}

void ann_nt_heaps(map_builder *b)
{
	vm_heap_report r;
	vm_nt_heap_walk(b->m, b->t, VM_HEAP_NO_BLOCKS, &r);
	size_t *nth = r.narenas ? calloc(r.narenas, sizeof *nth) : NULL;
	for (size_t i = 0; i < r.nsegs && nth; i++) {
		const vm_heap_seg *g = &r.segs[i];
		if (g->arena >= 0 && (size_t)g->arena < r.narenas)
			place(b, &r, g, g->kind[0] == 'l' ? 0 : nth[g->arena]++);
	}
	free(nth);
	vm_heap_report_free(&r);
}
