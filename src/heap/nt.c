/* The NT heap, walked from a Windows process's memory (a minidump with
 * the heap's memory). The heaps are found four ways: the PEB's
 * ProcessHeap, its ProcessHeaps array, the list of heaps linked from the
 * process heap (Wine keeps every heap there, and the PEB's array empty),
 * and a scan of the allocation bases for a heap's signature.
 *
 * The layout walked is Wine 8's (dlls/ntdll/heap.c as rewritten in Wine
 * 7.x, before its low-fragmentation front end): a heap begins with
 * Windows' first fields (0xffeeffee two words in), then Wine's own, with
 * the magic "HEAP"; its segments ("subheaps", 64 KiB aligned) each hold a
 * SUBHEAP {pad, block_size, data_size, list entry, heap} and then blocks
 * with an 8-byte header {u16 size in 2-word units, u8 flags, u8 tail
 * size (unused bytes; a free block's high size bits), u16 distance to
 * the segment in 64 KiB, u16 type}; blocks
 * too large for a segment get a mapping of their own (ARENA_LARGE, same
 * shape as SUBHEAP) on the heap's large list. The walk follows the blocks
 * as RtlWalkHeap does, and reports what it reports: the user data and
 * its size. Windows' own NT heap (encoded entries) is walked by
 * nt_win.c; the segment heap is not walked: its heaps are a note, not a
 * guess.
 *
 * Everything read is checked: sizes against the segment, lists bounded
 * and checked link by link (a damaged list is a problem, not a loop). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"
#include "vmatlas/heap.h"
#include "vmatlas/layout.h"
#include "vmatlas/reader.h"

#include "nt_walker.h"

#define HEAP_MAGIC 0x50414548u /* "HEAP" */
#define SEGMENT_HEAP_SIGNATURE 0xddeeddeeu /* _SEGMENT_HEAP.Signature, at 0x10 */
#define TYPE_USED 0x5355u  /* "US" */
#define TYPE_DEAD 0xdeadu  /* freed, waiting in the pending ring: still busy to the walk */
#define TYPE_FREE 0x5246u  /* "FR" */
#define TYPE_LARGE 0x614cu /* "La" */
#define FLAG_FREE 0x01u
#define FLAG_LARGE 0x04u
#define BLOCK_HDR 8u

/* Wine 8's structures, by bitness */
typedef struct wine_layout {
	size_t w;
	uint64_t align; /* BLOCK_ALIGN, two words */
	/* struct heap */
	uint64_t flags, entry, subheaps, large, magic;
	/* SUBHEAP and ARENA_LARGE: {pad, ...} with the block header last */
	uint64_t sh_block_size, sh_data_size, sh_entry, sh_user, sh_block, sh_size;
	uint64_t lg_entry, lg_data_size, lg_block_size;
} wine_layout;

static const wine_layout wine8_64 = {
	8, 16, 0x70, 0x78, 0x88, 0x98, 0xb8, 0x10, 0x18, 0x20, 0x30, 0x38, 0x40, 0x10, 0x20, 0x28,
};
static const wine_layout wine8_32 = {
	4, 8, 0x40, 0x48, 0x50, 0x58, 0x68, 0x4, 0x8, 0xc, 0x14, 0x18, 0x20, 0x4, 0xc, 0x10,
};


void nt_problem(ntw *k, uint64_t addr, const char *fmt, ...)
{
	vm_heap_report *r = k->r;
	if (r->nproblems >= MAX_PROBLEMS)
		return;
	va_list ap;
	va_start(ap, fmt);
	char buf[256];
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	vm_heap_problem *p = ARRAY_PUSH(r->problems, r->nproblems, r->pcap);
	p->addr = addr;
	p->what = xstrdup(buf);
}

bool nt_word(ntw *k, uint64_t addr, uint64_t *v)
{
	return vm_reader_word(&k->rd, addr, k->L->w, v);
}

bool nt_u32(ntw *k, uint64_t addr, uint32_t *v)
{
	uint8_t b[4];
	if (!vm_reader_full(&k->rd, addr, b, 4))
		return false;
	*v = ld_le32(b);
	return true;
}

/* a heap of the layout at addr: 64 KiB aligned, Windows' signature and
 * Wine's magic */
static bool is_heap(ntw *k, uint64_t addr)
{
	uint32_t sig, magic;
	return addr && addr % REGION_ALIGN == 0 && nt_u32(k, addr + 2 * k->L->w, &sig) && sig == HEAP_SIGNATURE &&
	       nt_u32(k, addr + k->L->magic, &magic) && magic == HEAP_MAGIC;
}

static int heap_index(const vm_heap_report *r, uint64_t addr)
{
	for (size_t i = 0; i < r->narenas; i++)
		if (r->arenas[i].addr == addr)
			return (int)i;
	return -1;
}

/* why a heap the PEB names is not walked */
static const char *unwalkable(ntw *k, uint64_t addr, int lay)
{
	uint32_t sig;
	if (!nt_u32(k, addr + 2 * k->L->w, &sig))
		return "its header is not in memory (a dump without the heap's memory)";
	if (lay)
		return "a heap of another layout than the first one walked: not walked";
	if (sig == SEGMENT_HEAP_SIGNATURE)
		return "a segment heap (Windows 10 and later): not walked";
	return "not a heap of a known layout (Wine 8's, or Windows' NT heap): not walked";
}

static void add_heap(ntw *k, uint64_t addr, const char *source)
{
	vm_heap_report *r = k->r;
	if (r->narenas >= MAX_HEAPS || heap_index(r, addr) >= 0)
		return;
	int lay = is_heap(k, addr) ? NT_LAYOUT_WINE8 : nt_win_is_heap(k, addr) ? NT_LAYOUT_WINDOWS : NT_LAYOUT_NONE;
	bool ok = lay && (!k->layout || lay == k->layout);
	/* what the PEB names is a heap, walked or not; a scan's or a list's
	 * candidate that is not one is nothing */
	if (!ok && strncmp(source, "peb", 3))
		return;
	if (ok)
		k->layout = lay;
	vm_arena *a = ARRAY_PUSH(r->arenas, r->narenas, k->acap);
	memset(a, 0, sizeof *a);
	a->addr = addr;
	a->main = addr == r->main_arena;
	a->source = source;
	if (!ok) {
		a->unwalked = true;
		a->note = unwalkable(k, addr, lay);
	}
}

/* the next link of a doubly linked list, checked against its back link
 * (a list that does not hold together is cut there) */
bool nt_next_link(ntw *k, uint64_t link, uint64_t *next)
{
	uint64_t back;
	if (!nt_word(k, link, next) || !nt_word(k, *next + k->L->w, &back))
		return false;
	return back == link;
}

/* the PEB of the first thread whose TEB names one */
static uint64_t peb_of(ntw *k)
{
	vm_layout teb;
	vm_layout_get(&teb, "teb", k->m->info.bits, 0);
	uint64_t off = vm_layout_off(&teb, "ProcessEnvironmentBlock"), peb;
	for (size_t i = 0; i < k->m->nthreads; i++)
		if (k->m->threads[i].tp && nt_word(k, k->m->threads[i].tp + off, &peb) && peb)
			return peb;
	return 0;
}

static void find_heaps(ntw *k)
{
	vm_heap_report *r = k->r;
	const vm_map *m = k->m;
	uint64_t peb = k->peb = peb_of(k), ph = 0, arr = 0;
	uint32_t n = 0;
	if (peb) {
		vm_layout P;
		vm_layout_get(&P, "peb", m->info.bits, 0);
		if (nt_word(k, peb + vm_layout_off(&P, "ProcessHeap"), &ph) && ph) {
			r->main_arena = ph;
			r->main_arena_source = "peb";
			add_heap(k, ph, "peb");
		}
		if (nt_u32(k, peb + vm_layout_off(&P, "NumberOfHeaps"), &n) &&
		    nt_word(k, peb + vm_layout_off(&P, "ProcessHeaps"), &arr) && arr) {
			for (uint32_t i = 0; i < n && i < MAX_PEB_HEAPS; i++) {
				uint64_t h;
				if (!nt_word(k, arr + (uint64_t)i * k->L->w, &h))
					break;
				add_heap(k, h, "peb-list");
			}
		}
	}
	/* Wine links every heap it makes into the process heap's list */
	for (size_t i = 0; i < r->narenas && i < 1 && k->layout == NT_LAYOUT_WINE8 && !r->arenas[0].unwalked; i++) {
		uint64_t head = r->arenas[i].addr + k->L->entry, link = head, next;
		for (int steps = 0; steps < MAX_HEAPS && nt_next_link(k, link, &next) && next != head; steps++) {
			add_heap(k, next - k->L->entry, "heap-list");
			link = next;
		}
	}
	/* and any other heap, by its signature at an allocation base */
	for (size_t i = 0; i < m->nregions && r->narenas < MAX_HEAPS; i++) {
		const vm_region *g = &m->regions[i];
		if (g->state == VM_STATE_COMMIT && g->base % REGION_ALIGN == 0 && (g->prot & VM_PROT_WRITE) &&
		    (!g->win.alloc_base || g->win.alloc_base == g->base))
			add_heap(k, g->base, "scan");
	}
}

vm_heap_seg *nt_new_seg(ntw *k, const char *kind, int ai, uint64_t base, uint64_t size, uint64_t committed)
{
	vm_heap_seg *g = ARRAY_PUSH(k->r->segs, k->r->nsegs, k->scap);
	memset(g, 0, sizeof *g);
	g->kind = kind;
	g->arena = ai;
	g->base = base;
	g->size = size;
	g->committed = committed;
	return g;
}

vm_chunk *nt_add_block(ntw *k, vm_heap_seg *g, vm_arena *a, uint64_t addr, uint64_t size, bool busy, uint32_t hdr,
			   uint64_t usize)
{
	if (busy) {
		g->nused++;
		g->used_bytes += usize;
		a->nused++;
		a->used_bytes += usize;
	} else {
		g->nfree++;
		g->free_bytes += usize;
		a->nfree++;
		a->free_bytes += usize;
		if (usize > a->largest_free)
			a->largest_free = usize;
	}
	if (!(k->flags & VM_HEAP_CHUNKS))
		return NULL;
	vm_chunk *c = ARRAY_PUSH(g->chunks, g->nchunks, g->ccap);
	*c = (vm_chunk){ .addr = addr, .size = size, .state = busy ? VM_CHUNK_USED : VM_CHUNK_FREE,
			 .bin = VM_BIN_NONE, .bin_index = -1, .hdr = hdr, .usize = usize };
	return c;
}

/* a segment's blocks, from its first to the last before its committed
 * end, as RtlWalkHeap goes */
static void walk_blocks(ntw *k, vm_heap_seg *g, vm_arena *a, uint64_t first, uint64_t commit_end)
{
	const wine_layout *L = k->L;
	uint64_t last = commit_end - BLOCK_HDR; /* commit_end > first + 8: checked */
	uint64_t b = first;
	for (uint32_t nb = 0;; nb++) {
		uint8_t h[BLOCK_HDR];
		if (nb == MAX_BLOCKS) {
			nt_problem(k, b, "more than %u blocks in one segment: the walk stops", MAX_BLOCKS);
			g->cut_short = true;
			return;
		}
		if (!vm_reader_full(&k->rd, b, h, sizeof h)) {
			nt_problem(k, b, "block header not in the dump's memory");
			g->cut_short = true;
			return;
		}
		unsigned fl = h[2], tail = h[3], type = ld_le16(h + 6);
		uint64_t seg = (b & ~(REGION_ALIGN - 1)) - (uint64_t)ld_le16(h + 4) * REGION_ALIGN;
		bool isfree = fl & FLAG_FREE;
		uint64_t size = ((uint64_t)ld_le16(h) + (isfree ? (uint64_t)tail << 16 : 0)) * L->align;
		if ((isfree ? type != TYPE_FREE : type != TYPE_USED && type != TYPE_DEAD) || seg != g->base) {
			nt_problem(k, b, "damaged block header (type 0x%04x, flags 0x%02x)", type, fl);
			g->cut_short = true;
			return;
		}
		if (size < L->align || (!isfree && tail > size - BLOCK_HDR)) {
			nt_problem(k, b, "damaged block header (size %llu, unused %u)", (unsigned long long)size, tail);
			g->cut_short = true;
			return;
		}
		if (isfree) {
			/* the free bytes are those committed: a free block runs on
			 * into the segment's reserved tail */
			uint32_t hdr = (uint32_t)(BLOCK_HDR + 2 * L->w);
			uint64_t avail = commit_end > b + hdr ? commit_end - (b + hdr) : 0;
			uint64_t usize = size > hdr ? size - hdr : 0;
			nt_add_block(k, g, a, b, size, false, hdr, usize < avail ? usize : avail);
		} else {
			nt_add_block(k, g, a, b, size, true, BLOCK_HDR, size - BLOCK_HDR - tail);
		}
		uint64_t next;
		if (add_overflow_u64(b, size, &next) || next < b + BLOCK_HDR || next > last || last - next < BLOCK_HDR)
			return;
		b = next;
	}
}

static void walk_segment(ntw *k, int ai, uint64_t sh, size_t si)
{
	const wine_layout *L = k->L;
	vm_arena *a = &k->r->arenas[ai];
	uint64_t bs, ds, user;
	if (!nt_word(k, sh + L->sh_block_size, &bs) || !nt_word(k, sh + L->sh_data_size, &ds) ||
	    !nt_word(k, sh + L->sh_user, &user)) {
		nt_problem(k, sh, "segment %zu of heap 0x%llx not in the dump's memory", si, (unsigned long long)a->addr);
		return;
	}
	uint64_t base = sh & ~(REGION_ALIGN - 1), first = sh + L->sh_block, size, commit_end, end;
	/* as Wine checks it: the segment's heap, and the committed part
	 * inside the blocks' room */
	if (user != a->addr || add_overflow_u64(first, bs, &end) || add_overflow_u64(sh + L->sh_size, ds, &commit_end) ||
	    commit_end > end || commit_end < first + 2 * BLOCK_HDR) {
		nt_problem(k, sh, "segment %zu of heap 0x%llx does not hold together", si, (unsigned long long)a->addr);
		return;
	}
	size = end - base;
	vm_heap_seg *g = nt_new_seg(k, "segment", ai, base, size, commit_end - base);
	a->nsegs++;
	a->committed += g->committed;
	a->reserved += size;
	if (!(k->flags & VM_HEAP_NO_BLOCKS))
		walk_blocks(k, g, a, first, commit_end);
}

static void walk_large(ntw *k, int ai, uint64_t lg)
{
	const wine_layout *L = k->L;
	vm_arena *a = &k->r->arenas[ai];
	uint64_t ds, bs;
	uint8_t h[BLOCK_HDR];
	if (!nt_word(k, lg + L->lg_data_size, &ds) || !nt_word(k, lg + L->lg_block_size, &bs) ||
	    !vm_reader_full(&k->rd, lg + L->sh_block, h, sizeof h)) {
		nt_problem(k, lg, "large block of heap 0x%llx not in the dump's memory", (unsigned long long)a->addr);
		return;
	}
	/* block_size counts from the block header to the mapping's end */
	uint64_t size;
	if (ld_le16(h + 6) != TYPE_LARGE || !(h[2] & FLAG_LARGE) || bs < BLOCK_HDR || ds > bs - BLOCK_HDR ||
	    lg % REGION_ALIGN || add_overflow_u64(bs, L->sh_block, &size)) {
		nt_problem(k, lg, "damaged large block of heap 0x%llx", (unsigned long long)a->addr);
		return;
	}
	vm_heap_seg *g = nt_new_seg(k, "large", ai, lg, size, size);
	a->nlarge++;
	a->large_bytes += ds;
	a->committed += size;
	a->reserved += size;
	nt_add_block(k, g, a, lg, size, true, (uint32_t)L->sh_size, ds);
}

/* a list of a heap (segments or large blocks), each item once */
static void walk_list(ntw *k, int ai, uint64_t head, uint64_t entry_off, bool large)
{
	uint64_t link = head, next;
	for (size_t n = 0;; n++) {
		if (!nt_next_link(k, link, &next)) {
			nt_problem(k, link, "%s list of heap 0x%llx is broken here", large ? "large block" : "segment",
				(unsigned long long)k->r->arenas[ai].addr);
			return;
		}
		if (next == head)
			return;
		if (n == MAX_SEGS) {
			nt_problem(k, head, "more than %u %s: the list is not followed further", MAX_SEGS,
				large ? "large blocks" : "segments");
			return;
		}
		if (large)
			walk_large(k, ai, next - entry_off);
		else
			walk_segment(k, ai, next - entry_off, n);
		link = next;
	}
}

int vm_nt_heap_walk(const vm_map *m, vm_target *t, unsigned flags, vm_heap_report *out)
{
	memset(out, 0, sizeof *out);
	out->kind = VM_HEAP_NT;
	ntw k = { .m = m, .t = t, .rd = vm_reader_target(t), .flags = flags, .r = out };
	k.L = m->info.bits == 32 ? &wine8_32 : &wine8_64;
	find_heaps(&k);
	size_t walkable = 0;
	for (size_t i = 0; i < out->narenas; i++)
		walkable += !out->arenas[i].unwalked;
	if (!walkable) {
		/* none to walk: one line says why (the process heap's reason) */
		const char *why = out->narenas && out->arenas[0].main ? out->arenas[0].note : NULL;
		free(out->arenas);
		out->arenas = NULL;
		out->narenas = 0;
		if (out->main_arena && !vm_reader_word(&k.rd, out->main_arena, k.L->w, &(uint64_t){ 0 }))
			out->note = xasprintf("the process heap at 0x%llx is not in the dump's memory (a dump "
					      "with full memory, or with the heap's, is needed)",
					      (unsigned long long)out->main_arena);
		else if (out->main_arena)
			out->note = xasprintf("the process heap at 0x%llx: %s", (unsigned long long)out->main_arena,
					      why ? why : "not a heap of a known layout: not walked");
		else if (!k.peb)
			out->note = xstrdup("no NT heap found: no TEB in the dump's memory names the PEB, and no heap of "
					    "a known layout is in its memory");
		else
			out->note = xasprintf("no NT heap found: the PEB at 0x%llx is not in the dump's memory, and no "
					      "heap of a known layout is in it", (unsigned long long)k.peb);
		return 0;
	}
	bool win = k.layout == NT_LAYOUT_WINDOWS;
	snprintf(out->version, sizeof out->version, win ? "windows" : "wine-8");
	out->walked = true;
	for (size_t i = 0; i < out->narenas; i++) {
		vm_arena *a = &out->arenas[i];
		if (a->unwalked)
			continue;
		if (win) {
			nt_win_walk_heap(&k, (int)i);
			continue;
		}
		uint32_t fl;
		if (nt_u32(&k, a->addr + k.L->flags, &fl))
			a->flags = fl;
		a->front_end = "none"; /* Wine 8's heap has none */
		walk_list(&k, (int)i, a->addr + k.L->subheaps, k.L->sh_entry, false);
		walk_list(&k, (int)i, a->addr + k.L->large, k.L->lg_entry, true);
	}
	for (size_t i = 0; i < out->nsegs; i++)
		if (!strcmp(out->segs[i].kind, "large")) {
			out->mmapped_count++;
			out->mmapped_bytes += out->segs[i].size;
		}
	return 0;
}
