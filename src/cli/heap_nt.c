/* vmatlas heap on a Windows target: the NT heaps, their segments and
 * large blocks, and with --blocks every block as HeapWalk lists it (the
 * user data's address and size). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "sections.h"

#define PEEK 16

static const char *source_text(const char *s)
{
	if (!s)
		return "?";
	if (!strcmp(s, "peb"))
		return "PEB.ProcessHeap";
	if (!strcmp(s, "peb-list"))
		return "PEB.ProcessHeaps";
	if (!strcmp(s, "heap-list"))
		return "heaps' list";
	return "signature scan";
}

static void first_bytes(vm_target *t, uint64_t addr, uint64_t len)
{
	uint8_t b[PEEK];
	size_t n = len < PEEK ? (size_t)len : PEEK;
	if (!t || !n || vm_read_full(t, addr, b, n) < 0)
		return;
	printf(" ");
	for (size_t i = 0; i < PEEK; i++)
		i < n ? printf(" %02x", b[i]) : printf("   ");
	printf("  |");
	for (size_t i = 0; i < n; i++)
		putchar(b[i] >= 0x20 && b[i] < 0x7f ? b[i] : '.');
	putchar('|');
}

static void blocks_text(const vm_map *m, vm_target *t, const vm_heap_report *r, int only)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	char a[16];
	for (size_t i = 0; i < r->nsegs; i++) {
		const vm_heap_seg *g = &r->segs[i];
		if (only >= 0 && g->arena != only)
			continue;
		uint64_t ha = g->arena >= 0 && (size_t)g->arena < r->narenas ? r->arenas[g->arena].addr : 0;
		printf("\n%s %0*llx-%0*llx (%s), heap %d at %0*llx: %zu in use, %zu free%s\n", g->kind, aw,
		       (unsigned long long)g->base, aw, (unsigned long long)(g->base + g->size),
		       fmt_size(g->size, a, sizeof a), g->arena, aw, (unsigned long long)ha, g->nused, g->nfree,
		       g->cut_short ? ", cut short" : "");
		printf("  %-*s %9s  %-5s %-*s %10s  %s\n", aw, "Block", "Size", "State", aw, "User data", "User size",
		       "First bytes");
		for (size_t k = 0; k < g->nchunks; k++) {
			const vm_chunk *c = &g->chunks[k];
			bool busy = c->state == VM_CHUNK_USED;
			printf("  %0*llx %9s  %-5s %0*llx %10llu", aw, (unsigned long long)c->addr,
			       fmt_size(c->size, a, sizeof a), busy ? "busy" : "free", aw,
			       (unsigned long long)(c->addr + c->hdr), (unsigned long long)c->usize);
			if (busy)
				first_bytes(t, c->addr + c->hdr, c->usize);
			putchar('\n');
			if (c->lfh && c->lfh <= r->nlfh) {
				const vm_lfh_run *u = &r->lfh[c->lfh - 1];
				printf("  %*s LFH user blocks: bucket %u, %u blocks of %u bytes, %u busy\n", aw, "",
				       u->bucket, u->blocks, u->block_size, u->busy);
			}
		}
	}
}

void cli_heap_nt_text(const vm_map *m, vm_target *t, const vm_heap_report *r, bool blocks, int only)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	char a[16], b[16], c[16], d[16];
	printf("NT heaps (layout %s): %zu heap%s", r->version, r->narenas, r->narenas == 1 ? "" : "s");
	if (r->main_arena)
		printf("; process heap at %0*llx (PEB.ProcessHeap)", aw, (unsigned long long)r->main_arena);
	printf("\n\n%-9s %-*s %-16s %-8s %4s %5s %10s %15s %15s %12s\n", "Heap", aw, "Address", "Found by", "Flags",
	       "Segs", "Large", "Committed", "In use", "Free", "Largest free");
	for (size_t i = 0; i < r->narenas; i++) {
		const vm_arena *x = &r->arenas[i];
		if (only >= 0 && (int)i != only)
			continue;
		char used[48], fr[48], id[32];
		snprintf(used, sizeof used, "%s (%zu)", fmt_size(x->used_bytes, a, sizeof a), x->nused);
		snprintf(fr, sizeof fr, "%s (%zu)", fmt_size(x->free_bytes, b, sizeof b), x->nfree);
		snprintf(id, sizeof id, "%zu%s", i, x->main ? " process" : "");
		if (x->unwalked) {
			printf("%-9s %0*llx %-16s %s\n", id, aw, (unsigned long long)x->addr, source_text(x->source), x->note);
			continue;
		}
		printf("%-9s %0*llx %-16s %08x %4zu %5zu %10s %15s %15s %12s\n", id, aw, (unsigned long long)x->addr,
		       source_text(x->source), x->flags, x->nsegs, x->nlarge, fmt_size(x->committed, c, sizeof c), used,
		       fr, fmt_size(x->largest_free, d, sizeof d));
	}
	for (size_t i = 0; i < r->narenas; i++)
		if (!r->arenas[i].unwalked && r->arenas[i].note && (only < 0 || (int)i == only))
			printf("heap %zu: %s\n", i, r->arenas[i].note);
	for (size_t i = 0; i < r->narenas; i++)
		if (r->arenas[i].lfh_runs && (only < 0 || (int)i == only))
			printf("heap %zu: LFH user blocks: %zu, holding %llu blocks, %llu busy\n", i, r->arenas[i].lfh_runs,
			       (unsigned long long)r->arenas[i].lfh_blocks, (unsigned long long)r->arenas[i].lfh_busy);
	printf("large blocks: %zu (%s)\n\nSegments:\n", r->mmapped_count, fmt_size(r->mmapped_bytes, a, sizeof a));
	for (size_t i = 0; i < r->nsegs; i++) {
		const vm_heap_seg *g = &r->segs[i];
		if (only >= 0 && g->arena != only)
			continue;
		printf("  %-8s %0*llx-%0*llx %9s  heap %d, committed %s, %zu in use (%s), %zu free (%s)%s\n", g->kind,
		       aw, (unsigned long long)g->base, aw, (unsigned long long)(g->base + g->size),
		       fmt_size(g->size, a, sizeof a), g->arena, fmt_size(g->committed, b, sizeof b), g->nused,
		       fmt_size(g->used_bytes, c, sizeof c), g->nfree, fmt_size(g->free_bytes, d, sizeof d),
		       g->cut_short ? ", cut short" : "");
	}
	if (blocks)
		blocks_text(m, t, r, only);
	if (r->nproblems) {
		printf("\nProblems (%zu):\n", r->nproblems);
		for (size_t i = 0; i < r->nproblems; i++)
			printf("  %0*llx  %s\n", aw, (unsigned long long)r->problems[i].addr, r->problems[i].what);
	}
}

void cli_heap_nt_json(FILE *f, const vm_heap_report *r, bool blocks, int only)
{
	json_writer *jw = xmalloc(sizeof *jw);
	json_init(jw, f, true);
	json_obj_begin(jw);
	json_kstr(jw, "allocator", "nt");
	json_kstr(jw, "layout", r->version);
	json_key(jw, "process_heap");
	r->main_arena ? json_addr(jw, r->main_arena) : json_null(jw);
	json_key(jw, "heaps");
	json_arr_begin(jw);
	for (size_t i = 0; i < r->narenas; i++) {
		const vm_arena *x = &r->arenas[i];
		if (only >= 0 && (int)i != only)
			continue;
		json_obj_begin(jw);
		json_ku64(jw, "id", i);
		json_kaddr(jw, "addr", x->addr);
		json_kbool(jw, "process", x->main);
		json_kstr(jw, "source", x->source);
		json_ku64(jw, "flags", x->flags);
		json_ku64(jw, "segments", x->nsegs);
		json_ku64(jw, "large_blocks", x->nlarge);
		json_ku64(jw, "large_bytes", x->large_bytes);
		json_ku64(jw, "committed", x->committed);
		json_ku64(jw, "reserved", x->reserved);
		json_ku64(jw, "in_use", x->used_bytes);
		json_ku64(jw, "in_use_blocks", x->nused);
		json_ku64(jw, "free", x->free_bytes);
		json_ku64(jw, "free_blocks", x->nfree);
		json_ku64(jw, "largest_free", x->largest_free);
		json_kbool(jw, "walked", !x->unwalked);
		json_kstr(jw, "note", x->note);
		json_kstr(jw, "front_end", x->front_end);
		json_ku64(jw, "lfh_user_blocks", x->lfh_runs);
		json_ku64(jw, "lfh_blocks", x->lfh_blocks);
		json_ku64(jw, "lfh_busy", x->lfh_busy);
		json_obj_end(jw);
	}
	json_arr_end(jw);
	json_key(jw, "segments");
	json_arr_begin(jw);
	for (size_t i = 0; i < r->nsegs; i++) {
		const vm_heap_seg *g = &r->segs[i];
		if (only >= 0 && g->arena != only)
			continue;
		json_obj_begin(jw);
		json_kstr(jw, "kind", g->kind);
		json_ki64(jw, "heap", g->arena);
		json_key(jw, "heap_addr");
		g->arena >= 0 && (size_t)g->arena < r->narenas ? json_addr(jw, r->arenas[g->arena].addr) : json_null(jw);
		json_kaddr(jw, "base", g->base);
		json_ku64(jw, "size", g->size);
		json_ku64(jw, "committed", g->committed);
		json_ku64(jw, "in_use_blocks", g->nused);
		json_ku64(jw, "free_blocks", g->nfree);
		json_ku64(jw, "in_use", g->used_bytes);
		json_ku64(jw, "free", g->free_bytes);
		json_kbool(jw, "cut_short", g->cut_short);
		if (blocks) {
			json_key(jw, "blocks");
			json_arr_begin(jw);
			for (size_t k = 0; k < g->nchunks; k++) {
				const vm_chunk *c = &g->chunks[k];
				json_obj_begin(jw);
				json_kaddr(jw, "addr", c->addr);
				json_kaddr(jw, "user", c->addr + c->hdr);
				json_ku64(jw, "size", c->size);
				json_ku64(jw, "user_size", c->usize);
				json_kstr(jw, "state", c->state == VM_CHUNK_USED ? "busy" : "free");
				json_key(jw, "lfh");
				if (c->lfh && c->lfh <= r->nlfh) {
					const vm_lfh_run *u = &r->lfh[c->lfh - 1];
					json_obj_begin(jw);
					json_kaddr(jw, "subsegment", u->subsegment);
					json_ku64(jw, "bucket", u->bucket);
					json_ku64(jw, "block_size", u->block_size);
					json_ku64(jw, "blocks", u->blocks);
					json_ku64(jw, "busy", u->busy);
					json_obj_end(jw);
				} else {
					json_null(jw);
				}
				json_obj_end(jw);
			}
			json_arr_end(jw);
		}
		json_obj_end(jw);
	}
	json_arr_end(jw);
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
