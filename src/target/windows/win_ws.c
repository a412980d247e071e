/* The working set of a live Windows process (QueryWorkingSetEx, page by
 * page): the region statistics and the per-page detail. A valid page is
 * resident (RSS); a shareable one ("Shared") with a share count above 1
 * is shared, any other resident page private. Windows keeps no dirty bit
 * to report and does not say what is in the pagefile: the statistics are
 * marked as a working set's (the rest unknown), and a page out of the
 * working set is "unknown" to presence, not "absent" (it may be in the
 * pagefile or on the standby list, with its data).
 * Wine answers for the calling process only, with a share count of 1 for
 * every shared page (its FIXME): other processes get no per-page data. */
#include "win.h"

#include <psapi.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define BATCH 4096

/* the working set entries of npages pages from addr, BATCH at a time,
 * each batch handed to fn; false when the OS will not say */
typedef void (*ws_fn)(void *ctx, uint64_t addr, const PSAPI_WORKING_SET_EX_BLOCK *b);

static bool ws_walk(win_target *w, uint64_t addr, uint64_t npages, ws_fn fn, void *ctx)
{
	uint64_t pg = w->info.page_size ? w->info.page_size : 4096;
	PSAPI_WORKING_SET_EX_INFORMATION *ws = xcalloc(BATCH, sizeof *ws);
	bool ok = true;
	for (uint64_t done = 0; done < npages && ok; done += BATCH) {
		size_t k = npages - done < BATCH ? (size_t)(npages - done) : BATCH;
		for (size_t i = 0; i < k; i++)
			ws[i].VirtualAddress = (PVOID)(uintptr_t)(addr + (done + i) * pg);
		ok = QueryWorkingSetEx(w->h, ws, (DWORD)(k * sizeof *ws));
		for (size_t i = 0; ok && i < k; i++)
			fn(ctx, addr + (done + i) * pg, &ws[i].VirtualAttributes);
	}
	free(ws);
	return ok;
}

bool win_ws_readable(win_target *w)
{
	PSAPI_WORKING_SET_EX_INFORMATION one = { .VirtualAddress = (PVOID)(uintptr_t)0x7ffe0000 };
	return QueryWorkingSetEx(w->h, &one, sizeof one);
}

typedef struct stat_ctx {
	uint64_t valid, shared, locked;
} stat_ctx;

static void count_page(void *ctx, uint64_t addr, const PSAPI_WORKING_SET_EX_BLOCK *b)
{
	stat_ctx *s = ctx;
	(void)addr;
	if (!b->Valid)
		return;
	s->valid++;
	s->shared += b->Shared && b->ShareCount > 1;
	s->locked += b->Locked;
}

void win_region_stats(win_target *w, vm_region *r)
{
	uint64_t pg = w->info.page_size ? w->info.page_size : 4096;
	stat_ctx s = { 0 };
	if (!ws_walk(w, r->base, r->size / pg, count_page, &s))
		return; /* stats stay unknown */
	r->stats.valid = true;
	r->stats.working_set = true;
	r->stats.rss = s.valid * pg;
	r->stats.shared_clean = s.shared * pg;
	r->stats.private_clean = (s.valid - s.shared) * pg;
	r->stats.locked = s.locked * pg;
}

typedef struct run_ctx {
	uint64_t pg;
	vm_page_run *v;
	size_t n, cap;
	vm_page_counts *c;
} run_ctx;

static void run_page(void *ctx, uint64_t addr, const PSAPI_WORKING_SET_EX_BLOCK *b)
{
	run_ctx *x = ctx;
	uint32_t f = 0, prot = 0;
	int32_t mc = -1;
	if (b->Valid) {
		f |= VM_PAGE_PRESENT;
		/* a private page is this process's alone; a shareable one is
		 * mapped by ShareCount processes (7: 7 or more) */
		mc = b->Shared ? (int32_t)b->ShareCount : 1;
		prot = vm_prot_from_win((uint32_t)b->Win32Protection);
		x->c->present++;
		x->c->have_mapcount = true;
		if (!b->Shared)
			f |= VM_PAGE_EXCLUSIVE, x->c->exclusive++;
		if (mc > 1)
			x->c->shared++;
	}
	if (b->Valid ? b->Shared : b->Invalid.Shared)
		f |= VM_PAGE_FILE;
	vm_page_run *last = x->n ? &x->v[x->n - 1] : NULL;
	if (last && last->flags == f && last->mapcount == mc && last->win.prot == prot &&
	    last->addr + last->count * x->pg == addr) {
		last->count++;
		return;
	}
	vm_page_run *r = ARRAY_PUSH(x->v, x->n, x->cap);
	*r = (vm_page_run){ .addr = addr, .count = 1, .flags = f, .mapcount = mc, .win.prot = prot };
}

int win_pages(vm_target *t, uint64_t addr, uint64_t npages, vm_page_run **runs, size_t *nruns,
	      vm_page_counts *counts)
{
	win_target *w = WT(t);
	run_ctx x = { .pg = w->info.page_size ? w->info.page_size : 4096, .c = counts };
	memset(counts, 0, sizeof *counts);
	if (!ws_walk(w, addr, npages, run_page, &x)) {
		free(x.v);
		vm_seterr("QueryWorkingSetEx at 0x%llx in process %lu failed (error %lu)", (unsigned long long)addr,
			  (unsigned long)w->pid, (unsigned long)GetLastError());
		return -1;
	}
	counts->valid = true;
	counts->swap_unknown = true;
	*runs = x.v;
	*nruns = x.n;
	return 0;
}

typedef struct present_ctx {
	int8_t *out;
	size_t i;
} present_ctx;

static void present_page(void *ctx, uint64_t addr, const PSAPI_WORKING_SET_EX_BLOCK *b)
{
	present_ctx *p = ctx;
	(void)addr;
	p->out[p->i++] = b->Valid ? 1 : -1; /* out of the working set: unknown */
}

int win_present_range(vm_target *t, uint64_t addr, uint64_t npages, int8_t *out)
{
	present_ctx p = { out, 0 };
	if (!ws_walk(WT(t), addr, npages, present_page, &p)) {
		memset(out, -1, npages);
		return -1;
	}
	return 0;
}

void win_pages_present(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out)
{
	uint64_t pg = WT(t)->info.page_size ? WT(t)->info.page_size : 4096;
	for (size_t i = 0; i < n; i++)
		if (win_present_range(t, addrs[i] / pg * pg, 1, out + i) < 0)
			out[i] = -1;
}
