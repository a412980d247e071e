/* What a heap walk found: arenas, heap segments, chunks, problems. Plain
 * data, kept on the map (vm_map.heap) and in snapshots; the walk itself
 * is in heap.h. One model for two allocators: glibc malloc (arenas, their
 * heaps, chunks) and the NT heap (heaps as arenas, their segments and
 * large blocks as segments, blocks as chunks). */
#ifndef VMATLAS_HEAP_REPORT_H
#define VMATLAS_HEAP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum vm_chunk_state { VM_CHUNK_USED, VM_CHUNK_FREE, VM_CHUNK_TOP } vm_chunk_state;

typedef enum vm_bin {
	VM_BIN_NONE,     /* in use */
	VM_BIN_TCACHE,
	VM_BIN_FAST,
	VM_BIN_UNSORTED,
	VM_BIN_SMALL,
	VM_BIN_LARGE,
	VM_BIN_TOP,
	VM_BIN_LOST,     /* free by its neighbour's bit, yet in no list */
	VM_BIN_COUNT
} vm_bin;

typedef struct vm_chunk {
	uint64_t addr;   /* the chunk header; user memory is 2 words on */
	uint64_t size;   /* without the flag bits */
	vm_chunk_state state;
	vm_bin bin;
	int bin_index;   /* tcache/fastbin/bin number, -1 none */
	uint32_t hdr;    /* NT: bytes from addr to the user data (0: glibc, 2 words) */
	uint64_t usize;  /* NT: the user's bytes (HeapSize; free: the free bytes) */
	uint32_t lfh;    /* NT: 1 + the index in the report's lfh of the front end's
			  * user blocks this busy block holds; 0 none */
} vm_chunk;

/* NT: a busy back-end block that holds the user blocks of the
 * low-fragmentation front end (Windows' _HEAP_USERDATA_HEADER), what its
 * unencoded fields say: the bucket, the blocks' size and number, and how
 * many its busy bitmap marks busy */
typedef struct vm_lfh_run {
	uint64_t block;      /* the back-end block's user data: the header */
	uint64_t subsegment; /* its _HEAP_SUBSEGMENT */
	uint32_t bucket;     /* SizeIndex */
	uint32_t block_size; /* bytes, each block with its 8-byte header */
	uint32_t blocks, busy;
} vm_lfh_run;

typedef struct vm_heap_seg {
	const char *kind; /* "brk", "heap", "mmapped"; NT: "segment", "large" */
	int arena;        /* index into arenas, -1 for mmapped chunks */
	uint64_t base, size;
	uint64_t committed; /* NT: bytes committed from base */
	vm_chunk *chunks; /* only with VM_HEAP_CHUNKS */
	size_t nchunks, ccap;
	size_t nused, nfree;
	uint64_t used_bytes, free_bytes;
	bool cut_short;   /* the walk stopped at a damaged header */
} vm_heap_seg;

typedef struct vm_arena {
	uint64_t addr;
	bool main;
	uint64_t top, top_size, system_mem;
	size_t nused, nfree;
	uint64_t used_bytes, free_bytes, largest_free;
	size_t nbin[VM_BIN_COUNT];
	uint64_t binbytes[VM_BIN_COUNT];
	/* NT heaps */
	const char *source;   /* how it was found: "peb", "peb-list", "heap-list", "scan" */
	uint32_t flags;       /* the heap's flags (HEAP_GROWABLE ...) */
	size_t nsegs, nlarge;
	uint64_t committed, reserved, large_bytes;
	/* a heap the PEB names that the walk cannot follow (a segment heap,
	 * an unknown layout, not in memory): listed, not walked, and why */
	bool unwalked;
	const char *note;     /* why it is not walked, or what the walk leaves out (the LFH) */
	/* the front end the heap's own structures name: "none", "lookaside",
	 * "lfh"; NULL unknown. With the LFH: its user blocks found, the
	 * blocks they hold and how many of those are busy */
	const char *front_end;
	size_t lfh_runs;
	uint64_t lfh_blocks, lfh_busy;
} vm_arena;

typedef struct vm_heap_problem {
	uint64_t addr;
	char *what;
} vm_heap_problem;

typedef enum vm_heap_kind { VM_HEAP_GLIBC, VM_HEAP_NT } vm_heap_kind;

typedef struct vm_heap_report {
	vm_heap_kind kind;
	bool walked;          /* a heap was found and walked */
	char *note;           /* otherwise why: another allocator, no main_arena ... */
	char version[16];     /* glibc version, "" unknown; NT: the layout ("wine-8") */
	uint64_t main_arena;  /* NT: the process heap */
	const char *main_arena_source; /* "symbol", "scan" */
	const char *tcache_source;     /* "thread_db", "scan", NULL */
	size_t ntcaches;
	vm_arena *arenas;
	size_t narenas;
	vm_heap_seg *segs;
	size_t nsegs;
	vm_heap_problem *problems;
	size_t nproblems, pcap;
	size_t mmapped_count;
	uint64_t mmapped_bytes;
	vm_lfh_run *lfh;      /* NT: the LFH's user blocks (vm_chunk.lfh) */
	size_t nlfh, lfhcap;
} vm_heap_report;

#define VM_HEAP_CHUNKS 0x1u /* keep every chunk in the report */
#define VM_HEAP_NO_BLOCKS 0x2u /* NT: heaps and segments only, no block walk */

void vm_heap_report_free(vm_heap_report *r);
const char *vm_bin_name(vm_bin b);

#endif
