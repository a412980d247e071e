/* The heap pass: glibc malloc walked once the map stands (the walk needs
 * the modules and the regions), its report kept on the map, and each
 * arena's heap segments labelled on their regions. */
#include "annotate/annotate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/heap.h"
#include "vmatlas/symbols.h"

/* an NT heap segment's item at addr (annotate/nt_heaps.c, windows.c) */
static vm_content *nt_item(vm_region *reg, uint64_t addr)
{
	for (size_t k = 0; k < reg->ncontents; k++)
		if (reg->contents[k].kind == VM_CK_HEAP && reg->contents[k].addr == addr)
			return &reg->contents[k];
	return NULL;
}

/* a glibc arena heap's item (glibc_heaps.c) naming arena addr */
static bool names_arena(const vm_region *reg, uint64_t addr)
{
	char want[32];
	snprintf(want, sizeof want, "arena 0x%llx,", (unsigned long long)addr);
	for (size_t k = 0; k < reg->ncontents; k++)
		if (reg->contents[k].kind == VM_CK_HEAP && reg->contents[k].detail &&
		    !strncmp(reg->contents[k].detail, want, strlen(want)))
			return true;
	return false;
}

void ann_heap_place(vm_map *m, const vm_heap_report *r)
{
	for (size_t i = 0; i < r->nsegs; i++) {
		const vm_heap_seg *s = &r->segs[i];
		if (s->arena < 0)
			continue;
		const vm_region *cr = vm_map_region_at(m, s->base);
		if (!cr)
			continue;
		vm_region *reg = &m->regions[cr - m->regions];
		char name[64], detail[160];
		bool nt = r->kind == VM_HEAP_NT;
		snprintf(name, sizeof name, nt ? "NT heap %d blocks" : "malloc arena %d", s->arena);
		snprintf(detail, sizeof detail, "%s 0x%llx: %zu %s in use (%llu bytes), %zu free (%llu bytes)%s",
			 nt ? "heap" : "arena", (unsigned long long)r->arenas[s->arena].addr, s->nused,
			 nt ? "blocks" : "chunks", (unsigned long long)s->used_bytes, s->nfree,
			 (unsigned long long)s->free_bytes, s->cut_short ? "; walk cut short by a damaged block" : "");
		vm_content *c = nt ? nt_item(reg, s->base) : NULL;
		const char *counts = strchr(detail, ':') + 2; /* without "arena 0x...: " */
		if (!nt && names_arena(reg, r->arenas[s->arena].addr)) {
			/* its region's "arena heap" item names the arena already */
			uint64_t end = reg->base + reg->size;
			vm_region_add_content(reg, VM_CK_HEAP, s->base, s->base + s->size > end ? end - s->base : s->size,
					      name, counts);
			vm_region_sort_contents(reg);
			continue;
		}
		if (c) {
			/* the segment's item (annotate/nt_heaps.c): one label */
			char *d = c->detail ? xasprintf("%s; %s", c->detail, counts) : xstrdup(detail);
			free(c->detail);
			c->detail = d;
			continue;
		}
		uint64_t end = reg->base + reg->size;
		vm_region_add_content(reg, VM_CK_HEAP, s->base, nt && s->base + s->size > end ? end - s->base : s->size,
				      name, detail);
		vm_region_sort_contents(reg);
	}
}

void ann_heap_walk(map_builder *b)
{
	vm_map *m = b->m;
	unsigned flags = b->opt->heap;
	if (!(flags & VM_MAP_HEAP) || m->heap)
		return;
	vm_symbolizer *s = vm_symbolizer_new(m, b->t, 0);
	m->heap = xcalloc(1, sizeof *m->heap);
	vm_heap_walk(m, b->t, s, flags & VM_MAP_HEAP_CHUNKS ? VM_HEAP_CHUNKS : 0, m->heap);
	vm_symbolizer_free(s);
	if (flags & VM_MAP_HEAP_PLACE)
		ann_heap_place(m, m->heap);
}
