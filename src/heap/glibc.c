/* glibc malloc, walked from target memory.
 *
 * Layouts follow the glibc version (read from libc's __nptl_version;
 * the tables are in formats/layouts.c):
 *   - malloc_state gained have_fastchunks in 2.27;
 *   - tcache counts became 16-bit in 2.30;
 *   - single-linked lists (tcache, fastbins) are "safe-linked" since 2.32:
 *     a pointer stored at P is kept as (P >> 12) ^ pointer;
 *   - heap_info's size is taken from the arena itself (it follows
 *     heap_info in an arena's first heap).
 * main_arena comes from libc's symbols, or from a scan of libc's
 * writable data for a malloc_state that holds together. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"
#include "vmatlas/layout.h"
#include "vmatlas/heap.h"
#include "vmatlas/threads.h"

#define NBINS 128
#define TCACHE_BINS 64
#define MAX_ARENAS 1024
#define MAX_LIST (1u << 22)
#define WINDOW (4u << 20)

typedef struct layout {
	size_t w;            /* SIZE_SZ */
	uint64_t align;      /* MALLOC_ALIGNMENT */
	uint64_t minsize;
	uint64_t heap_max;   /* HEAP_MAX_SIZE */
	int nfastbins;       /* 10 on 64-bit, 11 on i386 */
	/* malloc_state's fields, and its size */
	size_t off_fastbins, off_top, off_bins, off_next, off_system_mem, state_size;
	/* heap_info's, tcache_perthread_struct's */
	size_t off_ar_ptr, off_prev, off_hsize, off_entries, tcache_size;
	/* malloc_chunk's links */
	size_t off_fd, off_bk;
	bool u16_counts;
	bool safe_linking;
} layout;

typedef struct free_mark {
	uint64_t addr;
	vm_bin bin;
	int index;
	int arena;
} free_mark;

typedef struct walker {
	const vm_map *m;
	vm_target *t;
	vm_reader rd;
	vm_symbolizer *s;
	layout L;
	unsigned flags;
	vm_heap_report *r;
	free_mark *marks;
	size_t nmarks, mcap;
	/* a window of target memory, for walking chunk headers */
	uint8_t *win;
	uint64_t wbase;
	size_t wlen;
} walker;

static void problem(walker *k, uint64_t addr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(walker *k, uint64_t addr, const char *fmt, ...)
{
	vm_heap_report *r = k->r;
	if (r->nproblems >= 1000)
		return;
	vm_heap_problem *p = ARRAY_PUSH(r->problems, r->nproblems, r->pcap);
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	p->addr = addr;
	p->what = xstrdup(buf);
}

static bool rd(walker *k, uint64_t addr, uint64_t *v)
{
	if (addr >= k->wbase && addr - k->wbase + k->L.w <= k->wlen) {
		*v = ld_word(k->win + (addr - k->wbase), k->L.w);
		return true;
	}
	return vm_reader_word(&k->rd, addr, k->L.w, v);
}

/* chunk headers are read through a window, a few MiB at a time */
static bool rdw(walker *k, uint64_t addr, uint64_t *v)
{
	if (!(addr >= k->wbase && addr - k->wbase + k->L.w <= k->wlen)) {
		ssize_t n = vm_read(k->t, addr, k->win, WINDOW);
		k->wbase = addr;
		k->wlen = n > 0 ? (size_t)n : 0;
	}
	return rd(k, addr, v);
}

/* MALLOC_ALIGNMENT applies to user memory, two words into the chunk
 * (on i386 the chunks themselves are 8 mod 16) */
static bool chunk_aligned(const walker *k, uint64_t chunk)
{
	return (chunk + 2 * k->L.w) % k->L.align == 0;
}

static uint64_t reveal(const walker *k, uint64_t pos, uint64_t v)
{
	return k->L.safe_linking ? (pos >> 12) ^ v : v;
}

/* ---- version and layout ---- */

static void version_of(walker *k, const vm_module *libc, int *major, int *minor)
{
	uint64_t a;
	char v[16] = "";
	*major = *minor = 0;
	if (libc && vm_symbol_lookup(k->s, libc->name, "__nptl_version", &a) &&
	    vm_read(k->t, a, v, sizeof v - 1) > 0) {
		v[sizeof v - 1] = 0;
		if (sscanf(v, "%d.%d", major, minor) == 2)
			snprintf(k->r->version, sizeof k->r->version, "%d.%d", *major, *minor);
	}
}

/* offsets from the layout tables, resolved once: the walk is hot */
static void make_layout(layout *L, int bits, int major, int minor)
{
	int ver = major ? major * 100 + minor : 0; /* unknown: the newest */
	vm_layout ms, hi, tc, ch;
	vm_layout_get(&ms, "malloc_state", bits, ver);
	vm_layout_get(&hi, "heap_info", bits, ver);
	vm_layout_get(&tc, "tcache_perthread_struct", bits, ver);
	vm_layout_get(&ch, "malloc_chunk", bits, ver);
	L->w = bits == 32 ? 4 : 8;
	L->align = 16; /* x86-64, and i386 since 2.26 */
	L->minsize = L->w == 8 ? 32 : 16;
	L->heap_max = L->w == 8 ? (64u << 20) : (1u << 20);
	L->nfastbins = (int)vm_layout_field_get(&ms, "fastbinsY")->count;
	L->off_fastbins = vm_layout_off(&ms, "fastbinsY");
	L->off_top = vm_layout_off(&ms, "top");
	L->off_bins = vm_layout_off(&ms, "bins");
	L->off_next = vm_layout_off(&ms, "next");
	L->off_system_mem = vm_layout_off(&ms, "system_mem");
	L->state_size = ms.size;
	L->off_ar_ptr = vm_layout_off(&hi, "ar_ptr");
	L->off_prev = vm_layout_off(&hi, "prev");
	L->off_hsize = vm_layout_off(&hi, "size");
	L->off_entries = vm_layout_off(&tc, "entries");
	L->tcache_size = tc.size;
	L->off_fd = vm_layout_off(&ch, "fd");
	L->off_bk = vm_layout_off(&ch, "bk");
	L->u16_counts = vm_layout_field_get(&tc, "counts")->size == 2;
	L->safe_linking = !ver || ver >= 232;
}

/* ---- finding main_arena ---- */

static const vm_module *find_libc(const vm_map *m)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (strncmp(m->modules[i].name, "libc.so", 7) == 0 || strncmp(m->modules[i].name, "libc-2.", 7) == 0)
			return &m->modules[i];
	return NULL;
}

static const vm_region *brk_heap(const vm_map *m)
{
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].path && strcmp(m->regions[i].path, "[heap]") == 0)
			return &m->regions[i];
	return NULL;
}

/* a malloc_state candidate: its arena list comes back to it, and its top
 * chunk is in the brk heap (or still the initial placeholder) */
static bool plausible_arena(walker *k, uint64_t a)
{
	uint64_t top, next = a;
	if (!rd(k, a + k->L.off_top, &top))
		return false;
	const vm_region *h = brk_heap(k->m);
	bool top_ok = (h && range_contains(h->base, h->size, top)) || top == a + k->L.off_bins - 2 * k->L.w;
	if (!top_ok)
		return false;
	for (int i = 0; i < 64; i++) {
		if (!rd(k, next + k->L.off_next, &next) || !next)
			return false;
		if (next == a)
			return true;
	}
	return false;
}

static uint64_t scan_for_arena(walker *k, const vm_module *libc)
{
	for (size_t i = 0; i < k->m->nregions; i++) {
		const vm_region *r = &k->m->regions[i];
		if (!(r->prot & VM_PROT_WRITE) || !range_contains(libc->base, libc->size, r->base) ||
		    r->size > (8u << 20))
			continue;
		uint8_t *buf = xmalloc((size_t)r->size);
		ssize_t got = vm_read(k->t, r->base, buf, (size_t)r->size);
		for (size_t off = 0; got > 0 && off + k->L.state_size <= (size_t)got; off += k->L.w) {
			uint64_t next = 0;
			next = ld_word(buf + off + k->L.off_next, k->L.w);
			/* the main arena points to itself until a second arena exists,
			 * then into an arena heap or back round to itself */
			if (!next || (next != r->base + off && next % k->L.heap_max > 4096))
				continue;
			if (plausible_arena(k, r->base + off)) {
				free(buf);
				return r->base + off;
			}
		}
		free(buf);
	}
	return 0;
}

/* ---- free lists ---- */

static void mark(walker *k, uint64_t addr, vm_bin bin, int index, int arena)
{
	free_mark *f = ARRAY_PUSH(k->marks, k->nmarks, k->mcap);
	f->addr = addr;
	f->bin = bin;
	f->index = index;
	f->arena = arena;
}

/* A singly linked list whose link sits `link` bytes into each element;
 * elem_to_chunk turns an element address into its chunk. Floyd's
 * tortoise and hare stops a loop. */
static void walk_single(walker *k, uint64_t first, size_t link, uint64_t chunk_delta, vm_bin bin,
			int index, int arena, const char *name)
{
	uint64_t slow = first, fast = first;
	for (size_t n = 0; fast; n++) {
		if (n >= MAX_LIST) {
			problem(k, first, "%s %d: more than %u entries", name, index, MAX_LIST);
			return;
		}
		if (!chunk_aligned(k, fast - chunk_delta)) {
			problem(k, fast, "%s %d: misaligned entry", name, index);
			return;
		}
		mark(k, fast - chunk_delta, bin, index, arena);
		uint64_t v;
		if (!rd(k, fast + link, &v)) {
			problem(k, fast, "%s %d: entry unreadable", name, index);
			return;
		}
		fast = reveal(k, fast + link, v);
		if (n % 2 == 1) {
			uint64_t s2;
			if (!rd(k, slow + link, &s2))
				return;
			slow = reveal(k, slow + link, s2);
			if (fast && slow == fast) {
				problem(k, fast, "%s %d: the list loops", name, index);
				return;
			}
		}
	}
}

static void walk_bins(walker *k, uint64_t arena, int ai)
{
	size_t w = k->L.w;
	for (int i = 0; i < k->L.nfastbins; i++) {
		uint64_t p;
		if (rd(k, arena + k->L.off_fastbins + (uint64_t)i * w, &p) && p)
			walk_single(k, p, k->L.off_fd, 0, VM_BIN_FAST, i, ai, "fastbin");
	}
	for (int i = 1; i < NBINS; i++) {
		/* bin_at(i) is a fake chunk whose fd/bk are bins[2(i-1)], [+1] */
		uint64_t head = arena + k->L.off_bins + (uint64_t)(i - 1) * 2 * w - k->L.off_fd;
		uint64_t p, prev = head;
		if (!rd(k, head + k->L.off_fd, &p))
			continue;
		vm_bin bin = i == 1 ? VM_BIN_UNSORTED : i < 64 ? VM_BIN_SMALL : VM_BIN_LARGE;
		for (size_t n = 0; p != head; n++) {
			if (n >= MAX_LIST || !p || !chunk_aligned(k, p)) {
				problem(k, prev, "bin %d: bad forward link 0x%llx", i, (unsigned long long)p);
				break;
			}
			uint64_t bk, fd;
			if (!rd(k, p + k->L.off_bk, &bk) || !rd(k, p + k->L.off_fd, &fd)) {
				problem(k, p, "bin %d: chunk unreadable", i);
				break;
			}
			if (bk != prev) {
				problem(k, p, "bin %d: corrupted double-linked list (bk 0x%llx, expected 0x%llx)", i,
					(unsigned long long)bk, (unsigned long long)prev);
				break;
			}
			mark(k, p, bin, i, ai);
			prev = p;
			p = fd;
		}
	}
}

/* one thread's tcache_perthread_struct */
static void walk_tcache(walker *k, uint64_t tc, int ai)
{
	size_t w = k->L.w;
	uint64_t entries = tc + k->L.off_entries;
	k->r->ntcaches++;
	for (int i = 0; i < TCACHE_BINS; i++) {
		uint64_t e;
		if (rd(k, entries + (uint64_t)i * w, &e) && e)
			/* entries point at user memory; the next link is its first word */
			walk_single(k, e, 0, 2 * w, VM_BIN_TCACHE, i, ai, "tcache");
	}
}

static int arena_index_of(walker *k, uint64_t addr)
{
	for (size_t i = 0; i < k->r->narenas; i++) {
		const vm_arena *a = &k->r->arenas[i];
		if (a->main) {
			const vm_region *h = brk_heap(k->m);
			if (h && range_contains(h->base, h->size, addr))
				return (int)i;
		} else if ((addr & ~(k->L.heap_max - 1)) == (a->addr & ~(k->L.heap_max - 1))) {
			return (int)i;
		}
	}
	return 0;
}

static void find_tcaches(walker *k, const vm_module *libc)
{
	uint64_t off;
	const char *why = NULL;
	if (!libc || !libc->loader_entry || !vm_symbol_tls_offset(k->s, libc, "tcache", &off))
		return;
	vm_tdb *d = vm_tdb_open(k->m, k->t, k->s, &why);
	if (!d)
		return;
	for (size_t i = 0; i < k->m->nthreads; i++) {
		uint64_t var, tc;
		if (!vm_tdb_tls_addr(d, k->m->threads[i].tid, libc->loader_entry, off, &var) ||
		    !rd(k, var, &tc) || !tc)
			continue;
		k->r->tcache_source = "thread_db";
		walk_tcache(k, tc, arena_index_of(k, tc));
	}
	vm_tdb_close(d);
}

/* Without the tcache symbol: each thread's tcache_perthread_struct is
 * the first chunk it allocated in its arena, so look at the first chunk
 * of every arena's first heap and take it if it holds together (counts
 * agree with entries, entries point into the same arena). */
static bool tcache_candidate(walker *k, uint64_t chunk, uint64_t lo, uint64_t hi)
{
	size_t w = k->L.w, cw = k->L.u16_counts ? 2 : 1;
	uint64_t want = k->L.tcache_size + w; /* body + size field */
	want = (want + k->L.align - 1) / k->L.align * k->L.align;
	uint64_t sz;
	if (!rd(k, chunk + w, &sz) || (sz & ~(uint64_t)7) != want)
		return false;
	uint64_t tc = chunk + 2 * w, entries = tc + k->L.off_entries;
	for (int i = 0; i < TCACHE_BINS; i++) {
		uint64_t count = 0, e;
		uint8_t b[2] = { 0 };
		if (vm_read_full(k->t, tc + (uint64_t)i * cw, b, cw) < 0 || !rd(k, entries + (uint64_t)i * w, &e))
			return false;
		count = cw == 2 ? (uint64_t)(b[0] | b[1] << 8) : b[0];
		if ((count == 0) != (e == 0) || (e && !range_contains(lo, hi - lo, e)))
			return false;
	}
	return true;
}

static void scan_tcaches(walker *k)
{
	for (size_t i = 0; i < k->r->narenas; i++) {
		const vm_arena *a = &k->r->arenas[i];
		uint64_t first, lo, hi;
		if (a->main) {
			const vm_region *h = brk_heap(k->m);
			if (!h)
				continue;
			first = h->base;
			lo = h->base;
			hi = h->base + h->size;
		} else {
			first = a->addr + k->L.state_size;
			lo = a->addr & ~(k->L.heap_max - 1);
			hi = lo + k->L.heap_max;
		}
		uint64_t mis = (first + 2 * k->L.w) % k->L.align;
		if (mis)
			first += k->L.align - mis;
		if (tcache_candidate(k, first, lo, hi)) {
			k->r->tcache_source = "scan";
			walk_tcache(k, first + 2 * k->L.w, (int)i);
		}
	}
}

/* ---- the chunk walk ---- */

static int cmp_mark(const void *a, const void *b)
{
	const free_mark *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static const free_mark *find_mark(const walker *k, uint64_t addr)
{
	size_t lo = lower_bound_u64(k->marks, k->nmarks, sizeof *k->marks, offsetof(free_mark, addr), addr);
	return lo < k->nmarks && k->marks[lo].addr == addr ? &k->marks[lo] : NULL;
}

static void add_chunk(walker *k, vm_heap_seg *seg, vm_arena *a, uint64_t p, uint64_t size,
		      vm_chunk_state st, vm_bin bin, int idx)
{
	if (k->flags & VM_HEAP_CHUNKS) {
		vm_chunk *c = ARRAY_PUSH(seg->chunks, seg->nchunks, seg->ccap);
		c->addr = p;
		c->size = size;
		c->state = st;
		c->bin = bin;
		c->bin_index = idx;
	}
	if (st == VM_CHUNK_TOP)
		return; /* the arena's reserve, shown as top; not a free chunk */
	if (st == VM_CHUNK_USED) {
		seg->nused++;
		seg->used_bytes += size;
		a->nused++;
		a->used_bytes += size;
	} else {
		seg->nfree++;
		seg->free_bytes += size;
		a->nfree++;
		a->free_bytes += size;
		if (size > a->largest_free)
			a->largest_free = size;
		a->nbin[bin]++;
		a->binbytes[bin] += size;
	}
}

static void walk_segment(walker *k, vm_heap_seg *seg, vm_arena *a, uint64_t start, uint64_t end)
{
	size_t w = k->L.w;
	uint64_t p = start;
	seg->base = start;
	seg->size = end - start;
	while (p < end) {
		uint64_t sz;
		if (!rdw(k, p + w, &sz)) {
			problem(k, p, "chunk header unreadable");
			seg->cut_short = true;
			return;
		}
		uint64_t size = sz & ~(uint64_t)7;
		if (p == a->top) {
			a->top_size = size;
			add_chunk(k, seg, a, p, size, VM_CHUNK_TOP, VM_BIN_TOP, -1);
			return;
		}
		/* two fenceposts close a heap that another heap continues:
		 * a 2-word chunk in use, then one of size 0 in use */
		if (sz == (2 * w | 1)) {
			uint64_t after;
			if (rdw(k, p + 3 * w, &after) && after == 1)
				return;
		}
		if (size < k->L.minsize || size % k->L.align || size > end - p) {
			problem(k, p, "bad chunk size 0x%llx", (unsigned long long)sz);
			seg->cut_short = true;
			return;
		}
		uint64_t next_sz = 1;
		bool have_next = p + size < end && rdw(k, p + size + w, &next_sz);
		bool prev_inuse_bit = !have_next || (next_sz & 1);
		const free_mark *f = find_mark(k, p);
		if (f) {
			if (!prev_inuse_bit && (f->bin == VM_BIN_TCACHE || f->bin == VM_BIN_FAST))
				problem(k, p, "in a %s but its neighbour says it was consolidated",
					vm_bin_name(f->bin));
			if (prev_inuse_bit && f->bin != VM_BIN_TCACHE && f->bin != VM_BIN_FAST)
				problem(k, p, "in the %s bin but the next chunk's PREV_INUSE says in use",
					vm_bin_name(f->bin));
			add_chunk(k, seg, a, p, size, VM_CHUNK_FREE, f->bin, f->index);
		} else if (!prev_inuse_bit) {
			add_chunk(k, seg, a, p, size, VM_CHUNK_FREE, VM_BIN_LOST, -1);
			problem(k, p, "free (PREV_INUSE clear in the next chunk) but in no list");
		} else {
			add_chunk(k, seg, a, p, size, VM_CHUNK_USED, VM_BIN_NONE, -1);
		}
		/* a free chunk's size is repeated in the next chunk's prev_size */
		if (have_next && !prev_inuse_bit) {
			uint64_t prev_size;
			if (rdw(k, p + size, &prev_size) && prev_size != size)
				problem(k, p + size, "prev_size 0x%llx does not match the free chunk before it (0x%llx)",
					(unsigned long long)prev_size, (unsigned long long)size);
		}
		p += size;
	}
}

static vm_heap_seg *new_seg(walker *k, const char *kind, int arena)
{
	vm_heap_report *r = k->r;
	r->segs = xrealloc(r->segs, (r->nsegs + 1) * sizeof *r->segs);
	vm_heap_seg *s = &r->segs[r->nsegs++];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->arena = arena;
	return s;
}

/* whether chunk sizes from s lead exactly to top; with `plausible`, a
 * run of sane sizes that the budget cuts short will do */
static bool chains_to(walker *k, uint64_t s, uint64_t top, uint64_t *budget, bool plausible)
{
	for (uint64_t p = s;; (*budget)--) {
		if (*budget == 0)
			return plausible;
		if (p == top)
			return true;
		uint64_t sz;
		if (p > top || !rdw(k, p + k->L.w, &sz))
			return false;
		sz &= ~(uint64_t)7;
		if (sz < k->L.minsize || sz % k->L.align || sz > top - p)
			return false;
		p += sz;
	}
	return false;
}

/* Where malloc's chunks begin in the brk heap: at its start, except in
 * static programs, where glibc's startup took the first bytes for TLS.
 * Only there is a later start searched for: in a dynamic program a bad
 * first chunk is damage, to be reported, not skipped. */
static uint64_t first_chunk(walker *k, uint64_t lo, uint64_t top, bool is_static)
{
	uint64_t mis = (lo + 2 * k->L.w) % k->L.align; /* chunk2mem must be aligned */
	uint64_t s = mis ? lo + k->L.align - mis : lo;
	uint64_t budget = 64;
	if (!is_static || chains_to(k, s, top, &budget, true))
		return s;
	budget = 1u << 24;
	for (uint64_t c = s + k->L.align; c < top && c - s < (1u << 20) && budget; c += k->L.align)
		if (chains_to(k, c, top, &budget, false))
			return c;
	return s;
}

static void walk_main(walker *k, vm_arena *a, bool is_static)
{
	const vm_region *h = brk_heap(k->m);
	if (!h)
		return; /* malloc has not used brk yet */
	uint64_t end = h->base + h->size;
	uint64_t start = range_contains(h->base, h->size, a->top)
				 ? first_chunk(k, h->base, a->top, is_static)
				 : h->base;
	vm_heap_seg *s = new_seg(k, "brk", 0);
	walk_segment(k, s, a, start, end);
	if (!range_contains(h->base, h->size, a->top))
		problem(k, a->top, "main arena's top chunk is outside the brk heap");
}

/* the heaps of a secondary arena, from the one holding its top back to
 * the first; each starts with heap_info {ar_ptr, prev, size, ...} */
static void walk_arena_heaps(walker *k, vm_arena *a, int ai)
{
	uint64_t heaps[256];
	uint64_t sizes[256];
	size_t n = 0;
	uint64_t h = a->top & ~(k->L.heap_max - 1);
	while (h && n < 256) {
		uint64_t ar, prev, size;
		if (!rd(k, h + k->L.off_ar_ptr, &ar) || !rd(k, h + k->L.off_prev, &prev) ||
		    !rd(k, h + k->L.off_hsize, &size)) {
			problem(k, h, "heap_info unreadable");
			break;
		}
		if (ar != a->addr || size > k->L.heap_max || size < k->L.w * 8) {
			problem(k, h, "heap_info does not belong to arena 0x%llx", (unsigned long long)a->addr);
			break;
		}
		heaps[n] = h;
		sizes[n] = size;
		n++;
		if (prev && prev % k->L.heap_max) {
			problem(k, h, "heap_info's prev 0x%llx is not a heap", (unsigned long long)prev);
			break;
		}
		h = prev;
	}
	if (n == 0)
		return;
	/* the first heap holds the arena right after its heap_info */
	uint64_t first = heaps[n - 1];
	uint64_t hi_size = a->addr - first;
	if (a->addr < first || hi_size > 256)
		hi_size = 6 * k->L.w;
	for (size_t i = n; i-- > 0;) {
		uint64_t start = heaps[i] + hi_size;
		if (i == n - 1) {
			start = a->addr + k->L.state_size;
			uint64_t mis = (start + 2 * k->L.w) % k->L.align;
			if (mis)
				start += k->L.align - mis;
		}
		vm_heap_seg *s = new_seg(k, "heap", ai);
		walk_segment(k, s, a, start, heaps[i] + sizes[i]);
	}
}

/* large chunks with mappings of their own, as the map found them */
static void add_mmapped(walker *k)
{
	for (size_t i = 0; i < k->m->nregions; i++) {
		const vm_region *r = &k->m->regions[i];
		for (size_t c = 0; c < r->ncontents; c++) {
			const vm_content *ct = &r->contents[c];
			if (ct->kind != VM_CK_HEAP || strcmp(ct->name, "mmapped chunk") != 0)
				continue;
			vm_heap_seg *s = new_seg(k, "mmapped", -1);
			s->base = ct->addr;
			s->size = ct->size;
			s->nused = 1;
			s->used_bytes = ct->size;
			if (k->flags & VM_HEAP_CHUNKS) {
				vm_chunk *ch = ARRAY_PUSH(s->chunks, s->nchunks, s->ccap);
				ch->addr = ct->addr;
				ch->size = ct->size;
				ch->state = VM_CHUNK_USED;
				ch->bin = VM_BIN_NONE;
				ch->bin_index = -1;
			}
			k->r->mmapped_count++;
			k->r->mmapped_bytes += ct->size;
		}
	}
}

/* another allocator's library, or malloc resolving elsewhere */
static const char *other_allocator(walker *k)
{
	static const char *names[] = { "libjemalloc", "libtcmalloc", "libmimalloc", "libhoard",
				       "libtbbmalloc", "libsnmalloc" };
	for (size_t i = 0; i < k->m->nmodules; i++)
		for (size_t j = 0; j < ARRAY_LEN(names); j++)
			if (strncmp(k->m->modules[i].name, names[j], strlen(names[j])) == 0)
				return k->m->modules[i].name;
	return NULL;
}

int vm_heap_walk(const vm_map *m, vm_target *t, vm_symbolizer *s, unsigned flags, vm_heap_report *out)
{
	memset(out, 0, sizeof *out);
	if (m->info.os == VM_OS_WINDOWS) {
		/* no glibc there: its main_arena would be looked up in every
		 * module's symbols for nothing */
		out->note = xstrdup("a Windows process: its heaps are NT heaps, which are not walked yet");
		return 0;
	}
	walker k = { .m = m, .t = t, .rd = vm_reader_target(t), .s = s, .flags = flags, .r = out };
	const char *other = other_allocator(&k);
	if (other) {
		out->note = xasprintf("this process allocates with %s, not glibc malloc: its heap is not walked",
				      other);
		return 0;
	}
	const vm_module *libc = find_libc(m);
	int major, minor;
	version_of(&k, libc, &major, &minor);
	make_layout(&k.L, m->info.bits, major, minor);
	k.win = xmalloc(WINDOW);

	uint64_t arena0 = 0;
	if (vm_symbol_lookup(s, libc ? libc->name : NULL, "main_arena", &arena0)) {
		out->main_arena_source = "symbol";
	} else if (libc && (arena0 = scan_for_arena(&k, libc))) {
		out->main_arena_source = "scan";
	} else {
		out->note = xstrdup(libc ? "cannot find glibc's main_arena (no symbol, and no malloc_state "
					   "in libc's data holds together)"
					 : "no glibc in this process, and no main_arena symbol");
		free(k.win);
		return 0;
	}
	out->main_arena = arena0;
	out->walked = true;

	/* the arenas, round the list from main_arena */
	size_t acap = 0;
	for (uint64_t a = arena0; a && out->narenas < MAX_ARENAS;) {
		vm_arena *ar = ARRAY_PUSH(out->arenas, out->narenas, acap);
		memset(ar, 0, sizeof *ar);
		ar->addr = a;
		ar->main = a == arena0;
		if (!rd(&k, a + k.L.off_top, &ar->top) || !rd(&k, a + k.L.off_system_mem, &ar->system_mem)) {
			problem(&k, a, "arena unreadable");
			out->narenas--;
			break;
		}
		uint64_t next;
		if (!rd(&k, a + k.L.off_next, &next)) {
			problem(&k, a, "arena's next unreadable");
			break;
		}
		if (next == arena0)
			break;
		for (size_t i = 0; i < out->narenas; i++)
			if (out->arenas[i].addr == next) {
				problem(&k, a, "the arena list loops without coming back to main_arena");
				next = 0;
			}
		a = next;
	}
	for (size_t i = 0; i < out->narenas; i++)
		walk_bins(&k, out->arenas[i].addr, (int)i);
	find_tcaches(&k, libc);
	if (!out->ntcaches)
		scan_tcaches(&k);
	if (k.nmarks > 1)
		qsort(k.marks, k.nmarks, sizeof *k.marks, cmp_mark);
	for (size_t i = 0; i < out->narenas; i++) {
		if (out->arenas[i].main)
			walk_main(&k, &out->arenas[i], libc == NULL);
		else
			walk_arena_heaps(&k, &out->arenas[i], (int)i);
	}
	add_mmapped(&k);
	free(k.marks);
	free(k.win);
	return 0;
}
