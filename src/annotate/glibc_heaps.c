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
#include "vmatlas/heap.h"
#include "vmatlas/layout.h"
#include "vmatlas/symbols.h"

#define IS_MMAPPED 0x2u
#define NON_MAIN_ARENA 0x4u
#define MAX_CHUNKS_PER_REGION 4096
#define MAX_SCAN_PAGES (1u << 20) /* page heads probed for chunks off a region's start */

/* malloc's own facts (vm_heap_facts), asked once when needed */
typedef struct heap_ctx {
	bool asked;
	vm_heap_facts f;
} heap_ctx;

static const vm_heap_facts *facts(map_builder *b, heap_ctx *c)
{
	if (!c->asked) {
		c->asked = true;
		vm_symbolizer *s = vm_symbolizer_new(b->m, b->t, 0);
		vm_heap_facts_get(b->m, b->t, s, &c->f);
		vm_symbolizer_free(s);
	}
	return &c->f;
}


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

/* A core does not name [heap]: the target guesses the first anonymous
 * region after the executable, which in a position-dependent program is
 * its .bss tail. Where the guess is not proof, ask the main arena (its
 * top chunk, mp_.sbrk_base) and move the name to the region it gives. */
static void check_brk_name(map_builder *b, heap_ctx *c)
{
	vm_map *m = b->m;
	size_t named = (size_t)-1;
	bool glibc = false;
	if (vm_target_caps(b->t) & VM_CAP_LIVE)
		return; /* the kernel's name: start_brk..brk */
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].path && strcmp(m->regions[i].path, "[heap]") == 0)
			named = i;
	for (size_t i = 0; i < m->nmodules; i++)
		if (!strncmp(m->modules[i].name, "libc.so", 7) || !strncmp(m->modules[i].name, "libc-2.", 7))
			glibc = true;
	if (!glibc && named == (size_t)-1)
		return;
	const vm_heap_facts *f = facts(b, c);
	size_t real = f->brk_known ? mb_find(b, f->brk_lo) : (size_t)-1;
	if (real == (size_t)-1 || real == named || m->regions[real].path)
		return;
	if (named != (size_t)-1) {
		free(m->regions[named].path);
		m->regions[named].path = NULL;
	}
	m->regions[real].path = xstrdup("[heap]");
}

static void brk_heap(map_builder *b, heap_ctx *c)
{
	vm_map *m = b->m;
	int gid = -1;
	check_brk_name(b, c);
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
	bool file_target = !(vm_target_caps(b->t) & VM_CAP_LIVE);
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
				if (anon_private(t) && t->state != VM_STATE_RESERVE && file_target &&
				    t->base == at + h[3] && t->base == r->base + r->size &&
				    t->base + t->size <= at + heap_max && !(t->prot & VM_PROT_WRITE)) {
					/* gdb's cores write PROT_NONE memory as readable
					 * zeros; heap_info's mprotect_size says where the
					 * memory malloc made accessible ends */
					t->state = VM_STATE_RESERVE;
					t->prot &= ~(VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC);
				}
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

/* a large chunk's header at `at`, `room` bytes to the end of its region:
 * prev_size holds the alignment correction (0 but on i386), the size is
 * page-granular with IS_MMAPPED; `strict` (off a region's start) wants
 * exactly IS_MMAPPED among the flags, as sysmalloc writes it */
static bool chunk_head(const uint8_t *hdr, size_t len, size_t w, uint64_t pg, uint64_t room, bool strict,
		       uint64_t *corr_out, uint64_t *size_out)
{
	for (uint64_t corr = 0; corr + 2 * w <= len; corr += w) {
		uint64_t prev = ld_word(hdr + corr, w);
		uint64_t size = ld_word(hdr + corr + w, w);
		uint64_t cs = size & ~(uint64_t)7;
		bool flags = strict ? (size & 7) == IS_MMAPPED : (size & IS_MMAPPED) && !(size & NON_MAIN_ARENA);
		if (prev == corr && flags && cs >= pg && cs <= room && (corr + cs) % pg == 0 && corr + cs <= room) {
			*corr_out = corr;
			*size_out = cs;
			return true;
		}
	}
	return false;
}

/* how much of region r's statistics lie below `at`: by the pages in
 * memory on each side where the target tells, else by size */
static double share_of(map_builder *b, const vm_region *r, uint64_t at)
{
	uint64_t pg = b->m->info.page_size, npages = r->size / pg;
	if (!r->stats.valid || npages == 0 || npages > MAX_SCAN_PAGES)
		return -1;
	int8_t *present = xmalloc((size_t)npages);
	double share = -1;
	if (vm_target_present_range(b->t, r->base, npages, present) == 0) {
		uint64_t below = 0, all = 0;
		for (uint64_t i = 0; i < npages; i++)
			if (present[i] > 0) {
				all++;
				below += r->base + i * pg < at;
			}
		share = all ? (double)below / (double)all : (double)(at - r->base) / (double)r->size;
	}
	free(present);
	return share;
}

typedef struct found_chunk {
	uint64_t addr, size, map_base, map_end; /* the chunk; the mapping malloc made for it */
} found_chunk;

static int cmp_found(const void *a, const void *b)
{
	const found_chunk *x = a, *y = b;
	return (x->addr < y->addr) ? 1 : (x->addr > y->addr) ? -1 : 0; /* highest first */
}

/* Large chunks mmapped by malloc. The kernel merges adjacent anonymous
 * mappings, so one VMA may hold several chunks, or chunks beside other
 * memory. Each region is walked chunk by chunk from its start; where
 * mp_.n_mmaps says chunks are still missing, the page heads of the rest
 * of the anonymous read-write memory are probed for chunk headers. A
 * region with a chunk and something else is split: one mmap, one
 * allocation. */
static void mmapped_chunks(map_builder *b, heap_ctx *hc)
{
	vm_map *m = b->m;
	size_t w = m->info.bits == 32 ? 4 : 8;
	uint64_t pg = m->info.page_size;
	size_t *idx = NULL, n = 0, cap = 0;
	found_chunk *fc = NULL;
	size_t nf = 0, fcap = 0;
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

	/* where the walk from each region's start stopped */
	uint64_t *stop = xcalloc(n ? n : 1, sizeof *stop);
	for (size_t k = 0; k < n; k++) {
		vm_region *r = &m->regions[idx[k]];
		uint64_t off = 0, found = 0;
		uint8_t hdr[16];
		memcpy(hdr, heads[k], sizeof hdr);
		if (reqs[k].got < sizeof hdr)
			continue;
		for (;;) {
			uint64_t corr, csize;
			if (!chunk_head(hdr, sizeof hdr, w, pg, r->size - off, false, &corr, &csize))
				break;
			found_chunk *f = ARRAY_PUSH(fc, nf, fcap);
			f->addr = r->base + off + corr;
			f->size = csize;
			f->map_base = r->base + off;
			f->map_end = f->map_base + corr + csize;
			found++;
			off += corr + csize;
			if (off == r->size || found == MAX_CHUNKS_PER_REGION)
				break;
			if (vm_read_full(b->t, r->base + off, hdr, sizeof hdr) < 0)
				break;
		}
		stop[k] = off;
	}

	/* mp_ counts the chunks: look further where some are missing */
	const vm_heap_facts *f = n && m->info.os == VM_OS_LINUX ? facts(b, hc) : NULL;
	if (f && f->mmaps_known && nf < f->n_mmaps) {
		uint64_t budget = MAX_SCAN_PAGES;
		for (size_t k = 0; k < n && nf < f->n_mmaps && budget; k++) {
			vm_region *r = &m->regions[idx[k]];
			if (f->brk_known && range_contains(r->base, r->size, f->brk_lo))
				continue;
			uint64_t from = r->base + stop[k] + (stop[k] ? 0 : pg);
			uint64_t npages = (r->base + r->size - from) / pg;
			if (npages > budget)
				npages = budget;
			budget -= npages;
			if (!npages)
				continue;
			int8_t *present = xmalloc((size_t)npages);
			if (vm_target_present_range(b->t, from, npages, present) < 0)
				memset(present, -1, (size_t)npages);
			uint64_t p = 0;
			while (p < npages && nf < f->n_mmaps) {
				/* the page heads of a batch, read in one go */
				vm_read_req rq[256];
				uint8_t hb[256][16];
				size_t nq = 0;
				for (uint64_t q = p; q < npages && nq < 256; q++)
					if (present[q] != 0) {
						rq[nq] = (vm_read_req){ .addr = from + q * pg, .buf = hb[nq], .len = 16 };
						nq++;
					}
				if (!nq)
					break;
				vm_read_many(b->t, rq, nq);
				uint64_t next = (rq[nq - 1].addr - from) / pg + 1;
				for (size_t q = 0; q < nq; q++) {
					uint64_t corr, csize, at = rq[q].addr;
					if (rq[q].got < 16 ||
					    !chunk_head(hb[q], 16, w, pg, r->base + r->size - at, true, &corr, &csize))
						continue;
					found_chunk *x = ARRAY_PUSH(fc, nf, fcap);
					x->addr = at + corr;
					x->size = csize;
					x->map_base = at;
					x->map_end = at + corr + csize;
					next = (x->map_end - from) / pg; /* on past the chunk */
					break;
				}
				p = next;
			}
			free(present);
		}
		if (nf != f->n_mmaps)
			vm_map_warn(m, "heap: %zu large mmapped malloc chunks found, mp_.n_mmaps says %u", nf,
				    f->n_mmaps);
	}

	/* one mmap each: split the regions where they share one with other
	 * memory, from the top down so that indexes below stay put */
	if (nf > 1)
		qsort(fc, nf, sizeof *fc, cmp_found);
	for (size_t c = 0; c < nf; c++) {
		const found_chunk *x = &fc[c];
		size_t ri = mb_find(b, x->map_base);
		if (ri == (size_t)-1)
			continue;
		const vm_region *r = &m->regions[ri];
		uint64_t end = r->base + r->size;
		if (x->map_end < end)
			mb_split(b, ri, x->map_end, share_of(b, r, x->map_end));
		r = &m->regions[ri];
		if (x->map_base > r->base)
			ri = mb_split(b, ri, x->map_base, share_of(b, r, x->map_base));
		if (ri == (size_t)-1)
			continue;
		int gid = mb_group_new(b, VM_USAGE_HEAP, "malloc mmapped chunk");
		mb_claim(b, ri, gid);
		vm_region_add_content(&m->regions[ri], VM_CK_HEAP, x->addr, x->size, "mmapped chunk",
				      "a large malloc block with a mapping of its own");
	}
	free(fc);
	free(stop);
	free(heads);
	free(reqs);
	free(idx);
}

void ann_heaps(map_builder *b)
{
	heap_ctx c = { 0 };
	brk_heap(b, &c);
	arena_heaps(b);
	mmapped_chunks(b, &c);
}
