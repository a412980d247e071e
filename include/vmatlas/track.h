/* Write tracking: which pages a process wrote between two moments, from
 * the kernel's own bookkeeping, without hashing anything. Linux offers two
 * ways, and vmatlas uses whichever the kernel has:
 *   soft-dirty: clear_refs and bit 55 of pagemap (CONFIG_MEM_SOFT_DIRTY);
 *   userfaultfd asynchronous write-protect (UFFD_FEATURE_WP_ASYNC, Linux
 *     6.7+) read back with the PAGEMAP_SCAN ioctl: the userfaultfd is made
 *     inside the target by an injected system call, taken out with
 *     pidfd_getfd and closed there again; a small holder process
 *     ("vmatlas-track", started first) keeps it open until `track stop`,
 *     and undoes everything if vmatlas dies before handing it over. */
#ifndef VMATLAS_TRACK_H
#define VMATLAS_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "target.h"

#define VM_TRACK_VERSION 1

typedef enum vm_track_method { VM_TRACK_AUTO, VM_TRACK_SOFT_DIRTY, VM_TRACK_UFFD_WP } vm_track_method;

typedef struct vm_track_caps {
	bool soft_dirty;
	bool uffd_wp_async;
	char soft_dirty_why[160]; /* what was found, either way */
	char uffd_why[160];
} vm_track_caps;

typedef struct vm_track_range {
	uint64_t addr, size;
	int err; /* skipped ranges: why (an errno) */
} vm_track_range;

typedef struct vm_track_state {
	vm_track_method method;
	int64_t pid;
	uint64_t start_time;       /* of the target (vm_target_info) */
	int64_t holder;            /* uffd-wp: the process keeping the userfaultfd */
	uint64_t holder_start;
	uint64_t started_ms;       /* wall clock, ms since the epoch */
	vm_track_range *ranges;    /* tracked */
	size_t n;
	vm_track_range *skipped;   /* writable, but the kernel would not track them */
	size_t nskipped;
} vm_track_state;

/* what this kernel offers (probed on vmatlas itself) */
void vm_track_probe(vm_track_caps *c);
const char *vm_track_method_name(vm_track_method m);

/* Start tracking ranges want of live target t, and write the state to
 * path (vm_track_state_write). It returns when the tracking is fully in
 * place (state written, holder holding), or with nothing left of it:
 * no holder, no state file, the target as it was. */
int vm_track_start(vm_target *t, const vm_track_range *want, size_t nwant, vm_track_method method,
		   const char *path, vm_track_state *out);
/* what a write can land in: the map's committed writable regions, to
 * track (caller frees *out) */
size_t vm_track_writable(const vm_map *m, vm_track_range **out);
/* the pages written since the start, coalesced into ranges, in address
 * order; tracking goes on */
int vm_track_written(const vm_track_state *st, vm_track_range **out, size_t *n);
/* stop: the holder (if any) exits and the kernel drops the write
 * protection with it; returns once that is done */
int vm_track_end(const vm_track_state *st);

int vm_track_state_write(const vm_track_state *st, const char *path);
int vm_track_state_read(const char *path, vm_track_state *out);
int vm_track_state_parse(const uint8_t *buf, size_t len, vm_track_state *out);
void vm_track_state_free(vm_track_state *st);

#endif
