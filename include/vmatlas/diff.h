/* What changed between two snapshots of a process: regions added,
 * removed, resized, re-protected; modules loaded and unloaded; threads
 * started and ended; heaps grown or shrunk and, when both hold their
 * chunks, the blocks allocated and freed; with page hashes, the pages
 * whose contents changed. */
#ifndef VMATLAS_DIFF_H
#define VMATLAS_DIFF_H

#include "snapshot.h"

#define VM_CHG_SIZE 0x1u
#define VM_CHG_PROT 0x2u
#define VM_CHG_STATE 0x4u
#define VM_CHG_PATH 0x8u

typedef struct vm_region_change {
	const vm_region *a, *b;
	unsigned what;
} vm_region_change;

typedef struct vm_arena_change {
	const vm_arena *a, *b; /* either may be NULL: an arena born or gone */
} vm_arena_change;

typedef struct vm_range {
	uint64_t addr, size;
	const vm_region *region; /* in the second snapshot */
} vm_range;

typedef struct vm_diff {
	const vm_region **added, **removed;
	size_t nadded, nremoved, acap, rcap;
	vm_region_change *changed;
	size_t nchanged, ccap;
	const vm_module **loaded, **unloaded;
	size_t nloaded, nunloaded, lcap, ucap;
	const vm_thread **started, **ended;
	size_t nstarted, nended, scap, ecap;
	vm_arena_change *arenas;
	size_t narenas, arcap;
	bool have_chunks;
	const vm_chunk **allocated, **freed; /* allocated: in b; freed: in a */
	size_t nallocated, nfreed, alcap, frcap;
	bool have_pages;
	vm_range *pages;
	size_t npages, pcap;
	uint64_t pages_bytes;
} vm_diff;

void vm_diff_compute(const vm_snapshot *a, const vm_snapshot *b, vm_diff *out);
void vm_diff_free(vm_diff *d);

#endif
