/* Between the glibc heap annotator's files: glibc_heaps.c (the brk heap,
 * the arenas' heaps) and glibc_mmapped.c (large chunks with mappings of
 * their own). */
#ifndef VMATLAS_ANNOTATE_GLIBC_HEAPS_H
#define VMATLAS_ANNOTATE_GLIBC_HEAPS_H

#include "annotate.h"
#include "vmatlas/heap.h"

/* malloc's own facts (vm_heap_facts), asked once when needed */
typedef struct heap_ctx {
	bool asked;
	vm_heap_facts f;
} heap_ctx;

const vm_heap_facts *glh_facts(map_builder *b, heap_ctx *c);

static inline bool glh_anon_private(const vm_region *r)
{
	return r->state != VM_STATE_FREE && !r->path && !(r->prot & VM_PROT_SHARED);
}

static inline bool glh_rw(const vm_region *r)
{
	return (r->prot & (VM_PROT_READ | VM_PROT_WRITE)) == (VM_PROT_READ | VM_PROT_WRITE);
}

/* whether the page at `at` of r may hold something written (a page that
 * is neither in memory nor in swap reads as zeros, and reading it would
 * fault it into the target) */
bool glh_maybe_written(map_builder *b, const vm_region *r, uint64_t at);

/* the large chunks malloc mmapped, found by their headers; the map split
 * so that each is an allocation of its own */
void glh_mmapped_chunks(map_builder *b, heap_ctx *c);

#endif
