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

/* The brk heap as malloc sees it (mp_.sbrk_base, or the region holding
 * the main arena's top): [lo, hi) to the end of its region. False when
 * the arena cannot tell, or there is no glibc heap. */
bool vm_heap_brk(const vm_map *m, vm_target *t, vm_symbolizer *s, uint64_t *lo, uint64_t *hi);

int vm_heap_walk(const vm_map *m, vm_target *t, vm_symbolizer *s, unsigned flags, vm_heap_report *out);

#endif
