/* Large malloc chunks with mappings of their own ("mmapped chunks").
 * sysmalloc maps each one page-aligned and writes its header there:
 * prev_size (the alignment correction, 0 but on i386) and the size with
 * IS_MMAPPED; mp_.n_mmaps counts them and mp_.mmapped_mem their bytes.
 * The kernel merges adjacent anonymous mappings with the same flags, so
 * a chunk may share a VMA with other memory (python's allocator arenas,
 * other chunks, an arena heap above it, a .bss below it), anywhere in it
 * and with the VMA's first page never touched. Two passes find them:
 *  1. from the start of each anonymous read-write VMA, chunk after chunk
 *     while the sizes tile it: a read per VMA;
 *  2. where mp_ says some are still missing, the head of every page in
 *     memory (the page tables say which) of all anonymous read-write
 *     memory but malloc's own heaps, read BATCH heads per system call,
 *     jumping over each chunk found.
 * A VMA holding a chunk and something else is split: one mmap, one
 * allocation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glibc_heaps.h"
#include "base/bytes.h"
#include "base/format.h"
#include "base/util.h"

#define IS_MMAPPED 0x2u
#define NON_MAIN_ARENA 0x4u
#define MAX_CHUNKS_PER_REGION 4096
#define MAX_PROBES (1u << 20)     /* page heads pass 2 reads, at most (4 GiB in memory) */
#define MAX_EXAMINED (1u << 24)   /* pages whose presence it asks, at most (64 GiB) */
#define WINDOW (1u << 16)         /* pages whose presence is asked at once */
#define BATCH 1024                /* page heads per read (UIO_MAXIOV) */
#define MAX_SHARE_PAGES (1u << 20) /* a split VMA's statistics divided by presence up to this size */
#define HEAD 16                   /* bytes read per head: two words, and i386's correction */

/* anonymous read-write memory to search: [lo, hi) */
typedef struct span {
	uint64_t lo, hi;
	bool at_start;  /* lo is its VMA's start */
	bool strict;    /* the VMA is another allocation's so far: a header must be exactly sysmalloc's */
	uint64_t from;  /* where pass 2 begins: pass 1 looked below it */
} span;

typedef struct found_chunk {
	uint64_t addr, size, map_base, map_end; /* the chunk; the mapping malloc made for it */
} found_chunk;

typedef struct search {
	map_builder *b;
	size_t w;
	uint64_t pg;
	span *sp;
	size_t nsp, spcap;
	found_chunk *fc;
	size_t nf, fcap;
	uint64_t bytes;    /* of the mappings found */
	uint64_t unread;   /* anonymous read-write bytes the target could not give */
	uint64_t probed;   /* page heads read in pass 2 */
	uint64_t examined; /* pages whose presence pass 2 asked */
	bool gave_up;      /* pass 2 ran out of budget */
} search;

/* a chunk's header at `at`, `room` bytes to the end of its span: the
 * size is page-granular with IS_MMAPPED, prev_size the correction;
 * `strict` wants exactly IS_MMAPPED among the flags, as sysmalloc
 * writes it */
static bool chunk_head(const uint8_t *hdr, size_t w, uint64_t pg, uint64_t room, bool strict, uint64_t *corr_out,
		       uint64_t *size_out)
{
	for (uint64_t corr = 0; corr + 2 * w <= HEAD; corr += w) {
		uint64_t prev = ld_word(hdr + corr, w);
		uint64_t size = ld_word(hdr + corr + w, w);
		uint64_t cs = size & ~(uint64_t)7;
		bool flags = strict ? (size & 7) == IS_MMAPPED : (size & IS_MMAPPED) && !(size & NON_MAIN_ARENA);
		if (prev == corr && flags && cs >= pg && cs <= room && corr <= room - cs && (corr + cs) % pg == 0) {
			*corr_out = corr;
			*size_out = cs;
			return true;
		}
	}
	return false;
}

static void add_found(search *s, uint64_t map_base, uint64_t corr, uint64_t size)
{
	found_chunk *f = ARRAY_PUSH(s->fc, s->nf, s->fcap);
	f->addr = map_base + corr;
	f->size = size;
	f->map_base = map_base;
	f->map_end = map_base + corr + size;
	s->bytes += corr + size;
}

static void add_span(search *s, uint64_t lo, uint64_t hi, bool at_start, bool strict)
{
	lo = (lo + s->pg - 1) / s->pg * s->pg;
	if (lo >= hi || hi - lo < s->pg)
		return;
	span *x = ARRAY_PUSH(s->sp, s->nsp, s->spcap);
	x->lo = lo;
	x->hi = hi;
	x->at_start = at_start;
	x->strict = strict;
	x->from = lo;
}

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* the anonymous read-write memory of the map, less malloc's heaps (the
 * brk heap, the arenas' heaps in use: their contents) */
static void make_spans(search *s)
{
	vm_map *m = s->b->m;
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (!glh_anon_private(r) || !glh_rw(r))
			continue;
		if (r->stats.valid && r->stats.rss + r->stats.swap == 0)
			continue; /* never written */
		if (r->flags & VM_RF_NO_DATA) {
			s->unread += r->size;
			continue;
		}
		if (r->flags & VM_RF_PART_DATA)
			s->unread += r->size - r->held;
		uint64_t(*heaps)[2] = xcalloc(r->ncontents + 1, sizeof *heaps);
		size_t nh = 0;
		for (size_t c = 0; c < r->ncontents; c++)
			if (r->contents[c].kind == VM_CK_HEAP) {
				heaps[nh][0] = r->contents[c].addr;
				heaps[nh][1] = r->contents[c].addr + r->contents[c].size;
				if (heaps[nh][1] < heaps[nh][0])
					heaps[nh][1] = UINT64_MAX;
				nh++;
			}
		qsort(heaps, nh, sizeof *heaps, cmp_range);
		bool strict = mb_claimed(s->b, i);
		uint64_t at = r->base, end = r->base + r->size;
		for (size_t h = 0; h < nh; h++) {
			if (heaps[h][0] > at)
				add_span(s, at, heaps[h][0] < end ? heaps[h][0] : end, at == r->base, strict);
			if (heaps[h][1] > at)
				at = heaps[h][1];
		}
		if (at < end)
			add_span(s, at, end, at == r->base, strict);
		free(heaps);
	}
}

static int cmp_span_size(const void *a, const void *b)
{
	const span *x = a, *y = b;
	uint64_t sx = x->hi - x->lo, sy = y->hi - y->lo;
	return sx != sy ? (sx > sy) - (sx < sy) : (x->lo > y->lo) - (x->lo < y->lo);
}

/* pass 1: chunks tiling a VMA from its start */
static void from_starts(search *s)
{
	map_builder *b = s->b;
	vm_read_req *reqs = xcalloc(s->nsp ? s->nsp : 1, sizeof *reqs);
	uint8_t(*heads)[HEAD] = xcalloc(s->nsp ? s->nsp : 1, HEAD);
	size_t n = 0;
	for (size_t k = 0; k < s->nsp; k++) {
		span *x = &s->sp[k];
		if (!x->at_start)
			continue;
		/* the first page is looked at here (or is known to hold nothing) */
		x->from = x->lo + s->pg;
		if (!glh_maybe_written(b, vm_map_region_at(b->m, x->lo), x->lo))
			continue;
		reqs[n] = (vm_read_req){ .addr = x->lo, .buf = heads[n], .len = HEAD };
		n++;
	}
	vm_read_many(b->t, reqs, n);
	for (size_t q = 0, k = 0; q < n; q++) {
		while (s->sp[k].lo != reqs[q].addr || !s->sp[k].at_start)
			k++;
		span *x = &s->sp[k];
		const vm_region *r = vm_map_region_at(b->m, x->lo);
		uint8_t hdr[HEAD];
		memcpy(hdr, heads[q], HEAD);
		if (reqs[q].got < HEAD) {
			s->unread += s->pg;
			continue;
		}
		uint64_t off = 0, corr, csize;
		for (size_t found = 0; found < MAX_CHUNKS_PER_REGION; found++) {
			if (!chunk_head(hdr, s->w, s->pg, x->hi - x->lo - off, x->strict, &corr, &csize))
				break;
			add_found(s, x->lo + off, corr, csize);
			off += corr + csize;
			x->from = x->lo + off;
			/* the page after a chunk may be another mapping's, never
			 * written: reading it would fault it in */
			if (x->lo + off >= x->hi || !glh_maybe_written(b, r, x->lo + off) ||
			    vm_read_full(b->t, x->lo + off, hdr, HEAD) < 0)
				break;
		}
	}
	free(heads);
	free(reqs);
}

/* whether mp_ says chunks are still missing */
static bool missing(const search *s, const vm_heap_facts *f)
{
	return s->nf < f->n_mmaps || (s->nf == f->n_mmaps && s->bytes != f->mmapped_mem);
}

/* pass 2 in one span: the head of each page in memory, a window of
 * pages at a time (a sparse VMA may span terabytes: a sanitizer's shadow) */
static void probe_span(search *s, const span *x, const vm_heap_facts *f)
{
	map_builder *b = s->b;
	uint64_t pg = s->pg;
	int8_t *present = xmalloc(WINDOW);
	vm_read_req rq[BATCH];
	uint8_t hb[BATCH][HEAD];
	for (uint64_t at = x->from; at < x->hi && missing(s, f) && !s->gave_up;) {
		uint64_t npages = (x->hi - at) / pg;
		if (npages > WINDOW)
			npages = WINDOW;
		if (npages > MAX_EXAMINED - s->examined)
			npages = MAX_EXAMINED - s->examined;
		if (!npages) {
			s->gave_up = true;
			break;
		}
		s->examined += npages;
		if (vm_target_present_range(b->t, at, npages, present) < 0)
			memset(present, -1, (size_t)npages);
		uint64_t next = at + npages * pg;
		bool jumped = false;
		for (uint64_t p = 0; p < npages && !jumped;) {
			size_t nq = 0;
			for (; p < npages && nq < BATCH; p++)
				if (present[p] != 0) {
					rq[nq] = (vm_read_req){ .addr = at + p * pg, .buf = hb[nq], .len = HEAD };
					nq++;
				}
			if (nq > MAX_PROBES - s->probed) {
				nq = (size_t)(MAX_PROBES - s->probed);
				s->gave_up = true;
			}
			s->probed += nq;
			vm_read_many(b->t, rq, nq);
			for (size_t q = 0; q < nq; q++) {
				uint64_t corr, csize, h = rq[q].addr;
				if (rq[q].got < HEAD) {
					s->unread += pg;
					continue;
				}
				if (!chunk_head(hb[q], s->w, pg, x->hi - h, true, &corr, &csize))
					continue;
				add_found(s, h, corr, csize);
				next = h + corr + csize; /* on past the chunk, in a new window */
				jumped = true;
				break;
			}
			if (s->gave_up)
				break;
		}
		at = next;
	}
	free(present);
}

static int cmp_found(const void *a, const void *b)
{
	const found_chunk *x = a, *y = b;
	return (x->addr < y->addr) ? 1 : (x->addr > y->addr) ? -1 : 0; /* highest first */
}

/* how much of region r's statistics lie below `at`: by the pages in
 * memory on each side where the target tells, else by size */
static double share_of(map_builder *b, const vm_region *r, uint64_t at)
{
	uint64_t pg = b->m->info.page_size, npages = r->size / pg;
	if (!r->stats.valid || npages == 0 || npages > MAX_SHARE_PAGES)
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

/* a piece split off a VMA that another group claimed whole: its own
 * again when it holds none of that group's contents */
static void release(map_builder *b, size_t ri)
{
	vm_region *r = &b->m->regions[ri];
	mb_reclaim(b, ri, -1);
	if (r->type == VM_TYPE_IMAGE)
		r->type = VM_TYPE_PRIVATE;
}

/* one mmap, one allocation: split each chunk's mapping off the VMA it
 * shares, from the top down so that indexes below stay put */
static void split_off(search *s)
{
	map_builder *b = s->b;
	vm_map *m = b->m;
	if (s->nf > 1)
		qsort(s->fc, s->nf, sizeof *s->fc, cmp_found);
	for (size_t c = 0; c < s->nf; c++) {
		const found_chunk *x = &s->fc[c];
		size_t ri = mb_find(b, x->map_base);
		if (ri == (size_t)-1)
			continue;
		int owner = b->group[ri];
		const vm_region *r = &m->regions[ri];
		size_t above = (size_t)-1, below = (size_t)-1;
		if (x->map_end < r->base + r->size)
			above = mb_split(b, ri, x->map_end, share_of(b, r, x->map_end));
		r = &m->regions[ri];
		if (x->map_base > r->base) {
			below = ri;
			ri = mb_split(b, ri, x->map_base, share_of(b, r, x->map_base));
			if (above != (size_t)-1)
				above++;
		}
		if (ri == (size_t)-1)
			continue;
		int gid = mb_group_new(b, VM_USAGE_HEAP, "large malloc chunk (mmapped)");
		mb_reclaim(b, ri, gid);
		vm_region *cr = &m->regions[ri];
		if (cr->type == VM_TYPE_IMAGE)
			cr->type = VM_TYPE_PRIVATE;
		vm_region_add_content(cr, VM_CK_HEAP, x->addr, x->size, "mmapped chunk",
				      "a large malloc block with a mapping of its own");
		if (owner < 0)
			continue;
		/* the owner keeps the pieces with its contents (a .bss below,
		 * an arena heap above), else the piece it began with */
		bool above_keeps = above != (size_t)-1 && m->regions[above].ncontents;
		if (above != (size_t)-1 && !above_keeps)
			release(b, above);
		if (below != (size_t)-1 && !m->regions[below].ncontents && above_keeps)
			release(b, below);
	}
}

/* text appended to buf (of n bytes) at *at, cut at the end */
static void append(char *buf, size_t n, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t n, size_t *at, const char *fmt, ...)
{
	if (*at >= n - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(buf + *at, n - *at, fmt, ap);
	va_end(ap);
	if (k > 0)
		*at = *at + (size_t)k < n - 1 ? *at + (size_t)k : n - 1;
}

/* the count disagrees with mp_: say both, and what may explain it */
static void warn_count(search *s, const vm_heap_facts *f)
{
	char a[32], c[32], why[512] = "";
	size_t n = 0;
	if (s->nf < f->n_mmaps || s->bytes < f->mmapped_mem) {
		if (s->unread)
			append(why, sizeof why, &n, "; %s of anonymous memory could not be read",
			       fmt_size(s->unread, a, sizeof a));
		if (s->gave_up)
			append(why, sizeof why, &n,
			       "; the search stopped after reading the heads of %llu pages in %s of address space",
			       (unsigned long long)s->probed, fmt_size(s->examined * s->pg, a, sizeof a));
		if (!s->unread && !s->gave_up)
			append(why, sizeof why, &n,
			       "; no other page of anonymous read-write memory begins with such a header "
			       "(overwritten, or its page re-protected?)");
	}
	if (s->nf > f->n_mmaps || (s->nf == f->n_mmaps && s->bytes > f->mmapped_mem))
		append(why, sizeof why, &n,
		       "; some headers found may be data that looks like one, or chunks of another copy of malloc");
	vm_map_warn(s->b->m, "heap: %zu large mmapped malloc chunks found (%s), mp_.n_mmaps says %u (mp_.mmapped_mem %s)%s",
		    s->nf, fmt_size(s->bytes, a, sizeof a), f->n_mmaps, fmt_size(f->mmapped_mem, c, sizeof c), why);
}

void glh_mmapped_chunks(map_builder *b, heap_ctx *hc)
{
	vm_map *m = b->m;
	if (m->info.os == VM_OS_WINDOWS)
		return; /* no glibc */
	search s = { .b = b, .w = m->info.bits == 32 ? 4 : 8, .pg = m->info.page_size ? m->info.page_size : 4096 };
	make_spans(&s);
	from_starts(&s);
	/* mp_ counts the chunks: look further where some are missing */
	const vm_heap_facts *f = s.nsp && m->info.os == VM_OS_LINUX ? glh_facts(b, hc) : NULL;
	if (f && f->mmaps_known) {
		/* the smallest first: a sparse VMA of terabytes (a sanitizer's
		 * shadow) must not use up the budget before the rest */
		if (s.nsp > 1)
			qsort(s.sp, s.nsp, sizeof *s.sp, cmp_span_size);
		for (size_t k = 0; k < s.nsp && missing(&s, f) && !s.gave_up; k++) {
			const span *x = &s.sp[k];
			if (f->brk_known && f->brk_lo >= x->lo && f->brk_lo < x->hi)
				continue;
			probe_span(&s, x, f);
		}
		if (s.nf != f->n_mmaps || s.bytes != f->mmapped_mem)
			warn_count(&s, f);
	}
	split_off(&s);
	free(s.fc);
	free(s.sp);
}
