/* Everything vmatlas knows about one address: its region and allocation,
 * module, section and symbol, the heap chunk holding it (and whether it
 * is free), the thread stack it is on, the system data it belongs to,
 * and for a C++ object its class, from the vtable's typeinfo. */
#ifndef VMATLAS_WHATIS_H
#define VMATLAS_WHATIS_H

#include "heap.h"
#include "map.h"
#include "symbols.h"

typedef struct vm_whatis {
	uint64_t addr;
	const vm_region *region;
	const vm_alloc *alloc;
	vm_symbol_info sym;
	const vm_content **items; /* contents of the region that hold addr */
	size_t nitems;
	const vm_chunk *chunk;    /* the heap chunk holding it, or NULL */
	int chunk_arena;
	bool chunk_mmapped;
	const vm_thread *stack_of;
	bool in_use_stack;        /* at or above the thread's sp */
	char *class_name;         /* a C++ object's class, or NULL */
	uint64_t object, vtable;
} vm_whatis;

/* heap may be NULL (no chunk answers then) */
void vm_whatis_query(const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_heap_report *heap,
		     uint64_t addr, vm_whatis *out);
void vm_whatis_free(vm_whatis *w);

#endif
