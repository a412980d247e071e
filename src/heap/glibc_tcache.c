/* Every thread's tcache: through libthread_db, from a static program's
 * TLS block, or by a scan of the heaps for its shape. */
#include "glibc_walker.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "formats/elf_defs.h"
#include "vmatlas/elf.h"
#include "vmatlas/threads.h"

/* one thread's tcache_perthread_struct */
void gw_walk_tcache(walker *k, uint64_t tc, int ai)
{
	size_t w = k->L.w;
	uint64_t entries = tc + k->L.off_entries;
	k->r->ntcaches++;
	for (int i = 0; i < TCACHE_BINS; i++) {
		uint64_t e;
		if (gw_rd(k, entries + (uint64_t)i * w, &e) && e)
			/* entries point at user memory; the next link is its first word */
			gw_walk_single(k, e, 0, 2 * w, VM_BIN_TCACHE, i, ai, "tcache");
	}
}

int gw_arena_index_of(walker *k, uint64_t addr)
{
	for (size_t i = 0; i < k->r->narenas; i++) {
		const vm_arena *a = &k->r->arenas[i];
		if (a->main) {
			if (gw_in_brk(k, addr))
				return (int)i;
		} else if ((addr & ~(k->L.heap_max - 1)) == (a->addr & ~(k->L.heap_max - 1))) {
			return (int)i;
		}
	}
	return 0;
}

void gw_find_tcaches(walker *k, const vm_module *libc)
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
		    !gw_rd(k, var, &tc) || !tc)
			continue;
		k->r->tcache_source = "thread_db";
		gw_walk_tcache(k, tc, gw_arena_index_of(k, tc));
	}
	vm_tdb_close(d);
}

/* A static program has no libc module, and libthread_db no libpthread
 * to ask. With TLS variant II (x86-64, i386) the executable's TLS block
 * ends at the thread pointer: &tcache = tp - roundup(PT_TLS memsz,
 * align) + tcache's offset in the block, as static glibc lays it out. */
void gw_find_tcaches_static(walker *k)
{
	if (k->m->info.arch != VM_ARCH_X86_64 && k->m->info.arch != VM_ARCH_I386)
		return;
	for (size_t i = 0; i < k->m->nmodules; i++) {
		const vm_module *mod = &k->m->modules[i];
		uint64_t off, block = 0;
		if (strcmp(mod->format ? mod->format : "", "elf") != 0 ||
		    !vm_symbol_tls_offset(k->s, mod, "tcache", &off))
			continue;
		elf_image e;
		if (elf_open(&e, &k->rd, true, mod->base, k->m->info.page_size) < 0)
			continue;
		for (size_t p = 0; p < e.nph; p++) {
			const elf_phdr *ph = &e.ph[p];
			uint64_t al = ph->align ? ph->align : 1;
			if (ph->type == PT_TLS && ph->memsz <= (1u << 30) && al <= (1u << 20))
				block = (ph->memsz + al - 1) / al * al;
		}
		elf_close(&e);
		if (!block || off >= block)
			continue;
		for (size_t t = 0; t < k->m->nthreads; t++) {
			uint64_t tp = k->m->threads[t].tp, tc;
			if (!tp || tp < block || !gw_rd(k, tp - block + off, &tc) || !tc || !gw_chunk_aligned(k, tc - 2 * k->L.w))
				continue;
			k->r->tcache_source = "tls";
			gw_walk_tcache(k, tc, gw_arena_index_of(k, tc));
		}
		return;
	}
}

/* Without the tcache symbol: each thread's tcache_perthread_struct is
 * the first chunk it allocated in its arena, so look at the first chunk
 * of every arena's first heap and take it if it holds together (counts
 * agree with entries, entries point into the same arena). */
static bool gw_tcache_candidate(walker *k, uint64_t chunk, uint64_t lo, uint64_t hi)
{
	size_t w = k->L.w, cw = k->L.u16_counts ? 2 : 1;
	uint64_t want = k->L.tcache_size + w; /* body + size field */
	want = (want + k->L.align - 1) / k->L.align * k->L.align;
	uint64_t sz;
	if (!gw_rd(k, chunk + w, &sz) || (sz & ~(uint64_t)7) != want)
		return false;
	uint64_t tc = chunk + 2 * w, entries = tc + k->L.off_entries;
	for (int i = 0; i < TCACHE_BINS; i++) {
		uint64_t count = 0, e, word;
		uint64_t at = tc + (uint64_t)i * cw, wa = at - at % w;
		if (!gw_rd(k, wa, &word) || !gw_rd(k, entries + (uint64_t)i * w, &e))
			return false;
		count = (word >> (8 * (at - wa))) & (cw == 2 ? 0xffffu : 0xffu);
		if ((count == 0) != (e == 0) || (e && !range_contains(lo, hi - lo, e)))
			return false;
	}
	return true;
}

void gw_scan_tcaches(walker *k, bool is_static)
{
	for (size_t i = 0; i < k->r->narenas; i++) {
		const vm_arena *a = &k->r->arenas[i];
		uint64_t first, lo, hi;
		if (a->main) {
			if (k->brk_hi <= k->brk_lo)
				continue;
			/* (a static program's TLS block comes first there) */
			first = gw_brk_start(k, a, is_static);
			lo = k->brk_lo;
			hi = k->brk_hi;
		} else {
			first = a->addr + k->L.state_size;
			lo = a->addr & ~(k->L.heap_max - 1);
			hi = lo + k->L.heap_max;
			uint64_t mis = (first + 2 * k->L.w) % k->L.align;
			if (mis)
				first += k->L.align - mis;
		}
		if (gw_tcache_candidate(k, first, lo, hi)) {
			k->r->tcache_source = "scan";
			gw_walk_tcache(k, first + 2 * k->L.w, (int)i);
		}
	}
}
