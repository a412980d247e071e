/* vmatlas whatis: everything known about an address. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/expr.h"
#include "vmatlas/whatis.h"

static void text(const vm_map *m, vm_symbolizer *s, const vm_whatis *w)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	size_t ws = m->info.bits == 32 ? 4 : 8;
	char sym[512], sz[16], prot[5];
	printf("%0*llx\n", aw, (unsigned long long)w->addr);
	if (!w->region) {
		printf("  outside the address space\n\n");
		return;
	}
	const vm_region *r = w->region;
	if (r->state == VM_STATE_FREE && vm_map_gaps_unknown(m)) {
		printf("  not in the %s (%0*llx-%0*llx): it holds only some of the memory, so whether anything "
		       "is mapped there is unknown\n\n", vm_target_kind_name(m->info.kind), aw, (unsigned long long)r->base,
		       aw, (unsigned long long)(r->base + r->size));
		return;
	}
	if (r->state == VM_STATE_FREE) {
		printf("  in a free gap %0*llx-%0*llx: nothing is mapped there\n\n", aw,
		       (unsigned long long)r->base, aw, (unsigned long long)(r->base + r->size));
		return;
	}
	vm_region_prot_string(r, prot);
	printf("  region      %0*llx-%0*llx %s %s %s, +0x%llx%s%s\n", aw, (unsigned long long)r->base, aw,
	       (unsigned long long)(r->base + r->size), vm_state_name(r->state), prot, vm_type_name(r->type),
	       (unsigned long long)(w->addr - r->base), r->path ? "  " : "", r->path ? r->path : "");
	if (w->alloc)
		printf("  allocation  %0*llx (%s) %s%s%s\n", aw, (unsigned long long)w->alloc->base,
		       fmt_size(w->alloc->size, sz, sizeof sz), vm_usage_name(w->alloc->usage),
		       w->alloc->details ? ": " : "", w->alloc->details ? w->alloc->details : "");
	if (w->sym.module) {
		vm_symbol_format(&w->sym, w->addr, sym, sizeof sym);
		printf("  symbol      %s\n", sym);
	}
	for (size_t i = 0; i < w->nitems; i++) {
		const vm_content *c = w->items[i];
		if (c->kind == VM_CK_STACK && w->stack_of)
			continue; /* said below */
		printf("  %-11s %s", vm_content_kind_name(c->kind), c->name);
		if (c->size)
			printf(" (%0*llx, %s), +0x%llx", aw, (unsigned long long)c->addr,
			       fmt_size(c->size, sz, sizeof sz), (unsigned long long)(w->addr - c->addr));
		if (c->detail)
			printf("  %s", c->detail);
		putchar('\n');
	}
	if (w->chunk && w->chunk_nt) {
		const vm_chunk *ch = w->chunk;
		uint64_t user = ch->addr + ch->hdr;
		printf("  heap block  %0*llx (%s), %s, NT heap %d at %0*llx", aw, (unsigned long long)ch->addr,
		       fmt_size(ch->size, sz, sizeof sz), ch->state == VM_CHUNK_FREE ? "FREE" : "in use",
		       w->chunk_arena, aw, (unsigned long long)w->chunk_heap);
		if (w->addr < user)
			printf(", in the block header");
		else if (w->addr - user < ch->usize)
			printf(", +0x%llx into the %s at %0*llx (%llu bytes)", (unsigned long long)(w->addr - user),
			       ch->state == VM_CHUNK_FREE ? "free bytes" : "user data", aw, (unsigned long long)user,
			       (unsigned long long)ch->usize);
		else
			printf(", past the %llu bytes of %s at %0*llx (unused tail)", (unsigned long long)ch->usize,
			       ch->state == VM_CHUNK_FREE ? "free bytes" : "user data", aw, (unsigned long long)user);
		if (w->chunk_mmapped)
			printf(", a large block (a mapping of its own)");
		if (w->lfh)
			printf(", the LFH's user blocks (bucket %u, %u blocks of %u bytes, %u busy)", w->lfh->bucket,
			       w->lfh->blocks, w->lfh->block_size, w->lfh->busy);
		putchar('\n');
	} else if (w->chunk) {
		const vm_chunk *ch = w->chunk;
		uint64_t user = ch->addr + 2 * ws;
		printf("  heap chunk  %0*llx (%s), %s", aw, (unsigned long long)ch->addr,
		       fmt_size(ch->size, sz, sizeof sz),
		       ch->state == VM_CHUNK_FREE ? "FREE" : ch->state == VM_CHUNK_TOP ? "the top chunk (not allocated)" : "in use");
		if (ch->state == VM_CHUNK_FREE)
			printf(" (in the %s)", vm_bin_name(ch->bin));
		if (w->addr >= user)
			printf(", +0x%llx into the block at %0*llx", (unsigned long long)(w->addr - user), aw,
			       (unsigned long long)user);
		else
			printf(", in the chunk header");
		if (w->chunk_mmapped)
			printf(", mmapped");
		else if (w->chunk_arena >= 0)
			printf(", arena %d", w->chunk_arena);
		putchar('\n');
	}
	if (w->stack_of)
		printf("  stack       of thread %lld (%s), %s\n", (long long)w->stack_of->tid,
		       w->stack_of->name ? w->stack_of->name : "?",
		       w->in_use_stack ? "in use (at or above sp)" : "below sp: not in use now");
	if (w->in_frame) {
		vm_symbol_format(&w->frame_sym, w->frame_pc, sym, sizeof sym);
		printf("  frame       #%zu %s (sp %0*llx, +0x%llx)%s%s\n", w->frame, sym, aw,
		       (unsigned long long)w->frame_sp, (unsigned long long)(w->addr - w->frame_sp),
		       w->frame_method && strcmp(w->frame_method, "scan") == 0 ? "  (found by a stack scan)" : "",
		       w->frame_method && strcmp(w->frame_method, "fp") == 0 ? "  (by frame pointers)" : "");
	}
	if (w->in_seh)
		printf("  SEH record  #%zu at %0*llx, handler %0*llx\n", w->seh_index, aw,
		       (unsigned long long)w->seh_record, aw, (unsigned long long)w->seh_handler);
	if (w->class_name) {
		vm_symbol_info vsi;
		char vsym[512];
		vm_symbolize(s, w->vtable, &vsi);
		vm_symbol_format(&vsi, w->vtable, vsym, sizeof vsym);
		printf("  object      of class %s at %0*llx (vtable %0*llx %s)\n", w->class_name, aw,
		       (unsigned long long)w->object, aw, (unsigned long long)w->vtable, vsym);
	}
	putchar('\n');
}

static void json(json_writer *jw, const vm_map *m, const vm_whatis *w)
{
	size_t ws = m->info.bits == 32 ? 4 : 8;
	char sym[512], prot[5];
	json_obj_begin(jw);
	json_kaddr(jw, "addr", w->addr);
	json_key(jw, "region");
	if (w->region && w->region->state != VM_STATE_FREE) {
		const vm_region *r = w->region;
		vm_region_prot_string(r, prot);
		json_obj_begin(jw);
		json_kaddr(jw, "base", r->base);
		json_ku64(jw, "size", r->size);
		json_kstr(jw, "state", vm_state_name(r->state));
		json_kstr(jw, "prot", prot);
		json_kstr(jw, "type", vm_type_name(r->type));
		json_kstr(jw, "usage", vm_usage_name(r->usage));
		json_kstr(jw, "path", r->path);
		json_obj_end(jw);
	} else {
		json_null(jw);
	}
	/* in a partial dump's gap whether anything is mapped is unknown */
	bool gap = w->region && w->region->state == VM_STATE_FREE;
	json_key(jw, "free_gap");
	gap && vm_map_gaps_unknown(m) ? json_null(jw) : json_bool(jw, gap);
	json_key(jw, "allocation");
	if (w->alloc && w->region->state != VM_STATE_FREE) {
		json_obj_begin(jw);
		json_kaddr(jw, "base", w->alloc->base);
		json_ku64(jw, "size", w->alloc->size);
		json_kstr(jw, "usage", vm_usage_name(w->alloc->usage));
		json_kstr(jw, "details", w->alloc->details);
		json_obj_end(jw);
	} else {
		json_null(jw);
	}
	json_kstr(jw, "module", w->sym.module ? w->sym.module->name : NULL);
	if (w->sym.module) {
		vm_symbol_format(&w->sym, w->addr, sym, sizeof sym);
		json_kstr(jw, "symbol", sym);
	}
	json_key(jw, "contents");
	json_arr_begin(jw);
	for (size_t i = 0; i < w->nitems; i++) {
		const vm_content *c = w->items[i];
		json_obj_begin(jw);
		json_kstr(jw, "kind", vm_content_kind_name(c->kind));
		json_kstr(jw, "name", c->name);
		json_kaddr(jw, "addr", c->addr);
		json_ku64(jw, "size", c->size);
		if (c->detail)
			json_kstr(jw, "detail", c->detail);
		json_obj_end(jw);
	}
	json_arr_end(jw);
	json_key(jw, "heap");
	if (w->chunk) {
		json_obj_begin(jw);
		json_kaddr(jw, "chunk", w->chunk->addr);
		json_kaddr(jw, "user", w->chunk->addr + (w->chunk_nt ? w->chunk->hdr : 2 * ws));
		json_ku64(jw, "size", w->chunk->size);
		json_kstr(jw, "state", w->chunk->state == VM_CHUNK_USED ? "used" : w->chunk->state == VM_CHUNK_TOP ? "top" : "free");
		json_kstr(jw, "bin", vm_bin_name(w->chunk->bin));
		json_key(jw, "arena"); /* the arena's (or NT heap's) id; null if none is known */
		if (w->chunk_arena >= 0)
			json_i64(jw, w->chunk_arena);
		else
			json_null(jw);
		json_kbool(jw, "mmapped", w->chunk_mmapped);
		if (w->chunk_nt) {
			json_kstr(jw, "allocator", "nt");
			json_kaddr(jw, "heap_addr", w->chunk_heap);
			json_ku64(jw, "user_size", w->chunk->usize);
			json_key(jw, "lfh");
			if (w->lfh) {
				json_obj_begin(jw);
				json_kaddr(jw, "subsegment", w->lfh->subsegment);
				json_ku64(jw, "bucket", w->lfh->bucket);
				json_ku64(jw, "block_size", w->lfh->block_size);
				json_ku64(jw, "blocks", w->lfh->blocks);
				json_ku64(jw, "busy", w->lfh->busy);
				json_obj_end(jw);
			} else {
				json_null(jw);
			}
		}
		json_obj_end(jw);
	} else {
		json_null(jw);
	}
	json_key(jw, "thread");
	if (w->stack_of) {
		json_obj_begin(jw);
		json_ki64(jw, "tid", w->stack_of->tid);
		json_kstr(jw, "name", w->stack_of->name);
		json_kbool(jw, "in_use", w->in_use_stack);
		if (w->in_frame) {
			char fs[512];
			vm_symbol_format(&w->frame_sym, w->frame_pc, fs, sizeof fs);
			json_key(jw, "frame");
			json_obj_begin(jw);
			json_ku64(jw, "index", w->frame);
			json_kaddr(jw, "pc", w->frame_pc);
			json_kaddr(jw, "sp", w->frame_sp);
			json_kstr(jw, "symbol", fs);
			json_kstr(jw, "method", w->frame_method);
			json_obj_end(jw);
		}
		if (w->in_seh) {
			json_key(jw, "seh_record");
			json_obj_begin(jw);
			json_ku64(jw, "index", w->seh_index);
			json_kaddr(jw, "addr", w->seh_record);
			json_kaddr(jw, "handler", w->seh_handler);
			json_obj_end(jw);
		}
		json_obj_end(jw);
	} else {
		json_null(jw);
	}
	json_key(jw, "object");
	if (w->class_name) {
		json_obj_begin(jw);
		json_kstr(jw, "class", w->class_name);
		json_kaddr(jw, "addr", w->object);
		json_kaddr(jw, "vtable", w->vtable);
		json_obj_end(jw);
	} else {
		json_null(jw);
	}
	json_obj_end(jw);
}

static int whatis_run(cli_ctx *ctx)
{
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	vm_symbolizer *s = ctx->sym;
	vm_expr_ctx ec = { m, t, s };
	size_t n = (size_t)ctx->argc;
	int rc = 0;
	uint64_t *addrs = xcalloc(n, sizeof *addrs);
	for (size_t i = 0; i < n && !rc; i++) {
		int r = vm_expr_eval(&ec, ctx->argv[i], &addrs[i]);
		if (r < 0)
			rc = cli_error(r == -2 ? EXIT_USAGE : EXIT_RUNTIME, "whatis: %s", vm_error());
	}
	if (!rc) {
		vm_heap_report hr;
		vm_heap_walk(m, t, s, VM_HEAP_CHUNKS, &hr);
		json_writer *jw = NULL;
		if (ctx->json) {
			jw = xmalloc(sizeof *jw);
			json_init(jw, stdout, true);
			json_arr_begin(jw);
		}
		for (size_t i = 0; i < n; i++) {
			vm_whatis w;
			vm_whatis_query(m, t, s, &hr, addrs[i], &w);
			jw ? json(jw, m, &w) : text(m, s, &w);
			vm_whatis_free(&w);
		}
		if (jw) {
			json_arr_end(jw);
			json_done(jw);
			free(jw);
		}
		vm_heap_report_free(&hr);
	}
	free(addrs);
	return rc;
}

const cli_command cli_cmd_whatis = {
	.name = "whatis",
	.summary = "everything known about an address",
	.usage = "[OPTIONS] TARGET ADDR...\n[OPTIONS] ADDR... -- PROGRAM [ARGS...]",
	.about = "Everything vmatlas knows about each address: the region and allocation\n"
		 "it is in, its module, section and symbol, the heap chunk holding it and\n"
		 "whether that chunk is free, the thread stack it is on, the system data\n"
		 "it belongs to, and for a C++ object with virtual functions its class\n"
		 "(from the vtable's typeinfo, or without RTTI the vtable's own symbol).\n"
		 "ADDR is an expression, as for view.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	.args = "ADDR",
	.min_args = 1,
	.max_args = -1,
	.mo = { .no_stats = true },
	.run = whatis_run,
};
