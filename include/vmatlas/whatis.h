/* Everything vmatlas knows about one address: its region and allocation,
 * module, section and symbol, the heap chunk holding it (and whether it
 * is free), the thread stack it is on, the system data it belongs to,
 * and for a C++ object its class, from the vtable's typeinfo. */
#ifndef VMATLAS_WHATIS_H
#define VMATLAS_WHATIS_H

#include "heap.h"
#include "map.h"
#include "symbols.h"
#include "threads.h"

typedef struct vm_whatis {
	uint64_t addr;
	const vm_region *region;
	const vm_alloc *alloc;
	vm_symbol_info sym;
	const vm_content **items; /* contents of the region that hold addr */
	size_t nitems;
	const vm_chunk *chunk;    /* the heap chunk holding it, or NULL */
	int chunk_arena;
	bool chunk_mmapped;       /* glibc: an mmapped chunk; NT: a large block */
	bool chunk_nt;            /* an NT heap block (the chunk's hdr and usize say where its data is) */
	uint64_t chunk_heap;      /* the arena's or NT heap's address, 0 unknown */
	const vm_lfh_run *lfh;    /* NT: the LFH's user blocks the chunk holds, or NULL */
	const vm_thread *stack_of;
	bool in_use_stack;        /* at or above the thread's sp */
	/* the call-stack frame it is in: frame k holds [sp of k, sp of k+1) */
	bool in_frame;
	size_t frame;
	uint64_t frame_pc, frame_sp;
	const char *frame_method;
	vm_symbol_info frame_sym; /* of the call (a return address less one) */
	/* 32-bit Windows: the SEH record (EXCEPTION_REGISTRATION_RECORD) it is in */
	bool in_seh;
	size_t seh_index;
	uint64_t seh_record, seh_handler;
	char *class_name;         /* a C++ object's class, or NULL */
	uint64_t object, vtable;
} vm_whatis;

/* heap may be NULL (no chunk answers then) */
void vm_whatis_query(const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_heap_report *heap,
		     uint64_t addr, vm_whatis *out);
void vm_whatis_free(vm_whatis *w);

#endif
