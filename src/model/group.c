/* Allocations: which regions one mapping made.
 *
 * Windows records this (AllocationBase), and where a target gives it
 * (a minidump's MemoryInfoList) it alone draws the allocations; Linux
 * does not: the kernel
 * merges and splits VMAs and forgets where an mmap began. So annotators
 * claim what they can prove (an image's extent, a stack and its guard, a
 * heap and its reserved tail, a large malloc chunk), and the rules here
 * group the rest; those groups are marked heuristic:
 *  - a file mapping split by mprotect: adjacent pieces of the same file
 *    with contiguous offsets;
 *  - anonymous memory: two adjacent anonymous pieces with the same
 *    protection are separate mmaps (the kernel merges neighbours whose
 *    flags agree: they differ in what /proc does not show, such as
 *    accounting, or were never one), so a run of adjacent anonymous
 *    pieces is cut wherever the protection repeats; what is left between
 *    the cuts alternates protections, which is what mprotect makes of one
 *    mapping: a guard below ([---][rw-], the guard no bigger than what it
 *    guards), a reserved tail ([rw-][---]), a re-protected middle
 *    ([rw-][r--][rw-]). Each such run is one allocation. */
#include <stdlib.h>
#include <string.h>

#include "model/builder.h"
#include "base/strbuf.h"
#include "base/util.h"

static bool is_file(const vm_region *r)
{
	return r->path && r->path[0] == '/' && r->type != VM_TYPE_SPECIAL;
}

static bool is_anon(const vm_region *r)
{
	return r->state != VM_STATE_FREE && (!r->path || (r->flags & VM_RF_ANON_NAME));
}

static bool same_anon_kind(const vm_region *a, const vm_region *b)
{
	if ((a->prot & VM_PROT_SHARED) != (b->prot & VM_PROT_SHARED))
		return false;
	if (!a->path || !b->path)
		return a->path == b->path;
	return strcmp(a->path, b->path) == 0;
}

static bool adjacent(const vm_region *a, const vm_region *b)
{
	return a->base + a->size == b->base;
}

static uint32_t access_bits(const vm_region *r)
{
	return r->prot & (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC);
}

/* g below r: a PROT_NONE start is a guard only when it is no bigger
 * than what it guards (a big reservation below is another mapping) */
static bool guard_below(const vm_region *g, const vm_region *r)
{
	return access_bits(g) != 0 || g->size <= r->size;
}

static vm_usage default_usage(const vm_region *first, size_t n)
{
	bool any_commit = false;
	for (size_t i = 0; i < n; i++)
		if (first[i].state == VM_STATE_COMMIT)
			any_commit = true;
	switch (first->type) {
	case VM_TYPE_IMAGE: return VM_USAGE_IMAGE;
	case VM_TYPE_MAPPED: return VM_USAGE_MAPPED;
	case VM_TYPE_SHAREABLE: return VM_USAGE_SHAREABLE;
	case VM_TYPE_SPECIAL: return VM_USAGE_SYSTEM;
	default: break;
	}
	return any_commit ? VM_USAGE_PRIVATE : VM_USAGE_RESERVED;
}

static char *default_details(const vm_region *r)
{
	if (!r->path)
		return NULL;
	if (r->flags & VM_RF_DELETED)
		return xasprintf("%s (deleted)", r->path);
	return xstrdup(r->path);
}

void mb_group_rest(map_builder *b)
{
	vm_map *m = b->m;
	vm_region *R = m->regions;
	size_t n = m->nregions;
	for (size_t i = 0; i < n; i++) {
		if (b->group[i] >= 0 || R[i].state == VM_STATE_FREE)
			continue;
		size_t j = i; /* last region of the group */
		if (is_file(&R[i])) {
			while (j + 1 < n && b->group[j + 1] < 0 && is_file(&R[j + 1]) &&
			       adjacent(&R[j], &R[j + 1]) && R[j + 1].lx.inode == R[i].lx.inode &&
			       R[j + 1].lx.dev_major == R[i].lx.dev_major &&
			       R[j + 1].lx.dev_minor == R[i].lx.dev_minor &&
			       strcmp(R[j + 1].path, R[i].path) == 0 &&
			       R[j].offset + R[j].size == R[j + 1].offset)
				j++;
		} else if (is_anon(&R[i])) {
			/* extend while the protection changes from piece to piece */
			while (j + 1 < n && b->group[j + 1] < 0 && is_anon(&R[j + 1]) && adjacent(&R[j], &R[j + 1]) &&
			       same_anon_kind(&R[i], &R[j + 1]) && access_bits(&R[j + 1]) != access_bits(&R[j]) &&
			       !(j == i && !guard_below(&R[j], &R[j + 1])))
				j++;
		}
		char *det = default_details(&R[i]);
		int gid = mb_group_new(b, default_usage(&R[i], j - i + 1), det);
		b->groups[gid].heuristic = true;
		free(det);
		for (size_t k = i; k <= j; k++)
			mb_claim(b, k, gid);
		i = j;
	}
}

void mb_make_allocations(map_builder *b)
{
	vm_map *m = b->m;
	size_t cap = 0;
	for (size_t i = 0; i < m->nregions;) {
		vm_region *r = &m->regions[i];
		size_t j = i + 1;
		vm_alloc *a = ARRAY_PUSH(m->allocs, m->nallocs, cap);
		memset(a, 0, sizeof *a);
		if (r->state == VM_STATE_FREE) {
			a->usage = VM_USAGE_FREE;
		} else {
			int gid = b->group[i];
			uint64_t ab = r->win.alloc_base;
			if (ab) {
				/* Windows says which allocation each region is
				 * of: that is the allocation, whoever claimed its
				 * regions; its use is the first claim (an
				 * annotator's, before the default groups) */
				while (j < m->nregions && m->regions[j].state != VM_STATE_FREE &&
				       m->regions[j].win.alloc_base == ab && adjacent(&m->regions[j - 1], &m->regions[j])) {
					if (b->group[j] >= 0 && b->group[j] < gid)
						gid = b->group[j];
					j++;
				}
			} else {
				while (j < m->nregions && b->group[j] == gid && !m->regions[j].win.alloc_base &&
				       adjacent(&m->regions[j - 1], &m->regions[j]))
					j++;
			}
			const mb_group *g = &b->groups[gid];
			a->usage = g->usage;
			a->grouping = g->heuristic ? VM_GROUPING_HEURISTIC : VM_GROUPING_EXACT;
			a->details = g->details ? xstrdup(g->details) : NULL;
		}
		a->base = r->base;
		a->first = i;
		a->count = j - i;
		const vm_region *last = &m->regions[j - 1];
		a->size = last->base + last->size - r->base;
		for (size_t k = i; k < j; k++) {
			m->regions[k].alloc = m->nallocs - 1;
			m->regions[k].usage = a->usage;
		}
		i = j;
	}
}
