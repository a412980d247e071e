/* Windows' own NT heap (the back end of Windows 7 to 11, 64-bit and
 * 32-bit), walked from memory: _HEAP begins with its first _HEAP_SEGMENT
 * (signature 0xffeeffee two words and a header in: 0x10, 32-bit 0x8)
 * and holds its own signature 0xeeffeeff (0x98, 32-bit 0x60); its
 * segments are on SegmentList, each with FirstEntry, LastValidEntry and
 * a list of uncommitted ranges (_HEAP_UCR_DESCRIPTOR) that the walk
 * jumps over; each block starts with a _HEAP_ENTRY (16 bytes, 32-bit 8:
 * the block granule) whose last 8 bytes {Size in granules, Flags,
 * SmallTagIndex, PreviousSize, SegmentOffset, UnusedBytes} are XORed
 * with the same bytes of the heap's Encoding when EncodeFlagMask is set,
 * and checked by SmallTagIndex (the XOR of the three bytes before it).
 * Blocks too large for a segment are on VirtualAllocdBlocks
 * (_HEAP_VIRTUAL_ALLOC_ENTRY). The low-fragmentation front end's blocks
 * live inside busy back-end blocks: those are recognised and counted
 * (nt_lfh.c), the blocks in them not listed (what places them is encoded
 * with a key of ntdll's); the segment heap is not walked at all.
 *
 * The offsets are those of the public symbols of ntdll (Windows 10, x64
 * and x86); the walk has not been checked against a dump made on
 * Windows (none of the public ones holds heap memory): the tests build
 * heaps by this description. Everything read is bounded and checked. */
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"

#include "nt_walker.h"

#define HEAP_SIG2 0xeeffeeffu
#define F_BUSY 0x01u
#define F_VIRTUAL 0x08u
#define F_LAST 0x10u
#define MAX_UCRS 4096
#define PAGE 0x1000ull

typedef struct win_layout {
	uint32_t entry; /* sizeof _HEAP_ENTRY: the block granule */
	/* _HEAP */
	uint64_t h_flags, h_encode_mask, h_encoding, h_signature, h_virtual, h_segments, h_front_end_type;
	/* _HEAP_SEGMENT */
	uint64_t s_signature, s_list, s_heap, s_base, s_pages, s_first, s_last, s_ucr_pages, s_ucrs;
	/* _HEAP_UCR_DESCRIPTOR */
	uint64_t u_segment_entry, u_address, u_size;
	/* _HEAP_VIRTUAL_ALLOC_ENTRY: its sizes, its busy entry, its size */
	uint64_t v_commit, v_reserve, v_busy, v_hdr;
} win_layout;

static const win_layout win10_64 = {
	16, 0x70, 0x7c, 0x80, 0x98, 0x110, 0x120, 0x1a2,
	0x10, 0x18, 0x28, 0x30, 0x38, 0x40, 0x48, 0x50, 0x60,
	0x10, 0x20, 0x28,
	0x20, 0x28, 0x30, 0x40,
};
static const win_layout win10_32 = {
	8, 0x40, 0x4c, 0x50, 0x60, 0x9c, 0xa4, 0xea,
	0x8, 0x10, 0x18, 0x1c, 0x20, 0x24, 0x28, 0x2c, 0x38,
	0x8, 0x10, 0x14,
	0x10, 0x14, 0x18, 0x20,
};

static const win_layout *layout_of(const ntw *k)
{
	return k->m->info.bits == 32 ? &win10_32 : &win10_64;
}

bool nt_win_is_heap(ntw *k, uint64_t addr)
{
	const win_layout *L = layout_of(k);
	uint32_t a, b;
	return addr % REGION_ALIGN == 0 && nt_u32(k, addr + L->s_signature, &a) && a == HEAP_SIGNATURE &&
	       nt_u32(k, addr + L->h_signature, &b) && b == HEAP_SIG2;
}

typedef struct win_heap {
	const win_layout *L;
	uint64_t addr;
	bool encoded;
	bool lfh; /* FrontEndHeapType 2: busy blocks may be the LFH's user blocks */
	uint8_t key[8]; /* Encoding's last 8 bytes */
} win_heap;

/* a _HEAP_ENTRY at addr, decoded and checked: size, flags, unused bytes */
static bool entry_at(ntw *k, const win_heap *h, uint64_t addr, uint64_t *size, unsigned *flags, unsigned *unused,
		     uint16_t *raw_size)
{
	uint8_t e[8]; /* the entry's last 8 bytes: the coded part */
	if (!vm_reader_full(&k->rd, addr + h->L->entry - 8, e, sizeof e))
		return false;
	if (h->encoded) {
		for (int i = 0; i < 8; i++)
			e[i] ^= h->key[i];
		if ((uint8_t)(e[0] ^ e[1] ^ e[2]) != e[3])
			return false;
	}
	*raw_size = ld_le16(e);
	*size = (uint64_t)*raw_size * h->L->entry;
	*flags = e[2];
	*unused = e[7];
	return true;
}

typedef struct ucr {
	uint64_t addr, size;
} ucr;

/* a segment's uncommitted ranges, from its own list */
static size_t ucrs_of(ntw *k, const win_layout *L, uint64_t seg, ucr *out)
{
	uint64_t head = seg + L->s_ucrs, link = head, next;
	size_t n = 0;
	while (n < MAX_UCRS && nt_next_link(k, link, &next) && next != head) {
		uint64_t d = next - L->u_segment_entry;
		if (!nt_word(k, d + L->u_address, &out[n].addr) || !nt_word(k, d + L->u_size, &out[n].size))
			break;
		n++;
		link = next;
	}
	return n;
}

static void walk_segment(ntw *k, int ai, const win_heap *h, uint64_t seg, size_t si, ucr *u)
{
	vm_arena *a = &k->r->arenas[ai];
	const win_layout *L = h->L;
	const uint32_t entry = L->entry;
	uint32_t sig, pages, ucr_pages;
	uint64_t heap, base, first, last;
	if (!nt_u32(k, seg + L->s_signature, &sig) || !nt_word(k, seg + L->s_heap, &heap) ||
	    !nt_word(k, seg + L->s_base, &base) || !nt_u32(k, seg + L->s_pages, &pages) ||
	    !nt_word(k, seg + L->s_first, &first) || !nt_word(k, seg + L->s_last, &last) ||
	    !nt_u32(k, seg + L->s_ucr_pages, &ucr_pages)) {
		nt_problem(k, seg, "segment %zu of heap 0x%llx not in the dump's memory", si, (unsigned long long)h->addr);
		return;
	}
	uint64_t size = (uint64_t)pages * PAGE;
	if (sig != HEAP_SIGNATURE || heap != h->addr || base != seg || ucr_pages > pages || first <= base ||
	    last > base + size || first >= last || (first - base) % entry || (last - base) % entry) {
		nt_problem(k, seg, "segment %zu of heap 0x%llx does not hold together", si, (unsigned long long)h->addr);
		return;
	}
	vm_heap_seg *g = nt_new_seg(k, "segment", ai, base, size, size - (uint64_t)ucr_pages * PAGE);
	a->nsegs++;
	a->committed += g->committed;
	a->reserved += size;
	if (k->flags & VM_HEAP_NO_BLOCKS)
		return;
	size_t nu = ucrs_of(k, L, seg, u);
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
		if (bsize == 0 || bsize > last - e || ((fl & F_BUSY) && (unused < entry || unused > bsize))) {
			nt_problem(k, e, "damaged block header (size %llu, unused %u)", (unsigned long long)bsize, unused);
			g->cut_short = true;
			return;
		}
		bool busy = fl & F_BUSY;
		vm_chunk *c = nt_add_block(k, g, a, e, bsize, busy, entry, busy ? bsize - unused : bsize - entry);
		if (busy && h->lfh)
			nt_lfh_user_blocks(k, a, e + entry, bsize - unused, c);
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
	const win_layout *L = h->L;
	const uint64_t hdr = L->v_hdr;
	uint64_t commit, reserve, bsize;
	unsigned fl, unused;
	uint16_t raw;
	if (!nt_word(k, v + L->v_commit, &commit) || !nt_word(k, v + L->v_reserve, &reserve) ||
	    !entry_at(k, h, v + L->v_busy, &bsize, &fl, &unused, &raw)) {
		nt_problem(k, v, "large block of heap 0x%llx unreadable or damaged", (unsigned long long)h->addr);
		return;
	}
	/* the busy entry's size field holds the bytes left unused */
	if (!(fl & F_BUSY) || !(fl & F_VIRTUAL) || commit < hdr || commit > reserve || v % PAGE ||
	    raw > commit - hdr) {
		nt_problem(k, v, "damaged large block of heap 0x%llx", (unsigned long long)h->addr);
		return;
	}
	vm_heap_seg *g = nt_new_seg(k, "large", ai, v, reserve, commit);
	a->nlarge++;
	a->large_bytes += commit - hdr - raw;
	a->committed += commit;
	a->reserved += reserve;
	vm_chunk *c = nt_add_block(k, g, a, v, commit, true, hdr, commit - hdr - raw);
	if (h->lfh)
		nt_lfh_user_blocks(k, a, v + hdr, commit - hdr - raw, c);
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
	const win_layout *L = layout_of(k);
	win_heap h = { .L = L, .addr = a->addr };
	uint32_t fl, mask;
	if (!nt_u32(k, a->addr + L->h_flags, &fl) || !nt_u32(k, a->addr + L->h_encode_mask, &mask) ||
	    !vm_reader_full(&k->rd, a->addr + L->h_encoding + L->entry - 8, h.key, sizeof h.key)) {
		nt_problem(k, a->addr, "heap header not in the dump's memory");
		return;
	}
	a->flags = fl;
	h.encoded = mask != 0;
	uint8_t fe = 0xff;
	if (vm_reader_full(&k->rd, a->addr + L->h_front_end_type, &fe, 1))
		a->front_end = fe == 0 ? "none" : fe == 1 ? "lookaside" : fe == 2 ? "lfh" : NULL;
	h.lfh = fe == 2;
	ucr *u = xmalloc(MAX_UCRS * sizeof *u);
	walk_list(k, ai, &h, a->addr + L->h_segments, L->s_list, false, u);
	walk_list(k, ai, &h, a->addr + L->h_virtual, 0, true, u);
	free(u);
	if (h.lfh)
		a->note = "the low-fragmentation front end is on: its user blocks are busy back-end blocks "
			  "(each with its bucket, block size, blocks and busy ones by its bitmap); the blocks "
			  "in them are not listed (their places are encoded with a key of ntdll's)";
}
