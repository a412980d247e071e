/* vmatlas heap: glibc malloc's arenas, heaps and chunks. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/heap.h"
#include "sections.h"

typedef struct heap_args {
	bool blocks;
	uint64_t arena; /* UINT64_MAX: every arena */
} heap_args;

static void heap_init(void *p)
{
	((heap_args *)p)->arena = UINT64_MAX;
}

static double frag(const vm_arena *a)
{
	return a->free_bytes ? 1.0 - (double)a->largest_free / (double)a->free_bytes : 0.0;
}

static uint64_t usable(const vm_chunk *c, size_t w, bool mmapped)
{
	return c->size - (mmapped ? 2 * w : w);
}

static void text(const vm_map *m, vm_symbolizer *s, const vm_heap_report *r, bool blocks, int only)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	size_t w = m->info.bits == 32 ? 4 : 8;
	char a[16], b[16], c[16], d[16], sym[512];
	vm_symbol_info si;
	vm_symbolize(s, r->main_arena, &si);
	vm_symbol_format(&si, r->main_arena, sym, sizeof sym);
	printf("glibc malloc %s: main_arena at %0*llx %s (%s)", r->version[0] ? r->version : "(version unknown)",
	       aw, (unsigned long long)r->main_arena, sym,
	       strcmp(r->main_arena_source, "symbol") ? "found by scanning libc's data" : "from the symbols");
	if (r->ntcaches)
		printf("; tcaches of %zu thread%s (%s)", r->ntcaches, r->ntcaches == 1 ? "" : "s",
		       r->tcache_source);
	printf("\n\n%-6s %-*s %15s %15s %9s %11s %5s\n", "Arena", aw, "Address", "In use", "Free", "Top",
	       "Largest free", "Frag");
	for (size_t i = 0; i < r->narenas; i++) {
		const vm_arena *x = &r->arenas[i];
		if (only >= 0 && (int)i != only)
			continue;
		char used[48], fr[48], id[32];
		snprintf(used, sizeof used, "%s (%zu)", fmt_size(x->used_bytes, a, sizeof a), x->nused);
		snprintf(fr, sizeof fr, "%s (%zu)", fmt_size(x->free_bytes, b, sizeof b), x->nfree);
		snprintf(id, sizeof id, "%zu%s", i, x->main ? " main" : "");
		printf("%-6s %0*llx %15s %15s %9s %11s %4.0f%%\n", id,
		       aw, (unsigned long long)x->addr, used, fr, fmt_size(x->top_size, c, sizeof c),
		       fmt_size(x->largest_free, d, sizeof d), 100.0 * frag(x));
		printf("       free by list:");
		for (int bin = VM_BIN_TCACHE; bin < VM_BIN_COUNT; bin++)
			if (bin != VM_BIN_TOP && x->nbin[bin])
				printf(" %s %zu (%s)", vm_bin_name((vm_bin)bin), x->nbin[bin],
				       fmt_size(x->binbytes[bin], a, sizeof a));
		printf("%s\n", x->nfree ? "" : " none");
	}
	printf("large mmapped chunks: %zu (%s)\n\nHeaps:\n", r->mmapped_count,
	       fmt_size(r->mmapped_bytes, a, sizeof a));
	for (size_t i = 0; i < r->nsegs; i++) {
		const vm_heap_seg *g = &r->segs[i];
		if (only >= 0 && g->arena != only)
			continue;
		printf("  %-8s %0*llx-%0*llx %9s  ", g->kind, aw, (unsigned long long)g->base, aw,
		       (unsigned long long)(g->base + g->size), fmt_size(g->size, a, sizeof a));
		if (g->arena >= 0)
			printf("arena %d, ", g->arena);
		printf("%zu in use, %zu free%s\n", g->nused, g->nfree, g->cut_short ? ", cut short" : "");
	}
	if (blocks) {
		printf("\n%-*s %9s  %-5s %s\n", aw, "Chunk", "Size", "State", "List");
		for (size_t i = 0; i < r->nsegs; i++) {
			const vm_heap_seg *g = &r->segs[i];
			if (only >= 0 && g->arena != only)
				continue;
			for (size_t k = 0; k < g->nchunks; k++) {
				const vm_chunk *ch = &g->chunks[k];
				printf("%0*llx %9s  %-5s", aw, (unsigned long long)ch->addr,
				       fmt_size(ch->size, a, sizeof a),
				       ch->state == VM_CHUNK_USED ? "used" : ch->state == VM_CHUNK_TOP ? "top" : "free");
				if (ch->state == VM_CHUNK_FREE) {
					printf(" %s", vm_bin_name(ch->bin));
					if (ch->bin_index >= 0)
						printf(" %d", ch->bin_index);
				}
				if (ch->state == VM_CHUNK_USED && !strcmp(g->kind, "mmapped"))
					printf(" mmapped");
				(void)w;
				putchar('\n');
			}
		}
	}
	if (r->nproblems) {
		printf("\nProblems (%zu):\n", r->nproblems);
		for (size_t i = 0; i < r->nproblems; i++)
			printf("  %0*llx  %s\n", aw, (unsigned long long)r->problems[i].addr, r->problems[i].what);
	}
}

void cli_heap_json(FILE *f, const vm_map *m, const vm_heap_report *r, bool blocks, int only)
{
	size_t w = m->info.bits == 32 ? 4 : 8;
	json_writer *jw = xmalloc(sizeof *jw);
	json_init(jw, f, true);
	json_obj_begin(jw);
	json_kstr(jw, "allocator", r->walked ? "glibc" : NULL);
	json_kstr(jw, "version", r->version[0] ? r->version : NULL);
	json_kaddr(jw, "main_arena", r->main_arena);
	json_kstr(jw, "main_arena_source", r->main_arena_source);
	json_kstr(jw, "tcache_source", r->tcache_source);
	json_key(jw, "arenas");
	json_arr_begin(jw);
	for (size_t i = 0; i < r->narenas; i++) {
		const vm_arena *x = &r->arenas[i];
		if (only >= 0 && (int)i != only)
			continue;
		json_obj_begin(jw);
		json_ku64(jw, "id", i);
		json_kaddr(jw, "addr", x->addr);
		json_kbool(jw, "main", x->main);
		json_kaddr(jw, "top", x->top);
		json_ku64(jw, "top_size", x->top_size);
		json_ku64(jw, "system_mem", x->system_mem);
		json_ku64(jw, "in_use", x->used_bytes);
		json_ku64(jw, "in_use_chunks", x->nused);
		json_ku64(jw, "free", x->free_bytes);
		json_ku64(jw, "free_chunks", x->nfree);
		json_ku64(jw, "largest_free", x->largest_free);
		json_key(jw, "fragmentation");
		json_double(jw, frag(x));
		json_key(jw, "bins");
		json_obj_begin(jw);
		for (int bin = VM_BIN_TCACHE; bin < VM_BIN_COUNT; bin++) {
			if (bin == VM_BIN_TOP)
				continue;
			json_key(jw, vm_bin_name((vm_bin)bin));
			json_obj_begin(jw);
			json_ku64(jw, "count", x->nbin[bin]);
			json_ku64(jw, "bytes", x->binbytes[bin]);
			json_obj_end(jw);
		}
		json_obj_end(jw);
		json_obj_end(jw);
	}
	json_arr_end(jw);
	json_key(jw, "heaps");
	json_arr_begin(jw);
	for (size_t i = 0; i < r->nsegs; i++) {
		const vm_heap_seg *g = &r->segs[i];
		if (only >= 0 && g->arena != only)
			continue;
		bool mm = !strcmp(g->kind, "mmapped");
		json_obj_begin(jw);
		json_kstr(jw, "kind", g->kind);
		json_ki64(jw, "id", g->arena);
		json_kaddr(jw, "base", g->base);
		json_ku64(jw, "size", g->size);
		json_key(jw, "arena");
		g->arena >= 0 ? json_addr(jw, r->arenas[g->arena].addr) : json_null(jw);
		json_ku64(jw, "in_use_chunks", g->nused);
		json_ku64(jw, "free_chunks", g->nfree);
		json_ku64(jw, "in_use", g->used_bytes);
		json_ku64(jw, "free", g->free_bytes);
		json_kbool(jw, "cut_short", g->cut_short);
		if (blocks) {
			json_key(jw, "chunks");
			json_arr_begin(jw);
			for (size_t k = 0; k < g->nchunks; k++) {
				const vm_chunk *c = &g->chunks[k];
				json_obj_begin(jw);
				json_kaddr(jw, "addr", c->addr);
				json_kaddr(jw, "user", c->addr + 2 * w);
				json_ku64(jw, "size", c->size);
				json_ku64(jw, "usable", c->state == VM_CHUNK_USED ? usable(c, w, mm) : 0);
				json_kstr(jw, "state", c->state == VM_CHUNK_USED ? "used" : c->state == VM_CHUNK_TOP ? "top" : "free");
				json_kstr(jw, "bin", vm_bin_name(c->bin));
				if (c->bin_index >= 0)
					json_ki64(jw, "bin_index", c->bin_index);
				json_obj_end(jw);
			}
			json_arr_end(jw);
		}
		json_obj_end(jw);
	}
	json_arr_end(jw);
	json_key(jw, "mmapped");
	json_obj_begin(jw);
	json_ku64(jw, "count", r->mmapped_count);
	json_ku64(jw, "bytes", r->mmapped_bytes);
	json_obj_end(jw);
	json_key(jw, "problems");
	json_arr_begin(jw);
	for (size_t i = 0; i < r->nproblems; i++) {
		json_obj_begin(jw);
		json_kaddr(jw, "addr", r->problems[i].addr);
		json_kstr(jw, "what", r->problems[i].what);
		json_obj_end(jw);
	}
	json_arr_end(jw);
	json_obj_end(jw);
	json_done(jw);
	free(jw);
}

static int heap_run(cli_ctx *ctx)
{
	const heap_args *a = ctx->args;
	bool blocks = a->blocks;
	int only = a->arena == UINT64_MAX ? -1 : (int)a->arena, rc = 0;
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	vm_symbolizer *s = ctx->sym;
	vm_heap_report r;
	vm_heap_walk(m, t, s, blocks ? VM_HEAP_CHUNKS : 0, &r);
	if (!r.walked) {
		rc = cli_error(EXIT_RUNTIME, "heap: %s", r.note);
	} else if (only >= 0 && (size_t)only >= r.narenas) {
		rc = cli_error(EXIT_RUNTIME, "heap: there is no arena %d (%zu arenas)", only, r.narenas);
	} else {
		ctx->json ? cli_heap_json(stdout, m, &r, blocks, only) : text(m, s, &r, blocks, only);
	}
	vm_heap_report_free(&r);
	return rc;
}

static const cli_option heap_opts[] = {
	CLI_OPT_FLAG("blocks", 0, heap_args, blocks, "list every chunk"),
	CLI_OPT_U64("arena", "N", heap_args, arena, 0, 100000, "only arena N (0 is the main arena)"),
};

const cli_command cli_cmd_heap = {
	.name = "heap",
	.summary = "glibc malloc: arenas, heaps, chunks, free lists",
	.usage = "[OPTIONS] TARGET\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "glibc malloc walked from the process's memory: every arena (the main one\n"
		 "in the brk heap, secondary ones in their 64 MiB-aligned heaps), large\n"
		 "mmapped chunks, and per arena the bytes and chunks in use and free, by\n"
		 "the list that holds the free ones (tcache, fastbin, unsorted, small,\n"
		 "large). Damaged chunk headers and free lists are reported.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	.mo = { .no_stats = true },
	CLI_OPTS(heap_opts),
	CLI_ARGS(heap_args),
	.init = heap_init,
	.run = heap_run,
};
