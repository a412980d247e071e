/* The annotated memory map: target -> raw regions -> annotators -> map. */
#ifndef VMATLAS_MAP_H
#define VMATLAS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "target.h"

typedef struct vm_map {
	vm_target_info info;  /* strings owned by the map */
	vm_region *regions;   /* address order, free gaps included */
	size_t nregions;
	vm_alloc *allocs;     /* address order */
	size_t nallocs;
	vm_thread *threads;
	size_t nthreads;
	vm_module *modules;
	size_t nmodules, mcap;
	bool frozen;          /* built with every thread stopped */
	bool incomplete;      /* something could not be read: see warnings */
	/* the heap walk (VM_MAP_HEAP), or the one a saved map carries; NULL
	 * when not walked */
	struct vm_heap_report *heap;
	char **warnings;
	size_t nwarnings, wcap;
} vm_map;

/* a module registered by hand: NAME_OR_PATH=BASE[,SIZE] */
typedef struct vm_manual_module {
	const char *name_or_path;
	uint64_t base, size; /* size 0: the image's own extent */
} vm_manual_module;

typedef struct vm_map_options {
	bool no_stats;      /* skip per-region statistics (faster) */
	bool freeze;        /* stop all threads while reading */
	bool pages;         /* per-page detail ... */
	bool pages_all;     /* ... for every region, or ... */
	uint64_t pages_addr;/* ... for the region holding this address */
	const vm_manual_module *manual;
	size_t nmanual;
	bool stacks;        /* copy each thread's stack while it is stopped */
	unsigned heap;      /* VM_MAP_HEAP* */
	bool no_heaps;      /* do not recognise heaps (a command that shows none:
			       threads; 20,000 regions cost a probe each) */
} vm_map_options;

/* vm_map_options.heap: walk glibc malloc once the map stands (the report
 * on vm_map.heap), keep every chunk, label the arenas on their regions */
#define VM_MAP_HEAP        0x1u
#define VM_MAP_HEAP_CHUNKS 0x2u
#define VM_MAP_HEAP_PLACE  0x4u

vm_map *vm_map_build(vm_target *t, const vm_map_options *opt);
/* the map a target carries saved (the snapshot in a `vmatlas capture`
 * core), with the target's registers and held bytes laid over it: 0 and
 * *out; 1 when it carries none; -1 (error set) when it is damaged.
 * vm_map_build returns it when there is one. */
int vm_map_saved(vm_target *t, vm_map **out);
void vm_map_free(vm_map *m);

/* the region holding addr (free gaps included), or NULL */
const vm_region *vm_map_region_at(const vm_map *m, uint64_t addr);
/* its index, or (size_t)-1 */
size_t vm_map_region_index(const vm_map *m, uint64_t addr);
const vm_alloc *vm_map_alloc_of(const vm_map *m, const vm_region *r);
/* the module whose extent holds addr, or NULL (modules are sorted) */
const vm_module *vm_map_module_at(const vm_map *m, uint64_t addr);
const vm_module *vm_map_module_by_name(const vm_map *m, const char *name);

void vm_map_warn(vm_map *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* add a typed item to a region; strings are copied */
vm_content *vm_region_add_content(vm_region *r, vm_content_kind kind, uint64_t addr,
				  uint64_t size, const char *name, const char *detail);

/* the bytes from a region's base that the target can give: all of it,
 * or for a file target only what the file holds (or its file on disk
 * gives); never more than the region */
uint64_t vm_region_data_size(const vm_region *r);

/* keep a region's contents in address order after adding to them */
void vm_region_sort_contents(vm_region *r);
/* every region's contents in order */
void vm_map_sort_contents(vm_map *m);
/* modules in address order (for vm_map_module_at), contents renumbered */
void vm_map_sort_modules(vm_map *m);

/* one row per usage, plus the total of every non-free row */
typedef struct vm_summary_row {
	uint64_t size, committed, rss, private_bytes, shared_bytes, swap;
	size_t blocks;
	uint64_t largest;
	/* committed memory none of whose regions has statistics (a core, a
	 * minidump): rss, private, shared and swap are unknown, not 0 */
	bool stats_unknown;
	/* statistics from a Windows working set only: swap is unknown */
	bool swap_unknown;
} vm_summary_row;

void vm_map_summary(const vm_map *m, vm_summary_row rows[VM_USAGE_COUNT], vm_summary_row *total);

/* names */
const char *vm_usage_name(vm_usage u);
bool vm_usage_parse(const char *s, vm_usage *out);
const char *vm_state_name(vm_state s);
const char *vm_type_name(vm_type t);
const char *vm_content_kind_name(vm_content_kind k);
/* "rw-p" style; out must hold 5 bytes */
void vm_prot_string(uint32_t prot, char out[5]);
/* the same for a region: "????" when its protection is unknown */
void vm_region_prot_string(const vm_region *r, char out[5]);
/* the map knows only the memory the target holds (a minidump without a
 * memory info list): a "free" gap may be mapped memory it lacks */
bool vm_map_gaps_unknown(const vm_map *m);

#endif
