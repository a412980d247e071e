/* The glibc heap walk's internals, shared by its files: the walker, its
 * window cache over target memory (glibc_mem.c), the tcaches
 * (glibc_tcache.c) and the walk itself (glibc.c). */
#ifndef VMATLAS_HEAP_GLIBC_WALKER_H
#define VMATLAS_HEAP_GLIBC_WALKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmatlas/heap.h"
#include "base/bytes.h"
#include "vmatlas/layout.h"

#define NBINS 128
#define TCACHE_BINS 64
#define MAX_ARENAS 1024
#define MAX_LIST (1u << 22)

typedef struct layout {
	size_t w;            /* SIZE_SZ */
	uint64_t align;      /* MALLOC_ALIGNMENT */
	uint64_t minsize;
	uint64_t heap_max;   /* HEAP_MAX_SIZE */
	int nfastbins;       /* 10 on 64-bit, 11 on i386 */
	/* malloc_state's fields, and its size */
	size_t off_fastbins, off_top, off_bins, off_next, off_system_mem, state_size;
	/* heap_info's, tcache_perthread_struct's */
	size_t off_ar_ptr, off_prev, off_hsize, off_entries, tcache_size;
	/* malloc_chunk's links */
	size_t off_fd, off_bk;
	bool u16_counts;
	bool safe_linking;
	/* malloc_par's (mp_) */
	size_t off_n_mmaps, off_mmapped_mem, off_sbrk_base;
} layout;

typedef struct free_mark {
	uint64_t addr;
	vm_bin bin;
	int index;
	int arena;
} free_mark;

/* Target memory is read once, in aligned windows of WIN_SIZE bytes
 * (cut to the region that holds them), and kept: free lists jump all
 * over a heap, and a read per link is a system call per chunk. What is
 * kept is bounded by CACHE_BUDGET; past it, reads go through one scratch
 * window of SCRATCH bytes that each miss refills (a sequential walk
 * still reads in blocks; a list jumping about costs a small read per
 * link, never a megabyte). */
#define WIN_SHIFT 20
#define WIN_SIZE ((uint64_t)1 << WIN_SHIFT)
#define CACHE_BUDGET ((uint64_t)512 << 20)
#define SCRATCH ((uint64_t)64 << 10)

typedef struct win {
	uint64_t key;   /* address >> WIN_SHIFT, plus one: 0 is an empty slot */
	uint64_t base;  /* what the window holds: [base, base + len) */
	size_t len;
	uint8_t *data;  /* NULL: nothing readable there */
} win;

typedef struct win_cache {
	win *slot;      /* open addressing, a power of two */
	size_t nslot, used;
	uint64_t bytes;
	win scratch;    /* past the budget */
} win_cache;

typedef struct walker {
	const vm_map *m;
	vm_target *t;
	vm_reader rd;
	vm_symbolizer *s;
	layout L;
	unsigned flags;
	vm_heap_report *r;
	free_mark *marks;
	size_t nmarks, mcap;
	win_cache wc;
	const win *last; /* the window read last: walks are mostly sequential */
	size_t mcur;     /* where find_mark looked last */
	/* the brk heap: [brk_lo, brk_hi), brk_lo where malloc's chunks begin
	 * when mp_.sbrk_base says so (brk_exact) */
	uint64_t brk_lo, brk_hi;
	bool brk_exact;
	uint64_t mp;    /* mp_, 0 unknown */
} walker;

void gw_problem(walker *k, uint64_t addr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool gw_in_brk(const walker *k, uint64_t addr);
void gw_walk_single(walker *k, uint64_t first, size_t link, uint64_t chunk_delta, vm_bin bin, int index,
		    int arena, const char *name);
void gw_cache_clear(win_cache *c);
const win *gw_window_of(walker *k, uint64_t addr);
void gw_walk_tcache(walker *k, uint64_t tc, int ai);
int gw_arena_index_of(walker *k, uint64_t addr);
void gw_find_tcaches(walker *k, const vm_module *libc);
void gw_find_tcaches_static(walker *k);
void gw_scan_tcaches(walker *k, bool is_static);
uint64_t gw_brk_start(walker *k, const vm_arena *a, bool is_static);

/* the hot reads, inline: a word of the walk, most often from the
 * window read last */
static inline bool gw_rd(walker *k, uint64_t addr, uint64_t *v)
{
	const win *w = k->last;
	if (w && w->data && addr >= w->base && addr - w->base < w->len && w->len - (addr - w->base) >= k->L.w) {
		*v = ld_word(w->data + (addr - w->base), k->L.w);
		return true;
	}
	k->last = w = gw_window_of(k, addr);
	if (w->data && addr >= w->base && addr - w->base <= w->len && w->len - (addr - w->base) >= k->L.w) {
		*v = ld_word(w->data + (addr - w->base), k->L.w);
		return true;
	}
	/* across a window's edge, or where the region table has no say */
	return vm_reader_word(&k->rd, addr, k->L.w, v);
}

/* MALLOC_ALIGNMENT applies to user memory, two words into the chunk
 * (on i386 the chunks themselves are 8 mod 16) */
static inline bool gw_chunk_aligned(const walker *k, uint64_t chunk)
{
	return (chunk + 2 * k->L.w) % k->L.align == 0;
}

static inline uint64_t gw_reveal(const walker *k, uint64_t pos, uint64_t v)
{
	return k->L.safe_linking ? (pos >> 12) ^ v : v;
}

#endif
