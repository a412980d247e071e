/* Windows' own NT heap (the back end of Windows 7 to 11, 64-bit), walked
 * from memory: _HEAP begins with its first _HEAP_SEGMENT (signature
 * 0xffeeffee at 0x10) and holds its own signature 0xeeffeeff at 0x98;
 * its segments are on SegmentList, each with FirstEntry, LastValidEntry
 * and a list of uncommitted ranges (_HEAP_UCR_DESCRIPTOR) that the walk
 * jumps over; each block starts with a 16-byte _HEAP_ENTRY whose second
 * half is XORed with the heap's Encoding when EncodeFlagMask is set, and
 * checked by its SmallTagIndex (the XOR of the three bytes before it).
 * Blocks too large for a segment are on VirtualAllocdBlocks
 * (_HEAP_VIRTUAL_ALLOC_ENTRY). The low-fragmentation front end's blocks
 * live inside busy back-end blocks: those are recognised and counted
 * (nt_lfh.c), the blocks in them not listed (what places them is encoded
 * with a key of ntdll's); the segment heap is not walked at all.
 *
 * The offsets are those of the public symbols of ntdll (Windows 10,
 * x64); the walk has not been checked against a dump made on Windows
 * (none of the public ones holds heap memory): the tests build heaps by
 * this description. Everything read is bounded and checked. */
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"

#include "nt_walker.h"

#define HEAP_SIG2 0xeeffeeffu
/* _HEAP */
#define H_FLAGS 0x70
#define H_ENCODE_MASK 0x7c
#define H_ENCODING 0x80
#define H_SIGNATURE 0x98
#define H_VIRTUAL 0x110
#define H_SEGMENTS 0x120
#define H_FRONT_END_TYPE 0x1a2
/* _HEAP_SEGMENT */
#define S_SIGNATURE 0x10
#define S_LIST 0x18
#define S_HEAP 0x28
#define S_BASE 0x30
#define S_PAGES 0x38
#define S_FIRST 0x40
#define S_LAST 0x48
#define S_UCR_PAGES 0x50
#define S_UCRS 0x60
/* _HEAP_UCR_DESCRIPTOR */
#define U_SEGMENT_ENTRY 0x10
#define U_ADDRESS 0x20
#define U_SIZE 0x28
/* _HEAP_VIRTUAL_ALLOC_ENTRY */
#define V_COMMIT 0x20
#define V_RESERVE 0x28
#define V_BUSY 0x30
#define V_HDR 0x40

#define ENTRY 16u
#define F_BUSY 0x01u
#define F_VIRTUAL 0x08u
#define F_LAST 0x10u
#define MAX_UCRS 4096
#define PAGE 0x1000ull

bool nt_win_is_heap(ntw *k, uint64_t addr)
{
	uint32_t a, b;
	return k->m->info.bits != 32 && addr % REGION_ALIGN == 0 && nt_u32(k, addr + S_SIGNATURE, &a) &&
	       a == HEAP_SIGNATURE && nt_u32(k, addr + H_SIGNATURE, &b) && b == HEAP_SIG2;
}

typedef struct win_heap {
	uint64_t addr;
	bool encoded;
	bool lfh; /* FrontEndHeapType 2: busy blocks may be the LFH's user blocks */
	uint8_t key[8]; /* Encoding's second half */
} win_heap;

/* a _HEAP_ENTRY at addr, decoded and checked: size, flags, unused bytes */
static bool entry_at(ntw *k, const win_heap *h, uint64_t addr, uint64_t *size, unsigned *flags, unsigned *unused,
		     uint16_t *raw_size)
{
	uint8_t e[ENTRY];
	if (!vm_reader_full(&k->rd, addr, e, sizeof e))
		return false;
	if (h->encoded) {
		for (int i = 0; i < 8; i++)
			e[8 + i] ^= h->key[i];
		if ((uint8_t)(e[8] ^ e[9] ^ e[10]) != e[11])
			return false;
	}
	*raw_size = ld_le16(e + 8);
	*size = (uint64_t)*raw_size * ENTRY;
	*flags = e[10];
	*unused = e[15];
	return true;
}

typedef struct ucr {
	uint64_t addr, size;
} ucr;

/* a segment's uncommitted ranges, from its own list */
static size_t ucrs_of(ntw *k, uint64_t seg, ucr *out)
{
	uint64_t head = seg + S_UCRS, link = head, next;
	size_t n = 0;
	while (n < MAX_UCRS && nt_next_link(k, link, &next) && next != head) {
		uint64_t d = next - U_SEGMENT_ENTRY;
		if (!nt_word(k, d + U_ADDRESS, &out[n].addr) || !nt_word(k, d + U_SIZE, &out[n].size))
			break;
		n++;
		link = next;
	}
	return n;
}

static void walk_segment(ntw *k, int ai, const win_heap *h, uint64_t seg, size_t si, ucr *u)
{
	vm_arena *a = &k->r->arenas[ai];
	uint32_t sig, pages, ucr_pages;
	uint64_t heap, base, first, last;
	if (!nt_u32(k, seg + S_SIGNATURE, &sig) || !nt_word(k, seg + S_HEAP, &heap) || !nt_word(k, seg + S_BASE, &base) ||
	    !nt_u32(k, seg + S_PAGES, &pages) || !nt_word(k, seg + S_FIRST, &first) || !nt_word(k, seg + S_LAST, &last) ||
	    !nt_u32(k, seg + S_UCR_PAGES, &ucr_pages)) {
		nt_problem(k, seg, "segment %zu of heap 0x%llx not in the dump's memory", si, (unsigned long long)h->addr);
		return;
	}
	uint64_t size = (uint64_t)pages * PAGE;
	if (sig != HEAP_SIGNATURE || heap != h->addr || base != seg || ucr_pages > pages || first <= base ||
	    last > base + size || first >= last || (first - base) % ENTRY || (last - base) % ENTRY) {
		nt_problem(k, seg, "segment %zu of heap 0x%llx does not hold together", si, (unsigned long long)h->addr);
		return;
	}
	vm_heap_seg *g = nt_new_seg(k, "segment", ai, base, size, size - (uint64_t)ucr_pages * PAGE);
	a->nsegs++;
	a->committed += g->committed;
	a->reserved += size;
	if (k->flags & VM_HEAP_NO_BLOCKS)
		return;
	size_t nu = ucrs_of(k, seg, u);
	uint64_t e = first;
	for (uint32_t nb = 0; e < last; nb++) {
		uint64_t bsize;
		unsigned fl, unused;
		uint16_t raw;
		if (nb == MAX_BLOCKS) {
			nt_problem(k, e, "more than %u blocks in one segment: the walk stops", MAX_BLOCKS);
			g->cut_short = true;
			return;
		}
		if (!entry_at(k, h, e, &bsize, &fl, &unused, &raw)) {
			nt_problem(k, e, "block header unreadable or damaged (its check byte disagrees)");
			g->cut_short = true;
			return;
		}
		if (bsize == 0 || bsize > last - e || ((fl & F_BUSY) && (unused < ENTRY || unused > bsize))) {
			nt_problem(k, e, "damaged block header (size %llu, unused %u)", (unsigned long long)bsize, unused);
			g->cut_short = true;
			return;
		}
		bool busy = fl & F_BUSY;
		vm_chunk *c = nt_add_block(k, g, a, e, bsize, busy, ENTRY, busy ? bsize - unused : bsize - ENTRY);
		if (busy && h->lfh)
			nt_lfh_user_blocks(k, a, e + ENTRY, bsize - unused, c);
		uint64_t next = e + bsize;
		if (fl & F_LAST) {
			/* an uncommitted range follows, or the segment's end */
			size_t i = 0;
			while (i < nu && u[i].addr != next)
				i++;
			if (i == nu || u[i].size > last - next || u[i].size % PAGE || !u[i].size)
				return;
			next += u[i].size;
		}
		e = next;
	}
}

static void walk_virtual(ntw *k, int ai, const win_heap *h, uint64_t v)
{
	vm_arena *a = &k->r->arenas[ai];
	uint64_t commit, reserve, bsize;
	unsigned fl, unused;
	uint16_t raw;
	if (!nt_word(k, v + V_COMMIT, &commit) || !nt_word(k, v + V_RESERVE, &reserve) ||
	    !entry_at(k, h, v + V_BUSY, &bsize, &fl, &unused, &raw)) {
		nt_problem(k, v, "large block of heap 0x%llx unreadable or damaged", (unsigned long long)h->addr);
		return;
	}
	/* the busy entry's size field holds the bytes left unused */
	if (!(fl & F_BUSY) || !(fl & F_VIRTUAL) || commit < V_HDR || commit > reserve || v % PAGE ||
	    raw > commit - V_HDR) {
		nt_problem(k, v, "damaged large block of heap 0x%llx", (unsigned long long)h->addr);
		return;
	}
	vm_heap_seg *g = nt_new_seg(k, "large", ai, v, reserve, commit);
	a->nlarge++;
	a->large_bytes += commit - V_HDR - raw;
	a->committed += commit;
	a->reserved += reserve;
	vm_chunk *c = nt_add_block(k, g, a, v, commit, true, V_HDR, commit - V_HDR - raw);
	if (h->lfh)
		nt_lfh_user_blocks(k, a, v + V_HDR, commit - V_HDR - raw, c);
}

/* the items of a list of the heap, each once, the list checked link by link */
static void walk_list(ntw *k, int ai, const win_heap *h, uint64_t head, uint64_t off, bool virt, ucr *u)
{
	uint64_t link = head, next;
	for (size_t n = 0;; n++) {
		if (!nt_next_link(k, link, &next)) {
			nt_problem(k, link, "%s list of heap 0x%llx is broken here", virt ? "large block" : "segment",
				   (unsigned long long)h->addr);
			return;
		}
		if (next == head)
			return;
		if (n == MAX_SEGS) {
			nt_problem(k, head, "more than %u items on a list: it is not followed further", MAX_SEGS);
			return;
		}
		if (virt)
			walk_virtual(k, ai, h, next - off);
		else
			walk_segment(k, ai, h, next - off, n, u);
		link = next;
	}
}

void nt_win_walk_heap(ntw *k, int ai)
{
	vm_arena *a = &k->r->arenas[ai];
	win_heap h = { .addr = a->addr };
	uint32_t fl, mask;
	uint8_t enc[16];
	if (!nt_u32(k, a->addr + H_FLAGS, &fl) || !nt_u32(k, a->addr + H_ENCODE_MASK, &mask) ||
	    !vm_reader_full(&k->rd, a->addr + H_ENCODING, enc, sizeof enc)) {
		nt_problem(k, a->addr, "heap header not in the dump's memory");
		return;
	}
	a->flags = fl;
	h.encoded = mask != 0;
	memcpy(h.key, enc + 8, 8);
	uint8_t fe = 0xff;
	if (vm_reader_full(&k->rd, a->addr + H_FRONT_END_TYPE, &fe, 1))
		a->front_end = fe == 0 ? "none" : fe == 1 ? "lookaside" : fe == 2 ? "lfh" : NULL;
	h.lfh = fe == 2;
	ucr *u = xmalloc(MAX_UCRS * sizeof *u);
	walk_list(k, ai, &h, a->addr + H_SEGMENTS, S_LIST, false, u);
	walk_list(k, ai, &h, a->addr + H_VIRTUAL, 0, true, u);
	free(u);
	if (h.lfh)
		a->note = "the low-fragmentation front end is on: its user blocks are busy back-end blocks "
			  "(each with its bucket, block size, blocks and busy ones by its bitmap); the blocks "
			  "in them are not listed (their places are encoded with a key of ntdll's)";
}
