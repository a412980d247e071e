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
#include "formats/elf_defs.h"
#include "vmatlas/elf.h"
#include "vmatlas/layout.h"
#include "vmatlas/heap.h"
#include "vmatlas/threads.h"

#include "glibc_walker.h"

/* ---- version and layout ---- */

static void version_of(walker *k, const vm_module *libc, int *major, int *minor)
{
	uint64_t a;
	char v[16] = "";
	*major = *minor = 0;
	if (vm_symbol_lookup(k->s, libc ? libc->name : NULL, "__nptl_version", &a) &&
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
	vm_layout ms, hi, tc, ch, mp;
	vm_layout_get(&mp, "malloc_par", bits, ver);
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
	L->off_n_mmaps = vm_layout_off(&mp, "n_mmaps");
	L->off_mmapped_mem = vm_layout_off(&mp, "mmapped_mem");
	L->off_sbrk_base = vm_layout_off(&mp, "sbrk_base");
}

/* ---- finding main_arena ---- */

static const vm_module *find_libc(const vm_map *m)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (strncmp(m->modules[i].name, "libc.so", 7) == 0 || strncmp(m->modules[i].name, "libc-2.", 7) == 0)
			return &m->modules[i];
	return NULL;
}

/* A statically linked program has no libc module and no dynamic loader:
 * glibc, main_arena with it, is inside the executable (the module whose
 * path is the process's executable) */
static const vm_module *static_exe(const vm_map *m)
{
	const vm_module *exe = NULL;
	for (size_t i = 0; i < m->nmodules; i++) {
		const vm_module *x = &m->modules[i];
		if (strncmp(x->name, "ld-", 3) == 0 || strncmp(x->name, "ld.so", 5) == 0)
			return NULL;
		if (!exe && m->info.exe && x->path && strcmp(x->path, m->info.exe) == 0)
			exe = x;
	}
	return exe;
}

static const vm_region *named_brk_heap(const vm_map *m)
{
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].path && strcmp(m->regions[i].path, "[heap]") == 0)
			return &m->regions[i];
	return NULL;
}

static bool anon_rw(const vm_region *r)
{
	return r && r->state == VM_STATE_COMMIT && (!r->path || !strcmp(r->path, "[heap]")) &&
	       (r->prot & (VM_PROT_READ | VM_PROT_WRITE)) == (VM_PROT_READ | VM_PROT_WRITE);
}

bool gw_in_brk(const walker *k, uint64_t addr)
{
	return addr >= k->brk_lo && addr < k->brk_hi;
}

/* a malloc_state candidate: its arena list comes back to it, and its top
 * chunk is in the brk heap (or still the initial placeholder) */
static bool plausible_arena(walker *k, uint64_t a)
{
	uint64_t top, next = a;
	if (!gw_rd(k, a + k->L.off_top, &top))
		return false;
	/* (before the brk heap is known: any anonymous memory will do) */
	const vm_region *h = vm_map_region_at(k->m, top);
	bool top_ok = anon_rw(h) || top == a + k->L.off_bins - 2 * k->L.w;
	if (!top_ok)
		return false;
	for (int i = 0; i < 64; i++) {
		if (!gw_rd(k, next + k->L.off_next, &next) || !next)
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
void gw_walk_single(walker *k, uint64_t first, size_t link, uint64_t chunk_delta, vm_bin bin,
			int index, int arena, const char *name)
{
	uint64_t slow = first, fast = first;
	for (size_t n = 0; fast; n++) {
		if (n >= MAX_LIST) {
			gw_problem(k, first, "%s %d: more than %u entries", name, index, MAX_LIST);
			return;
		}
		if (!gw_chunk_aligned(k, fast - chunk_delta)) {
			gw_problem(k, fast, "%s %d: misaligned entry", name, index);
			return;
		}
		mark(k, fast - chunk_delta, bin, index, arena);
		uint64_t v;
		if (!gw_rd(k, fast + link, &v)) {
			gw_problem(k, fast, "%s %d: entry unreadable", name, index);
			return;
		}
		fast = gw_reveal(k, fast + link, v);
		if (n % 2 == 1) {
			uint64_t s2;
			if (!gw_rd(k, slow + link, &s2))
				return;
			slow = gw_reveal(k, slow + link, s2);
			if (fast && slow == fast) {
				gw_problem(k, fast, "%s %d: the list loops", name, index);
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
		if (gw_rd(k, arena + k->L.off_fastbins + (uint64_t)i * w, &p) && p)
			gw_walk_single(k, p, k->L.off_fd, 0, VM_BIN_FAST, i, ai, "fastbin");
	}
	for (int i = 1; i < NBINS; i++) {
		/* bin_at(i) is a fake chunk whose fd/bk are bins[2(i-1)], [+1] */
		uint64_t head = arena + k->L.off_bins + (uint64_t)(i - 1) * 2 * w - k->L.off_fd;
		uint64_t p, prev = head;
		if (!gw_rd(k, head + k->L.off_fd, &p))
			continue;
		vm_bin bin = i == 1 ? VM_BIN_UNSORTED : i < 64 ? VM_BIN_SMALL : VM_BIN_LARGE;
		for (size_t n = 0; p != head; n++) {
			if (n >= MAX_LIST || !p || !gw_chunk_aligned(k, p)) {
				gw_problem(k, prev, "bin %d: bad forward link 0x%llx", i, (unsigned long long)p);
				break;
			}
			uint64_t bk, fd;
			if (!gw_rd(k, p + k->L.off_bk, &bk) || !gw_rd(k, p + k->L.off_fd, &fd)) {
				gw_problem(k, p, "bin %d: chunk unreadable", i);
				break;
			}
			if (bk != prev) {
				gw_problem(k, p, "bin %d: corrupted double-linked list (bk 0x%llx, expected 0x%llx)", i,
					(unsigned long long)bk, (unsigned long long)prev);
				break;
			}
			mark(k, p, bin, i, ai);
			prev = p;
			p = fd;
		}
	}
}

/* ---- the chunk walk ---- */

static int cmp_mark(const void *a, const void *b)
{
	const free_mark *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* the walk goes up through a heap: start from where the last look ended */
static const free_mark *find_mark(walker *k, uint64_t addr)
{
	size_t lo = k->mcur;
	if (lo > k->nmarks || (lo > 0 && k->marks[lo - 1].addr >= addr))
		lo = lower_bound_u64(k->marks, k->nmarks, sizeof *k->marks, offsetof(free_mark, addr), addr);
	else
		for (size_t n = 0; lo < k->nmarks && k->marks[lo].addr < addr; lo++)
			if (++n == 16) {
				lo = lower_bound_u64(k->marks, k->nmarks, sizeof *k->marks, offsetof(free_mark, addr), addr);
				break;
			}
	k->mcur = lo;
	return lo < k->nmarks && k->marks[lo].addr == addr ? &k->marks[lo] : NULL;
}

static void add_chunk(walker *k, vm_heap_seg *seg, vm_arena *a, uint64_t p, uint64_t size,
		      vm_chunk_state st, vm_bin bin, int idx)
{
	if (k->flags & VM_HEAP_CHUNKS) {
		vm_chunk *c = ARRAY_PUSH(seg->chunks, seg->nchunks, seg->ccap);
		*c = (vm_chunk){ .addr = p, .size = size, .state = st, .bin = bin, .bin_index = idx };
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
		if (!gw_rd(k, p + w, &sz)) {
			gw_problem(k, p, "chunk header unreadable");
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
			if (gw_rd(k, p + 3 * w, &after) && after == 1)
				return;
		}
		if (size < k->L.minsize || size % k->L.align || size > end - p) {
			gw_problem(k, p, "bad chunk size 0x%llx", (unsigned long long)sz);
			seg->cut_short = true;
			return;
		}
		uint64_t next_sz = 1;
		bool have_next = p + size < end && gw_rd(k, p + size + w, &next_sz);
		bool prev_inuse_bit = !have_next || (next_sz & 1);
		const free_mark *f = find_mark(k, p);
		if (f) {
			if (!prev_inuse_bit && (f->bin == VM_BIN_TCACHE || f->bin == VM_BIN_FAST))
				gw_problem(k, p, "in a %s but its neighbour says it was consolidated",
					vm_bin_name(f->bin));
			if (prev_inuse_bit && f->bin != VM_BIN_TCACHE && f->bin != VM_BIN_FAST)
				gw_problem(k, p, "in the %s bin but the next chunk's PREV_INUSE says in use",
					vm_bin_name(f->bin));
			add_chunk(k, seg, a, p, size, VM_CHUNK_FREE, f->bin, f->index);
		} else if (!prev_inuse_bit) {
			add_chunk(k, seg, a, p, size, VM_CHUNK_FREE, VM_BIN_LOST, -1);
			gw_problem(k, p, "free (PREV_INUSE clear in the next chunk) but in no list");
		} else {
			add_chunk(k, seg, a, p, size, VM_CHUNK_USED, VM_BIN_NONE, -1);
		}
		/* a free chunk's size is repeated in the next chunk's prev_size */
		if (have_next && !prev_inuse_bit) {
			uint64_t prev_size;
			if (gw_rd(k, p + size, &prev_size) && prev_size != size)
				gw_problem(k, p + size, "prev_size 0x%llx does not match the free chunk before it (0x%llx)",
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
		if (p > top || !gw_rd(k, p + k->L.w, &sz))
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

/* The brk heap: from mp_.sbrk_base where libc's symbols have mp_, else
 * the anonymous region holding the main arena's top, else the region the
 * target calls [heap]. In a core that name is a guess (the first
 * anonymous region after the executable), and a position-dependent
 * program's .bss tail is such a region. */
static void find_brk(walker *k, const vm_module *libc, const vm_arena *main)
{
	const vm_region *r = NULL;
	uint64_t mp, sb;
	if (vm_symbol_lookup(k->s, libc ? libc->name : NULL, "mp_", &mp)) {
		k->mp = mp;
		if (gw_rd(k, mp + k->L.off_sbrk_base, &sb) && sb && anon_rw(r = vm_map_region_at(k->m, sb))) {
			k->brk_lo = sb;
			k->brk_exact = true;
		} else {
			r = NULL;
		}
	}
	if (!r && anon_rw(vm_map_region_at(k->m, main->top))) {
		r = vm_map_region_at(k->m, main->top);
		k->brk_lo = r->base;
	}
	if (!r && (r = named_brk_heap(k->m)))
		k->brk_lo = r->base;
	if (r)
		k->brk_hi = r->base + r->size;
}

/* the main arena's first chunk in the brk heap */
uint64_t gw_brk_start(walker *k, const vm_arena *a, bool is_static)
{
	uint64_t lo = k->brk_lo;
	if (k->brk_exact) {
		uint64_t mis = (lo + 2 * k->L.w) % k->L.align;
		return mis ? lo + k->L.align - mis : lo;
	}
	return gw_in_brk(k, a->top) ? first_chunk(k, lo, a->top, is_static) : lo;
}

static void walk_main(walker *k, vm_arena *a, bool is_static)
{
	if (k->brk_hi <= k->brk_lo)
		return; /* malloc has not used brk yet */
	uint64_t end = k->brk_hi;
	uint64_t start = gw_brk_start(k, a, is_static);
	vm_heap_seg *s = new_seg(k, "brk", 0);
	walk_segment(k, s, a, start, end);
	if (!gw_in_brk(k, a->top))
		gw_problem(k, a->top, "main arena's top chunk is outside the brk heap");
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
		if (!gw_rd(k, h + k->L.off_ar_ptr, &ar) || !gw_rd(k, h + k->L.off_prev, &prev) ||
		    !gw_rd(k, h + k->L.off_hsize, &size)) {
			gw_problem(k, h, "heap_info unreadable");
			break;
		}
		if (ar != a->addr || size > k->L.heap_max || size < k->L.w * 8) {
			gw_problem(k, h, "heap_info does not belong to arena 0x%llx", (unsigned long long)a->addr);
			break;
		}
		heaps[n] = h;
		sizes[n] = size;
		n++;
		if (prev && prev % k->L.heap_max) {
			gw_problem(k, h, "heap_info's prev 0x%llx is not a heap", (unsigned long long)prev);
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
				*ch = (vm_chunk){ .addr = ct->addr, .size = ct->size, .state = VM_CHUNK_USED,
						  .bin = VM_BIN_NONE, .bin_index = -1 };
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

/* what every use begins with: the layout and main_arena; 0 and a note
 * in the report when there is no glibc heap to walk */
static uint64_t setup(walker *k, const vm_module **libc_out)
{
	const vm_map *m = k->m;
	vm_heap_report *out = k->r;
	if (m->info.os == VM_OS_WINDOWS) {
		/* no glibc there: its main_arena would be looked up in every
		 * module's symbols for nothing */
		out->note = xstrdup("a Windows process: its heaps are NT heaps, which are not walked yet");
		return 0;
	}
	const char *other = other_allocator(k);
	if (other) {
		out->note = xasprintf("this process allocates with %s, not glibc malloc: its heap is not walked",
				      other);
		return 0;
	}
	const vm_module *libc = find_libc(m);
	int major, minor;
	version_of(k, libc, &major, &minor);
	make_layout(&k->L, m->info.bits, major, minor);
	*libc_out = libc;

	uint64_t arena0 = 0;
	const vm_module *exe;
	if (vm_symbol_lookup(k->s, libc ? libc->name : NULL, "main_arena", &arena0)) {
		out->main_arena_source = "symbol";
	} else if (libc && (arena0 = scan_for_arena(k, libc))) {
		out->main_arena_source = "scan";
	} else if (!libc && (exe = static_exe(m)) && (arena0 = scan_for_arena(k, exe))) {
		/* a stripped static program: its data holds glibc's */
		out->main_arena_source = "scan";
	} else {
		out->note = xstrdup(libc ? "cannot find glibc's main_arena (no symbol, and no malloc_state "
					   "in libc's data holds together)"
					 : "no glibc in this process (no libc, and no main_arena symbol or "
					   "malloc_state that holds together in a static program's data)");
		return 0;
	}
	return arena0;
}

bool vm_heap_facts_get(const vm_map *m, vm_target *t, vm_symbolizer *s, vm_heap_facts *f)
{
	vm_heap_report r = { 0 };
	walker k = { .m = m, .t = t, .rd = vm_reader_target(t), .s = s, .r = &r };
	const vm_module *libc = NULL;
	vm_arena main = { 0 };
	memset(f, 0, sizeof *f);
	if ((main.addr = setup(&k, &libc)) && gw_rd(&k, main.addr + k.L.off_top, &main.top)) {
		f->glibc = true;
		find_brk(&k, libc, &main);
		/* the named region is no evidence: the arena must agree */
		f->brk_known = k.brk_hi > k.brk_lo && (k.brk_exact || gw_in_brk(&k, main.top));
		f->brk_lo = k.brk_lo;
		f->brk_hi = k.brk_hi;
		uint64_t n, bytes;
		if (k.mp && gw_rd(&k, k.mp + k.L.off_n_mmaps, &n) && gw_rd(&k, k.mp + k.L.off_mmapped_mem, &bytes)) {
			f->mmaps_known = true;
			f->n_mmaps = (uint32_t)n; /* an int, in the word's low half */
			f->mmapped_mem = bytes;
		}
	}
	gw_cache_clear(&k.wc);
	vm_heap_report_free(&r);
	return f->glibc;
}

int vm_heap_walk(const vm_map *m, vm_target *t, vm_symbolizer *s, unsigned flags, vm_heap_report *out)
{
	if (m->info.os == VM_OS_WINDOWS)
		return vm_nt_heap_walk(m, t, flags, out);
	memset(out, 0, sizeof *out);
	walker k = { .m = m, .t = t, .rd = vm_reader_target(t), .s = s, .flags = flags, .r = out };
	const vm_module *libc = NULL;
	uint64_t arena0 = setup(&k, &libc);
	if (!arena0) {
		gw_cache_clear(&k.wc);
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
		if (!gw_rd(&k, a + k.L.off_top, &ar->top) || !gw_rd(&k, a + k.L.off_system_mem, &ar->system_mem)) {
			gw_problem(&k, a, "arena unreadable");
			out->narenas--;
			break;
		}
		uint64_t next;
		if (!gw_rd(&k, a + k.L.off_next, &next)) {
			gw_problem(&k, a, "arena's next unreadable");
			break;
		}
		if (next == arena0)
			break;
		for (size_t i = 0; i < out->narenas; i++)
			if (out->arenas[i].addr == next) {
				gw_problem(&k, a, "the arena list loops without coming back to main_arena");
				next = 0;
			}
		a = next;
	}
	if (out->narenas)
		find_brk(&k, libc, &out->arenas[0]);
	for (size_t i = 0; i < out->narenas; i++)
		walk_bins(&k, out->arenas[i].addr, (int)i);
	if (libc)
		gw_find_tcaches(&k, libc);
	else
		gw_find_tcaches_static(&k);
	if (!out->ntcaches)
		gw_scan_tcaches(&k, libc == NULL);
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
	gw_cache_clear(&k.wc);
	return 0;
}
