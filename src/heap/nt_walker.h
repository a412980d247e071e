/* The NT heap walk's internals, shared by its files: the discovery of
 * the heaps and Wine 8's layout (nt.c), Windows' own (nt_win.c). */
#ifndef VMATLAS_HEAP_NT_WALKER_H
#define VMATLAS_HEAP_NT_WALKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmatlas/heap.h"
#include "vmatlas/reader.h"

#define REGION_ALIGN 0x10000ull
#define HEAP_SIGNATURE 0xffeeffeeu /* a heap segment's, two words in (Windows and Wine) */
#define MAX_HEAPS 4096
#define MAX_SEGS 65536          /* per heap */
#define MAX_BLOCKS (1u << 24)   /* per segment */
#define MAX_PROBLEMS 1000
#define MAX_PEB_HEAPS 4096
#define MAX_LFH_RUNS (1u << 22) /* LFH user blocks kept, all heaps */


/* the layouts told apart by their signatures */
enum { NT_LAYOUT_NONE, NT_LAYOUT_WINE8, NT_LAYOUT_WINDOWS };

typedef struct ntw {
	const vm_map *m;
	vm_target *t;
	vm_reader rd;
	const struct wine_layout *L; /* Wine's layout; NULL-free: set for both */
	unsigned flags;
	vm_heap_report *r;
	size_t acap, scap;
	uint64_t peb; /* 0: no TEB in memory names one */
	int layout;   /* NT_LAYOUT_*, of the first heap found: the others must agree */
} ntw;

void nt_problem(ntw *k, uint64_t addr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool nt_word(ntw *k, uint64_t addr, uint64_t *v);
bool nt_u32(ntw *k, uint64_t addr, uint32_t *v);
/* the next link of a doubly linked list, checked against its back link */
bool nt_next_link(ntw *k, uint64_t link, uint64_t *next);
vm_heap_seg *nt_new_seg(ntw *k, const char *kind, int ai, uint64_t base, uint64_t size, uint64_t committed);
/* the block counted; its chunk when the report keeps them, else NULL */
vm_chunk *nt_add_block(ntw *k, vm_heap_seg *g, vm_arena *a, uint64_t addr, uint64_t size, bool busy, uint32_t hdr,
		       uint64_t usize);

/* Windows' NT heap (nt_win.c): is there one at addr; walk heap ai */
bool nt_win_is_heap(ntw *k, uint64_t addr);
void nt_win_walk_heap(ntw *k, int ai);
/* a busy block's user data (nt_lfh.c): the LFH's user blocks are counted
 * on the heap and named on the chunk c (may be NULL) */
void nt_lfh_user_blocks(ntw *k, vm_arena *a, uint64_t user, uint64_t usize, vm_chunk *c);

#endif
