/* glibc malloc's memory, recognised from the map and checked against the
 * allocator's own headers in target memory:
 *  - the brk heap ([heap]) of the main arena;
 *  - the heaps of secondary arenas: HEAP_MAX-aligned mappings that begin
 *    with a heap_info {ar_ptr, prev, size, mprotect_size}, followed by
 *    their PROT_NONE reserved tail;
 *  - large chunks malloc got straight from mmap (glibc_mmapped.c).
 * The block-by-block walk of the arenas is the heap command's job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glibc_heaps.h"
#include "base/bytes.h"
#include "base/util.h"
#include "vmatlas/heap.h"
#include "vmatlas/layout.h"
#include "vmatlas/symbols.h"

/* malloc's facts, asked once when needed */
const vm_heap_facts *glh_facts(map_builder *b, heap_ctx *c)
{
	if (!c->asked) {
		c->asked = true;
		vm_symbolizer *s = vm_symbolizer_new(b->m, b->t, 0);
		vm_heap_facts_get(b->m, b->t, s, &c->f);
		vm_symbolizer_free(s);
	}
	return &c->f;
}

/* malloc writes every header it makes, so a heap's first page is in
 * memory (or swap): regions whose first page is not need no probe, and
 * probing them would fault pages into the target. Without statistics,
 * ask the page tables. */
bool glh_maybe_written(map_builder *b, const vm_region *r, uint64_t at)
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
	const vm_heap_facts *f = glh_facts(b, c);
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
		if (!glh_anon_private(r) || !glh_rw(r) || mb_claimed(b, i))
			continue;
		/* a heap may share a VMA with memory just below it */
		uint64_t at = (r->base + heap_max - 1) / heap_max * heap_max;
		for (int tries = 0; tries < 64 && at < r->base + r->size; tries++, at += heap_max) {
			if (!glh_maybe_written(b, r, at))
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
				if (glh_anon_private(t) && t->state != VM_STATE_RESERVE && file_target &&
				    t->base == at + h[3] && t->base == r->base + r->size &&
				    t->base + t->size <= at + heap_max && !(t->prot & VM_PROT_WRITE)) {
					/* gdb's cores write PROT_NONE memory as readable
					 * zeros; heap_info's mprotect_size says where the
					 * memory malloc made accessible ends */
					t->state = VM_STATE_RESERVE;
					t->prot &= ~(VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC);
				}
				if (glh_anon_private(t) && t->state == VM_STATE_RESERVE &&
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

void ann_heaps(map_builder *b)
{
	heap_ctx c = { 0 };
	brk_heap(b, &c);
	arena_heaps(b);
	glh_mmapped_chunks(b, &c);
}
