/* vmatlas heap: glibc malloc's arenas, heaps and chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/bytes.h"
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

/* Target memory for the chunk listing, read a window at a time as the
 * listing goes up through a heap (a read per chunk would be a system
 * call per chunk). */
#define PEEK_WINDOW (1u << 20)

typedef struct peeker {
	vm_target *t;
	uint8_t *buf;
	uint64_t base;
	size_t len;
} peeker;

static const uint8_t *peek(peeker *p, uint64_t addr, size_t len)
{
	if (addr >= p->base && addr - p->base <= p->len && p->len - (addr - p->base) >= len)
		return p->buf + (addr - p->base);
	if (!p->t) /* a saved report: no memory to look at */
		return NULL;
	if (!p->buf)
		p->buf = xmalloc(PEEK_WINDOW);
	ssize_t n = vm_read(p->t, addr, p->buf, PEEK_WINDOW);
	p->base = addr;
	p->len = n > 0 ? (size_t)n : 0;
	return p->len >= len ? p->buf : NULL;
}

/* safe-linking (glibc 2.32 on; unknown versions are taken as new) */
static bool safe_linking(const vm_heap_report *r)
{
	int major = 0, minor = 0;
	return sscanf(r->version, "%d.%d", &major, &minor) != 2 || major * 100 + minor >= 232;
}

/* a free chunk's links as its list keeps them: tcache and fastbins one
 * (safe-linked) next pointer, the bins fd and bk */
static bool links(peeker *pk, const vm_heap_report *r, const vm_chunk *c, size_t w, uint64_t *fd, uint64_t *bk,
		  bool *has_bk)
{
	const uint8_t *b = peek(pk, c->addr + 2 * w, 2 * w);
	if (!b || c->state != VM_CHUNK_FREE)
		return false;
	*fd = ld_word(b, w);
	*bk = ld_word(b + w, w);
	*has_bk = c->bin != VM_BIN_TCACHE && c->bin != VM_BIN_FAST;
	if (!*has_bk && safe_linking(r))
		*fd ^= (c->addr + 2 * w) >> 12;
	return true;
}

static void blocks_text(const vm_map *m, vm_target *t, const vm_heap_report *r, int only)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	size_t w = m->info.bits == 32 ? 4 : 8;
	peeker pk = { .t = t };
	char a[16];
	for (size_t i = 0; i < r->nsegs; i++) {
		const vm_heap_seg *g = &r->segs[i];
		if (only >= 0 && g->arena != only)
			continue;
		bool mm = !strcmp(g->kind, "mmapped");
		printf("\n%s %0*llx-%0*llx (%s)",
		       mm ? "mmapped chunk" : !strcmp(g->kind, "brk") ? "brk heap" : "arena heap", aw, (unsigned long long)g->base, aw,
		       (unsigned long long)(g->base + g->size), fmt_size(g->size, a, sizeof a));
		if (g->arena >= 0)
			printf(", arena %d%s at %0*llx", g->arena, r->arenas[g->arena].main ? " (main)" : "", aw,
			       (unsigned long long)r->arenas[g->arena].addr);
		printf(": %zu in use, %zu free%s\n", g->nused, g->nfree, g->cut_short ? ", cut short" : "");
		printf("  %-*s %9s  %-5s %-11s %-*s %-*s  %s\n", aw, "Chunk", "Size", "State", "List", aw, "fd", aw, "bk",
		       "First bytes (of user memory)");
		for (size_t k = 0; k < g->nchunks; k++) {
			const vm_chunk *ch = &g->chunks[k];
			char list[24] = "";
			if (ch->state == VM_CHUNK_FREE)
				snprintf(list, sizeof list, ch->bin_index >= 0 ? "%s %d" : "%s", vm_bin_name(ch->bin),
					 ch->bin_index);
			else if (mm)
				snprintf(list, sizeof list, "mmapped");
			printf("  %0*llx %9s  %-5s %-11s", aw, (unsigned long long)ch->addr,
			       fmt_size(ch->size, a, sizeof a),
			       ch->state == VM_CHUNK_USED ? "used" : ch->state == VM_CHUNK_TOP ? "top" : "free", list);
			uint64_t fd = 0, bk = 0;
			bool has_bk = false;
			if (links(&pk, r, ch, w, &fd, &bk, &has_bk)) {
				printf(" %0*llx", aw, (unsigned long long)fd);
				if (has_bk)
					printf(" %0*llx", aw, (unsigned long long)bk);
				else
					printf(" %*s", aw, "");
			} else {
				printf(" %*s %*s", aw, "", aw, "");
			}
			/* the first 16 bytes of user memory, as hex and text */
			uint64_t room = ch->size > 2 * w ? ch->size - 2 * w : 0;
			size_t nb = room < 16 ? (size_t)room : 16;
			const uint8_t *b = ch->state == VM_CHUNK_TOP || !nb ? NULL : peek(&pk, ch->addr + 2 * w, nb);
			if (b) {
				static const char hex[] = "0123456789abcdef";
				char line[96], *o = line;
				*o++ = ' ';
				for (size_t x = 0; x < 16; x++) {
					*o++ = ' ';
					*o++ = x < nb ? hex[b[x] >> 4] : ' ';
					*o++ = x < nb ? hex[b[x] & 15] : ' ';
				}
				*o++ = ' ';
				*o++ = ' ';
				*o++ = '|';
				for (size_t x = 0; x < nb; x++)
					*o++ = b[x] >= 0x20 && b[x] < 0x7f ? (char)b[x] : '.';
				*o++ = '|';
				*o = 0;
				fputs(line, stdout);
			}
			putchar('\n');
		}
	}
	free(pk.buf);
}

static void text(const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_heap_report *r, bool blocks, int only)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	char a[16], b[16], c[16], d[16], sym[512];
	vm_symbol_info si;
	vm_symbolize(s, r->main_arena, &si);
	vm_symbol_format(&si, r->main_arena, sym, sizeof sym);
	printf("glibc malloc %s: main_arena at %0*llx %s (%s)", r->version[0] ? r->version : "(version unknown)",
	       aw, (unsigned long long)r->main_arena, sym,
	       strcmp(r->main_arena_source, "symbol") ? "found by scanning glibc's data" : "from the symbols");
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
	if (blocks)
		blocks_text(m, t, r, only);
	if (r->nproblems) {
		printf("\nProblems (%zu):\n", r->nproblems);
		for (size_t i = 0; i < r->nproblems; i++)
			printf("  %0*llx  %s\n", aw, (unsigned long long)r->problems[i].addr, r->problems[i].what);
	}
}

void cli_heap_json(FILE *f, const vm_map *m, vm_target *t, const vm_heap_report *r, bool blocks, int only)
{
	if (r->kind == VM_HEAP_NT) {
		cli_heap_nt_json(f, r, blocks, only);
		return;
	}
	size_t w = m->info.bits == 32 ? 4 : 8;
	peeker pk = { .t = t };
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
				uint64_t fd, bk;
				bool has_bk;
				if (links(&pk, r, c, w, &fd, &bk, &has_bk)) {
					json_kaddr(jw, "fd", fd);
					if (has_bk)
						json_kaddr(jw, "bk", bk);
				}
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
	free(pk.buf);
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
		rc = cli_error(EXIT_RUNTIME, "heap: there is no %s %d (%zu)", r.kind == VM_HEAP_NT ? "heap" : "arena",
			       only, r.narenas);
	} else if (r.kind == VM_HEAP_NT && !ctx->json) {
		cli_heap_nt_text(m, t, &r, blocks, only);
	} else {
		ctx->json ? cli_heap_json(stdout, m, t, &r, blocks, only) : text(m, t, s, &r, blocks, only);
	}
	vm_heap_report_free(&r);
	return rc;
}

static const cli_option heap_opts[] = {
	CLI_OPT_FLAG("blocks", 0, heap_args, blocks, "list every chunk (NT: every block)"),
	CLI_OPT_U64("arena", "N", heap_args, arena, 0, 100000, "only arena N (0 is the main arena; NT: heap N)"),
};

const cli_command cli_cmd_heap = {
	.name = "heap",
	.summary = "glibc malloc or the NT heap: arenas/heaps, segments, chunks/blocks",
	.usage = "[OPTIONS] TARGET\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "glibc malloc walked from the process's memory: every arena (the main one\n"
		 "in the brk heap, secondary ones in their 64 MiB-aligned heaps), large\n"
		 "mmapped chunks, and per arena the bytes and chunks in use and free, by\n"
		 "the list that holds the free ones (tcache, fastbin, unsorted, small,\n"
		 "large). Damaged chunk headers and free lists are reported.\n"
		 "On a Windows minidump with the heaps' memory: the NT heaps (the PEB's\n"
		 "process heap and list, the heaps linked from the process heap, and any\n"
		 "found by signature), each with its segments and large blocks, and with\n"
		 "--blocks every block, busy or free, with its user data and size as\n"
		 "HeapWalk gives them. Wine 8's heap layout is walked, and Windows' own\n"
		 "NT heap back end, 64-bit and 32-bit (its low-fragmentation front\n"
		 "end's user blocks are named with their bucket and counts, the blocks\n"
		 "in them not listed; the segment heap is not walked).\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	.mo = { .no_stats = true },
	CLI_OPTS(heap_opts),
	CLI_ARGS(heap_args),
	.init = heap_init,
	.run = heap_run,
};
