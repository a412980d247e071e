/* glibc malloc's memory, recognised from the map and checked against the
 * allocator's own headers in target memory:
 *  - the brk heap ([heap]) of the main arena;
 *  - the heaps of secondary arenas: HEAP_MAX-aligned mappings that begin
 *    with a heap_info {ar_ptr, prev, size, mprotect_size}, followed by
 *    their PROT_NONE reserved tail;
 *  - large chunks malloc got straight from mmap: a chunk header with
 *    IS_MMAPPED whose sizes tile the mapping exactly.
 * The block-by-block walk of the arenas is the heap command's job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"
#include "base/bytes.h"
#include "base/util.h"
#include "vmatlas/layout.h"

#define IS_MMAPPED 0x2u
#define NON_MAIN_ARENA 0x4u
#define MAX_CHUNKS_PER_REGION 4096


static bool anon_private(const vm_region *r)
{
	return r->state != VM_STATE_FREE && !r->path && !(r->prot & VM_PROT_SHARED);
}

static bool rw(const vm_region *r)
{
	return (r->prot & (VM_PROT_READ | VM_PROT_WRITE)) == (VM_PROT_READ | VM_PROT_WRITE);
}

/* malloc writes every header it makes, so a heap's first page is in
 * memory (or swap): regions whose first page is not need no probe, and
 * probing them would fault pages into the target. Without statistics,
 * ask the page tables. */
static bool maybe_written(map_builder *b, const vm_region *r, uint64_t at)
{
	if (r->stats.valid && r->stats.rss + r->stats.swap == 0)
		return false;
	vm_target *t = b->t;
	int8_t present = -1;
	vm_target_pages_present(t, &at, 1, &present);
	return present != 0;
}

static void brk_heap(map_builder *b)
{
	vm_map *m = b->m;
	int gid = -1;
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if (!r->path || strcmp(r->path, "[heap]") != 0)
			continue;
		if (gid < 0)
			gid = mb_group_new(b, VM_USAGE_HEAP, "brk heap (main arena)");
		mb_claim(b, i, gid);
		vm_region_add_content(r, VM_CK_HEAP, r->base, r->size, "brk heap", "main arena");
	}
}

/* heap_info at a HEAP_MAX-aligned address: does it hold together? */
static bool valid_heap_info(const map_builder *b, uint64_t at, const uint64_t h[4],
			    uint64_t heap_max, uint64_t rw_end)
{
	uint64_t ar_ptr = h[0], prev = h[1], size = h[2], mprot = h[3];
	uint64_t pg = b->m->info.page_size;
	if (size == 0 || size > heap_max || mprot < size || mprot > heap_max)
		return false;
	/* the part in use must be writable */
	if (size > rw_end - at || (at + size) % pg != 0)
		return false;
	if (prev == 0) {
		/* first heap of an arena: the malloc_state follows heap_info */
		return ar_ptr > at && ar_ptr - at <= 256;
	}
	return prev % heap_max == 0 && mb_find(b, ar_ptr) != (size_t)-1;
}

static void arena_heaps(map_builder *b)
{
	vm_map *m = b->m;
	int bits = m->info.bits == 32 ? 32 : 64;
	size_t w = (size_t)bits / 8;
	/* HEAP_MAX_SIZE = 2 * DEFAULT_MMAP_THRESHOLD_MAX */
	uint64_t heap_max = bits == 32 ? (1u << 20) : (64u << 20);
	vm_layout hi;
	vm_layout_get(&hi, "heap_info", bits, 0);
	const uint64_t hoff[4] = { vm_layout_off(&hi, "ar_ptr"), vm_layout_off(&hi, "prev"),
				   vm_layout_off(&hi, "size"), vm_layout_off(&hi, "mprotect_size") };
	vm_reader rd = vm_reader_target(b->t);
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if (!anon_private(r) || !rw(r) || mb_claimed(b, i))
			continue;
		/* a heap may share a VMA with memory just below it */
		uint64_t at = (r->base + heap_max - 1) / heap_max * heap_max;
		for (int tries = 0; tries < 64 && at < r->base + r->size; tries++, at += heap_max) {
			if (!maybe_written(b, r, at))
				continue;
			uint8_t buf[32]; /* heap_info's first four words */
			if (!vm_reader_full(&rd, at, buf, (size_t)hoff[3] + w))
				break;
			uint64_t h[4];
			for (int k = 0; k < 4; k++)
				h[k] = ld_word(buf + hoff[k], w);
			if (!valid_heap_info(b, at, h, heap_max, r->base + r->size))
				continue;
			int gid = mb_group_new(b, VM_USAGE_HEAP, "glibc arena heap");
			mb_claim(b, i, gid);
			/* its reserved tail, up to HEAP_MAX */
			if (i + 1 < m->nregions) {
				vm_region *t = &m->regions[i + 1];
				if (anon_private(t) && t->state == VM_STATE_RESERVE &&
				    t->base == r->base + r->size && t->base + t->size <= at + heap_max)
					mb_claim(b, i + 1, gid);
			}
			char det[96];
			snprintf(det, sizeof det, "arena 0x%llx, heap_info size %llu%s",
				 (unsigned long long)h[0], (unsigned long long)h[2],
				 h[1] ? ", continues an earlier heap" : "");
			vm_region_add_content(r, VM_CK_HEAP, at, h[2], "arena heap", det);
		}
	}
}

/* Large chunks mmapped by malloc. The kernel merges adjacent anonymous
 * mappings, so one VMA may hold several chunks, or chunks followed by
 * other memory: walk chunk by chunk from the start, and call the region
 * heap when the chunks make up most of it. */
static void mmapped_chunks(map_builder *b)
{
	vm_map *m = b->m;
	size_t w = m->info.bits == 32 ? 4 : 8;
	uint64_t pg = m->info.page_size;
	size_t *idx = NULL, n = 0, cap = 0;
	for (size_t i = 0; i < m->nregions; i++)
		if (anon_private(&m->regions[i]) && rw(&m->regions[i]) && !mb_claimed(b, i) &&
		    maybe_written(b, &m->regions[i], m->regions[i].base))
			*ARRAY_PUSH(idx, n, cap) = i;
	uint8_t(*heads)[16] = xcalloc(n ? n : 1, 16);
	vm_read_req *reqs = xcalloc(n ? n : 1, sizeof *reqs);
	for (size_t k = 0; k < n; k++) {
		reqs[k].addr = m->regions[idx[k]].base;
		reqs[k].buf = heads[k];
		reqs[k].len = 16;
	}
	vm_read_many(b->t, reqs, n);

	for (size_t k = 0; k < n; k++) {
		vm_region *r = &m->regions[idx[k]];
		uint64_t off = 0, found = 0;
		uint64_t starts[MAX_CHUNKS_PER_REGION], sizes[MAX_CHUNKS_PER_REGION];
		uint8_t hdr[16];
		memcpy(hdr, heads[k], sizeof hdr);
		if (reqs[k].got < sizeof hdr)
			continue;
		for (;;) {
			/* where MALLOC_ALIGNMENT exceeds the chunk header (i386)
			 * the chunk starts `correction` bytes into the mapping
			 * and records it in its prev_size */
			uint64_t corr = 0, size = 0;
			bool ok = false;
			for (corr = 0; corr + 2 * w <= sizeof hdr; corr += w) {
				uint64_t prev = ld_word(hdr + corr, w);
				size = ld_word(hdr + corr + w, w);
				uint64_t cs = size & ~(uint64_t)7;
				if (prev == corr && (size & IS_MMAPPED) && !(size & NON_MAIN_ARENA) &&
				    cs >= pg && (corr + cs) % pg == 0 && corr + cs <= r->size - off) {
					ok = true;
					break;
				}
			}
			if (!ok)
				break;
			uint64_t csize = size & ~(uint64_t)7;
			starts[found] = r->base + off + corr;
			sizes[found] = csize;
			found++;
			off += corr + csize;
			if (off == r->size || found == MAX_CHUNKS_PER_REGION)
				break;
			if (vm_read_full(b->t, r->base + off, hdr, sizeof hdr) < 0)
				break;
		}
		if (found == 0)
			continue;
		if (off >= r->size / 2) {
			int gid = mb_group_new(b, VM_USAGE_HEAP, found == 1 ? "malloc mmapped chunk"
									    : "malloc mmapped chunks");
			mb_claim(b, idx[k], gid);
		}
		for (uint64_t c = 0; c < found; c++)
			vm_region_add_content(r, VM_CK_HEAP, starts[c], sizes[c], "mmapped chunk",
					      "a large malloc block with a mapping of its own");
	}
	free(heads);
	free(reqs);
	free(idx);
}

void ann_heaps(map_builder *b)
{
	brk_heap(b);
	arena_heaps(b);
	mmapped_chunks(b);
}
