#include "vmatlas/whatis.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const vm_chunk *find_chunk(const vm_heap_report *h, uint64_t addr, int *arena, bool *mm)
{
	for (size_t i = 0; h && i < h->nsegs; i++) {
		const vm_heap_seg *g = &h->segs[i];
		if (!range_contains(g->base, g->size, addr) && strcmp(g->kind, "mmapped"))
			continue;
		/* after the last chunk starting at or below addr */
		size_t lo = upper_bound_u64(g->chunks, g->nchunks, sizeof *g->chunks, offsetof(vm_chunk, addr), addr);
		if (lo && range_contains(g->chunks[lo - 1].addr, g->chunks[lo - 1].size, addr)) {
			*arena = g->arena;
			*mm = !strcmp(g->kind, "mmapped") || !strcmp(g->kind, "large");
			return &g->chunks[lo - 1];
		}
	}
	return NULL;
}

static bool word_at(vm_target *t, size_t w, uint64_t addr, uint64_t *v)
{
	vm_reader r = vm_reader_target(t);
	return vm_reader_word(&r, addr, w, v);
}

/* An object with virtual functions starts with a pointer into a vtable;
 * the word before the vtable's first entry points to its typeinfo, whose
 * own vtable is one of libstdc++'s __class_type_info family and whose
 * second word is the type's mangled name. */
/* Without RTTI (-fno-rtti: node, many embedded programs) the typeinfo
 * slot is 0; the vtable's own symbol still names the class, as gdb
 * finds it: "_ZTVN4node17PerProcessOptionsE" + 2 words. */
static char *class_by_vtable_symbol(vm_symbolizer *s, size_t w, uint64_t vptr)
{
	vm_symbol_info si;
	vm_symbolize(s, vptr, &si);
	const char *raw = si.mangled ? si.mangled : si.symbol;
	/* the address point of a vtable is two words in (offset to top,
	 * typeinfo); a secondary vtable's further on */
	if (!raw || strncmp(raw, "_ZTV", 4) != 0 || si.offset < 2 * w || si.offset % w)
		return NULL;
	char *type = xstrdup(raw + 4);
	type[strcspn(type, "@")] = 0; /* a version is no part of the type */
	char *d = vm_demangle(type);
	free(type);
	return d;
}

static char *class_of(const vm_map *m, vm_target *t, vm_symbolizer *s, uint64_t obj, uint64_t *vtable)
{
	size_t w = m->info.bits == 32 ? 4 : 8;
	uint64_t vptr, ti, ti_vptr, name_ptr;
	if (!word_at(t, w, obj, &vptr) || !vm_map_module_at(m, vptr) || vptr < w || !word_at(t, w, vptr - w, &ti))
		return NULL;
	if (ti == 0) {
		char *d = class_by_vtable_symbol(s, w, vptr);
		if (d)
			*vtable = vptr;
		return d;
	}
	if (!vm_map_module_at(m, ti) || !word_at(t, w, ti, &ti_vptr) || !word_at(t, w, ti + w, &name_ptr))
		return NULL;
	vm_symbol_info si;
	vm_symbolize(s, ti_vptr, &si);
	if (!si.symbol || !strstr(si.symbol, "class_type_info"))
		return NULL;
	char name[256];
	ssize_t n = vm_read(t, name_ptr, name, sizeof name - 1);
	if (n <= 0)
		return NULL;
	name[n] = 0;
	if (strnlen(name, (size_t)n) == (size_t)n)
		return NULL; /* no terminator: not a name */
	*vtable = vptr;
	char *d = vm_demangle(name);
	return d ? d : xstrdup(name);
}

#define WHATIS_FRAMES 1024
#define WHATIS_SEH 256

/* the frame of the thread's call stack that holds addr, and on 32-bit
 * Windows the SEH record */
static void frame_of(const vm_map *m, vm_target *t, vm_symbolizer *s, vm_whatis *out)
{
	const vm_thread *th = out->stack_of;
	vm_frame *f;
	size_t n;
	vm_thread_frames(m, t, th, WHATIS_FRAMES, &f, &n);
	uint64_t top = th->stack_base + th->stack_size;
	for (size_t k = 0; k < n; k++) {
		if (!f[k].sp_valid)
			break;
		uint64_t hi = k + 1 < n && f[k + 1].sp_valid ? f[k + 1].sp : top;
		if (out->addr >= f[k].sp && out->addr < hi) {
			out->in_frame = true;
			out->frame = k;
			out->frame_pc = f[k].pc;
			out->frame_sp = f[k].sp;
			out->frame_method = f[k].method;
			uint64_t look = k > 0 && !f[k].signal && f[k].pc ? f[k].pc - 1 : f[k].pc;
			vm_symbolize(s, look, &out->frame_sym);
			if (look != f[k].pc && (out->frame_sym.symbol || out->frame_sym.module))
				out->frame_sym.offset++;
			break;
		}
	}
	free(f);
	if (m->info.os == VM_OS_WINDOWS && m->info.bits == 32) {
		vm_seh_record *rec = xcalloc(WHATIS_SEH, sizeof *rec);
		bool ended;
		size_t nr = vm_seh_chain_find(m, t, th, rec, WHATIS_SEH, &ended, NULL);
		for (size_t i = 0; i < nr; i++)
			if (range_contains(rec[i].addr, 8, out->addr)) {
				out->in_seh = true;
				out->seh_index = i;
				out->seh_record = rec[i].addr;
				out->seh_handler = rec[i].handler;
			}
		free(rec);
	}
}

void vm_whatis_query(const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_heap_report *heap,
		     uint64_t addr, vm_whatis *out)
{
	memset(out, 0, sizeof *out);
	out->addr = addr;
	out->chunk_arena = -1;
	out->region = vm_map_region_at(m, addr);
	if (!out->region)
		return;
	out->alloc = vm_map_alloc_of(m, out->region);
	vm_symbolize(s, addr, &out->sym);
	size_t cap = 0;
	for (size_t i = 0; i < out->region->ncontents; i++) {
		const vm_content *c = &out->region->contents[i];
		if (range_contains(c->addr, c->size, addr) || (c->size == 0 && c->addr == addr))
			*ARRAY_PUSH(out->items, out->nitems, cap) = c;
	}
	out->chunk = find_chunk(heap, addr, &out->chunk_arena, &out->chunk_mmapped);
	if (out->chunk) {
		out->chunk_nt = heap->kind == VM_HEAP_NT;
		if (out->chunk_arena >= 0 && (size_t)out->chunk_arena < heap->narenas)
			out->chunk_heap = heap->arenas[out->chunk_arena].addr;
		if (out->chunk->lfh && out->chunk->lfh <= heap->nlfh)
			out->lfh = &heap->lfh[out->chunk->lfh - 1];
	}
	for (size_t i = 0; i < m->nthreads; i++) {
		const vm_thread *th = &m->threads[i];
		if (th->stack_size && range_contains(th->stack_base, th->stack_size, addr)) {
			out->stack_of = th;
			out->in_use_stack = th->sp_valid && addr >= th->sp &&
					    addr < vm_thread_stack_top(th, out->region);
		}
	}
	if (out->stack_of && out->in_use_stack && t)
		frame_of(m, t, s, out);
	/* a C++ object at the address, or at the start of its heap block */
	size_t w = m->info.bits == 32 ? 4 : 8;
	uint64_t cands[2] = { addr, out->chunk ? out->chunk->addr + (out->chunk->hdr ? out->chunk->hdr : 2 * w) : 0 };
	for (int k = 0; k < 2 && !out->class_name; k++)
		if (cands[k] && out->region->state == VM_STATE_COMMIT) {
			out->class_name = class_of(m, t, s, cands[k], &out->vtable);
			if (out->class_name)
				out->object = cands[k];
		}
}

void vm_whatis_free(vm_whatis *w)
{
	free(w->items);
	free(w->class_name);
	memset(w, 0, sizeof *w);
}
