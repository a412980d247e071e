/* Snapshots: a whole map (regions, allocations, contents, modules,
 * threads, heap summary; optionally a hash of every page) in a compact,
 * versioned, zstd-compressed file (docs/snapshot.md), written atomically;
 * and the diff of two maps. */
#ifndef VMATLAS_SNAPSHOT_H
#define VMATLAS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "map.h"
#include "target.h"

#define VM_SNAPSHOT_VERSION 1

typedef struct vm_page_hashes {
	uint64_t npages;
	uint64_t *h; /* 0: the page could not be read */
} vm_page_hashes;

typedef struct vm_snapshot {
	vm_map *map;
	uint64_t taken;          /* unix time */
	vm_heap_report heap;     /* arenas (and chunks if they were kept) */
	bool has_heap_chunks;
	vm_page_hashes *pages;   /* per region of map, NULL without --data */
} vm_snapshot;

/* the hash of every readable committed page of each region */
vm_page_hashes *vm_hash_pages(const vm_map *m, vm_target *t, uint64_t *bytes_hashed);
void vm_page_hashes_free(vm_page_hashes *p, size_t n);

/* a snapshot of a live target: its map (built with `mo`), the heap
 * (every chunk with heap_chunks), and with data a hash of every page */
int vm_snapshot_take(vm_target *t, const vm_map_options *mo, bool data, bool heap_chunks,
		     vm_snapshot *out);

int vm_snapshot_write(const vm_snapshot *s, const char *path);
/* the file's bytes in memory (caller frees *out) */
int vm_snapshot_encode(const vm_snapshot *s, uint8_t **out, size_t *len);
/* -1 with a clear error for a file that is not a snapshot, truncated,
 * damaged, or from a newer format version */
int vm_snapshot_read(const char *path, vm_snapshot *out);
int vm_snapshot_read_buf(const uint8_t *buf, size_t len, vm_snapshot *out);
void vm_snapshot_free(vm_snapshot *s);

#endif
