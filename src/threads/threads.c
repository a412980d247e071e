/* Threads in depth, over a map built with stack copies. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "unwind.h"
#include "vmatlas/threads.h"

#define AT_ENTRY_T 9

static uint64_t entry_point(vm_target *t)
{
	vm_auxv *av;
	size_t n;
	uint64_t entry = 0;
	if (!(vm_target_caps(t) & VM_CAP_AUXV) || vm_target_auxv(t, &av, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (av[i].type == AT_ENTRY_T)
			entry = av[i].value;
	free(av);
	return entry;
}

/* first non-zero byte of buf, or len */
static size_t first_nonzero(const uint8_t *p, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w)
			break;
	}
	for (; i < len; i++)
		if (p[i])
			return i;
	return len;
}

/* The deepest the stack has ever been: stacks start zeroed, so the
 * lowest non-zero byte marks it. With page tables to ask, only pages
 * that are present (or in swap) are read, in address order: reading
 * the others would fault zero pages into the target, and there can be
 * megabytes of them. */
typedef struct hw_scan {
	vm_target *t;
	uint8_t *buf;
	size_t cap;
} hw_scan;

static bool scan_range(hw_scan *h, uint64_t at, uint64_t end, uint64_t page, uint64_t *mark)
{
	while (at < end) {
		size_t want = end - at < h->cap ? (size_t)(end - at) : h->cap;
		ssize_t got = vm_read(h->t, at, h->buf, want);
		if (got <= 0) {
			at += page - at % page; /* skip what cannot be read */
			continue;
		}
		size_t k = first_nonzero(h->buf, (size_t)got);
		if (k < (size_t)got) {
			*mark = at + k;
			return true;
		}
		at += (uint64_t)got;
	}
	return false;
}

static bool high_water(hw_scan *h, const vm_region *r, uint64_t sp, uint64_t page, uint64_t *mark)
{
	vm_target *t = h->t;
	if (sp <= r->base || sp - r->base > (256u << 20))
		return false;
	*mark = sp;
	vm_page_run *runs = NULL;
	size_t nruns = 0;
	vm_page_counts counts;
	if ((vm_target_caps(t) & VM_CAP_PAGES) && vm_target_pages(t, r->base, (sp - r->base + page - 1) / page, &runs, &nruns,
					   &counts) == 0) {
		for (size_t i = 0; i < nruns; i++) {
			const vm_page_run *pr = &runs[i];
			if (!(pr->flags & (VM_PAGE_PRESENT | VM_PAGE_SWAPPED)))
				continue;
			uint64_t end = pr->addr + pr->count * page;
			if (scan_range(h, pr->addr, end < sp ? end : sp, page, mark))
				break;
		}
		free(runs);
		return true;
	}
	scan_range(h, r->base, sp, page, mark);
	return true;
}

int vm_threads_inspect(const vm_map *m, vm_target *t, vm_symbolizer *s, unsigned max_frames,
		       vm_threads_report *out)
{
	memset(out, 0, sizeof *out);
	out->t = xcalloc(m->nthreads ? m->nthreads : 1, sizeof *out->t);
	out->n = m->nthreads;
	const char *why = NULL;
	/* glibc's thread library: not in a Windows process (start routines
	 * come from the dump there) */
	vm_tdb *tdb = m->info.os == VM_OS_WINDOWS ? NULL : vm_tdb_open(m, t, s, &why);
	if (!tdb && m->info.os != VM_OS_WINDOWS)
		out->thread_db_note = why;
	unwinder *u = unwinder_new(m, t);
	uint64_t entry = entry_point(t);
	hw_scan hw = { t, xmalloc(1u << 20), 1u << 20 };
	for (size_t i = 0; i < m->nthreads; i++) {
		const vm_thread *th = &m->threads[i];
		vm_thread_info *ti = &out->t[i];
		ti->thread = th;
		unwinder_frames(u, th, max_frames, &ti->frames, &ti->nframes, &ti->unwind_note);
		if (tdb && vm_tdb_start(tdb, th->tid, &ti->start))
			ti->start_source = "thread_db";
		else if (th->start) {
			ti->start = th->start;
			/* the system's own record of it (minidump or live Windows) */
			ti->start_source = vm_target_kind_of(t) == VM_TARGET_WINDOWS_PROCESS ? "system" : "dump";
		} else if (th->is_main && entry) {
			ti->start = entry;
			ti->start_source = "entry";
		}
		/* a minidump thread keeps its TEB without a context */
		ti->tls = th->tp;
		const vm_region *r = th->sp_valid ? vm_map_region_at(m, th->sp) : NULL;
		if (!th->sp_valid && th->stack_size) {
			ti->stack_top = th->stack_base + th->stack_size; /* from the TEB */
			continue;
		}
		if (!r || r->state == VM_STATE_FREE)
			continue;
		/* below the control block: the one definition (model) */
		ti->stack_top = vm_thread_stack_top(th, r);
		ti->used = ti->stack_top - th->sp;
		uint64_t mark;
		if (high_water(&hw, r, th->sp, m->info.page_size, &mark)) {
			ti->high_water = ti->stack_top - mark;
			ti->high_water_valid = true;
		}
	}
	free(hw.buf);
	unwinder_free(u);
	vm_tdb_close(tdb);
	return 0;
}

void vm_thread_frames(const vm_map *m, vm_target *t, const vm_thread *th, unsigned max_frames, vm_frame **out,
		      size_t *n)
{
	unwinder *u = unwinder_new(m, t);
	const char *note;
	unwinder_frames(u, th, max_frames, out, n, &note);
	unwinder_free(u);
}

void vm_threads_report_free(vm_threads_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->t[i].frames);
	free(r->t);
	memset(r, 0, sizeof *r);
}
