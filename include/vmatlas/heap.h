/* The heap, block by block: glibc malloc (ptmalloc) walked from target
 * memory. Arenas, their heaps, every chunk with its size and state, and
 * for free chunks the list that holds them (tcache, fastbin, unsorted,
 * small, large). Damaged headers and lists are reported, never followed
 * into a loop or a crash. */
#ifndef VMATLAS_HEAP_H
#define VMATLAS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap_report.h"
#include "map.h"
#include "symbols.h"
#include "target.h"

/* What the map needs from malloc before any walk: the brk heap as malloc
 * sees it (mp_.sbrk_base, or the region holding the main arena's top, to
 * the end of its region), and mp_'s count of mmapped chunks. */
typedef struct vm_heap_facts {
	bool glibc;           /* main_arena was found */
	bool brk_known;       /* the arena says where the brk heap is */
	uint64_t brk_lo, brk_hi;
	bool mmaps_known;     /* mp_ was found (libc's symbols) */
	uint32_t n_mmaps;     /* mp_.n_mmaps: chunks malloc mmapped */
	uint64_t mmapped_mem; /* and their bytes */
} vm_heap_facts;

bool vm_heap_facts_get(const vm_map *m, vm_target *t, vm_symbolizer *s, vm_heap_facts *f);

/* glibc malloc on Linux; the NT heap on Windows (vm_nt_heap_walk) */
int vm_heap_walk(const vm_map *m, vm_target *t, vm_symbolizer *s, unsigned flags, vm_heap_report *out);

/* The NT heaps of a Windows process, from its memory: the process heap
 * and the PEB's list, the heaps linked from the process heap, and every
 * heap found by its signature; per heap its segments, blocks (busy and
 * free) and large blocks. The layout is detected by its signatures (Wine
 * 8's heap.c today); an unknown one is a note, never a guess. */
int vm_nt_heap_walk(const vm_map *m, vm_target *t, unsigned flags, vm_heap_report *out);

#endif
