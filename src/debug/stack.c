/* Values named for the stack pane and the `stack` command: a symbol, a
 * heap chunk, a thread's stack, or the region; and the stack from sp
 * with the unwinder's frames marked. The map of the session is built at
 * open and when modules change, so it does not know memory mapped since
 * (a new thread's stack, a grown heap): a namer builds a fresh one, with
 * the heap walked, at its first question a symbol does not answer. */
#include "cmdi.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "vmatlas/heap_report.h"

struct vm_dbg_namer {
	vm_dbg *d;
	vm_map *m;     /* fresh, with the heap's chunks; NULL not built yet */
	bool tried;
};

vm_dbg_namer *vm_dbg_namer_new(vm_dbg *d)
{
	vm_dbg_namer *nm = xcalloc(1, sizeof *nm);
	nm->d = d;
	return nm;
}

void vm_dbg_namer_free(vm_dbg_namer *nm)
{
	if (!nm)
		return;
	vm_map_free(nm->m);
	free(nm);
}

static const vm_map *fresh_map(vm_dbg_namer *nm)
{
	if (!nm->tried && nm->d->alive) {
		nm->tried = true;
		vm_map_options mo = { .no_stats = true, .heap = VM_MAP_HEAP | VM_MAP_HEAP_CHUNKS };
		nm->m = vm_map_build(nm->d->t, &mo);
	}
	return nm->m ? nm->m : nm->d->m;
}

static const vm_chunk *chunk_at(const vm_map *m, uint64_t v)
{
	const vm_heap_report *h = m->heap;
	for (size_t s = 0; h && s < h->nsegs; s++) {
		const vm_heap_seg *g = &h->segs[s];
		if (v < g->base || v - g->base >= g->size)
			continue;
		for (size_t i = 0; i < g->nchunks; i++)
			if (v >= g->chunks[i].addr && v - g->chunks[i].addr < g->chunks[i].size)
				return &g->chunks[i];
	}
	return NULL;
}

void vm_dbg_name_value(vm_dbg_namer *nm, uint64_t v, char *buf, size_t n)
{
	vm_dbg *d = nm->d;
	buf[0] = 0;
	if (v < 0x10000) /* a small number, not an address */
		return;
	vm_symbol_info si;
	if (d->sym && vm_symbolize(d->sym, v, &si) && si.symbol) {
		vm_symbol_format(&si, v, buf, n);
		return;
	}
	const vm_map *m = fresh_map(nm);
	const vm_region *rg = m ? vm_map_region_at(m, v) : NULL;
	if (!rg || rg->state == VM_STATE_FREE)
		return;
	const vm_chunk *ch = chunk_at(m, v);
	if (ch && ch->state != VM_CHUNK_TOP) {
		uint64_t user = ch->addr + 2 * (uint64_t)(d->bits / 8);
		char off[32] = "";
		if (v != user)
			snprintf(off, sizeof off, "%s0x%llx", v > user ? "+" : "-",
				 (unsigned long long)(v > user ? v - user : user - v));
		snprintf(buf, n, "heap chunk 0x%llx (%s, %llu B)%s", (unsigned long long)user,
			 ch->state == VM_CHUNK_FREE ? "free" : "in use", (unsigned long long)ch->size, off);
		return;
	}
	for (size_t i = 0; i < m->nthreads; i++) {
		const vm_thread *th = &m->threads[i];
		if (th->stack_size && v >= th->stack_base && v - th->stack_base < th->stack_size) {
			snprintf(buf, n, "stack of thread %lld", (long long)th->tid);
			return;
		}
	}
	if (si.module) { /* in an image, no symbol: module+offset */
		vm_symbol_format(&si, v, buf, n);
		return;
	}
	snprintf(buf, n, "%s", rg->path ? rg->path : vm_usage_name(rg->usage));
}

/* the frame a slot is in (frame k holds [sp of k, sp of k+1)), -1 past
 * the last; *ret when it holds the return address of frame k+1 */
static int frame_of(const vm_dbg_frame *f, size_t nf, uint64_t a, uint64_t v, int ptr, bool *ret)
{
	*ret = false;
	for (size_t k = 0; k < nf; k++) {
		if (a < f[k].sp)
			return -1;
		if (k + 1 == nf || a < f[k + 1].sp) {
			*ret = k + 1 < nf && a + (uint64_t)ptr == f[k + 1].sp && v == f[k + 1].pc;
			return (int)k;
		}
	}
	return -1;
}

int show_stack(cmd_out *o, uint64_t count)
{
	vm_dbg *d = o->d;
	uint64_t sp;
	int ptr = d->bits / 8;
	if (vm_dbg_reg_get(d, "rsp", &sp) < 0)
		return -1;
	vm_dbg_frame *f = NULL;
	size_t nf = 0;
	if (vm_dbg_backtrace(d, &f, &nf) < 0) {
		f = NULL;
		nf = 0;
	}
	vm_dbg_namer *nm = vm_dbg_namer_new(d);
	json_writer w;
	if (o->json) {
		show_json_begin(o, &w, true);
		json_ki64(&w, "tid", vm_dbg_thread(d));
		json_key(&w, "slots");
		json_arr_begin(&w);
	}
	int last = -1;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t a = sp + i * (uint64_t)ptr, v = 0;
		if (vm_dbg_read(d, a, &v, (size_t)ptr) != ptr)
			break;
		char name[256];
		vm_dbg_name_value(nm, v, name, sizeof name);
		bool ret;
		int fr = frame_of(f, nf, a, v, ptr, &ret);
		if (o->json) {
			json_obj_begin(&w);
			json_kaddr(&w, "addr", a);
			json_kaddr(&w, "value", v);
			json_kstr(&w, "name", name);
			json_ki64(&w, "frame", fr);
			json_kbool(&w, "ret", ret);
			json_obj_end(&w);
			continue;
		}
		if (fr != last && fr >= 0) {
			char where[256];
			vm_dbg_where(d, f[fr].pc, where, sizeof where, NULL, NULL);
			fprintf(o->f, "-- frame #%d %s\n", fr, where);
		}
		last = fr;
		char rm[24] = "";
		if (ret)
			snprintf(rm, sizeof rm, "ret #%d ", fr + 1);
		fprintf(o->f, "0x%0*llx %0*llx %s%s\n", ptr * 2, (unsigned long long)a, ptr * 2, (unsigned long long)v, rm,
			name);
	}
	if (o->json) {
		json_arr_end(&w);
		show_json_end(&w);
	}
	vm_dbg_namer_free(nm);
	free(f);
	return 0;
}
