/* vmatlas tui: search (the patterns of `vmatlas search`), dump to a file,
 * whatis, each asked for on the bottom line. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/format.h"
#include "base/util.h"
#include "tui_int.h"
#include "vmatlas/dump.h"
#include "vmatlas/error.h"
#include "vmatlas/expr.h"
#include "vmatlas/heap.h"
#include "vmatlas/search.h"
#include "vmatlas/whatis.h"

#define MAX_HITS 10000

/* "ptr-to WHAT": as `vmatlas search --ptr-to` (on a snapshot, the
 * expressions refuse to dereference: there is no memory) */
static int ptr_range(const tui_app *a, const char *w, uint64_t *lo, uint64_t *hi)
{
	vm_expr_ctx ec = { tui_map(a), a->t, *a->sp };
	return vm_ptr_range(&ec, "ptr-to", w, lo, hi) < 0 ? -1 : 0;
}

/* "ascii TEXT", "hex DE AD", "u32 7", "regex RE", "utf16 TEXT",
 * "ptr-to WHAT", or TEXT */
static int parse_pattern(const tui_app *a, vm_pattern *p, const char *s)
{
	static const char *const nums[] = { "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64" };
	const char *sp = strchr(s, ' ');
	size_t wl = sp ? (size_t)(sp - s) : 0;
	const char *rest = sp ? sp + 1 : "";
	if (wl == 5 && !strncmp(s, "ascii", 5))
		return vm_pattern_ascii(p, rest);
	if (wl == 5 && !strncmp(s, "utf16", 5))
		return vm_pattern_utf16(p, rest);
	if (wl == 3 && !strncmp(s, "hex", 3))
		return vm_pattern_hex(p, rest);
	if (wl == 5 && !strncmp(s, "regex", 5))
		return vm_pattern_regex(p, rest);
	if (wl == 6 && !strncmp(s, "ptr-to", 6)) {
		uint64_t lo, hi;
		if (ptr_range(a, rest, &lo, &hi) < 0)
			return -1;
		return vm_pattern_ptr_range(p, lo, hi, tui_map(a)->info.bits);
	}
	for (size_t i = 0; i < ARRAY_LEN(nums); i++)
		if (wl == strlen(nums[i]) && !strncmp(s, nums[i], wl)) {
			char type[8];
			snprintf(type, sizeof type, "%s", nums[i]);
			return vm_pattern_number(p, type, rest);
		}
	return vm_pattern_ascii(p, s);
}

static void progress(uint64_t done, uint64_t total, void *arg)
{
	(void)arg;
	ui_message(false, "searching ... %" PRIu64 "%%", total ? done * 100 / total : 0);
	ui_status_draw(LINES - 1, "");
	refresh();
}

struct hit_rows {
	tui_app *a;
	const uint64_t *hits;
	int aw;
};

static void hit_row(size_t i, int y, int w, bool sel, void *arg)
{
	const struct hit_rows *h = arg;
	char d[256], line[512];
	tui_describe(h->a, h->hits[i], d, sizeof d);
	snprintf(line, sizeof line, "%0*" PRIx64 "  %s", h->aw, h->hits[i], d);
	ui_line(y, 0, w, sel ? ui_attr(UI_SELECT) : (int)A_NORMAL, line);
}

void tui_search(tui_app *a)
{
	static char last[256];
	char buf[256];
	snprintf(buf, sizeof buf, "%s", last);
	if (!ui_prompt("search (TEXT, ascii/utf16 TEXT, hex DE ??, u32.. N, regex RE, ptr-to X): ", buf, sizeof buf) ||
	    !buf[0])
		return;
	snprintf(last, sizeof last, "%s", buf);
	if (!a->t) {
		ui_message(true, "search: no target to read");
		return;
	}
	vm_pattern p;
	memset(&p, 0, sizeof p);
	if (parse_pattern(a, &p, buf) < 0) {
		ui_message(true, "search: %s", vm_error());
		return;
	}
	vm_search_opts so = { .flags = VM_SEARCH_RO, .max_hits = MAX_HITS, .progress = progress };
	vm_search_result res;
	memset(&res, 0, sizeof res);
	const vm_map *m = tui_map(a);
	if (vm_search(m, a->t, &p, &so, &res) < 0) {
		ui_message(true, "search: %s", vm_error());
		vm_pattern_free(&p);
		return;
	}
	ui_message_clear();
	ui_list l = { .n = res.nhits };
	int aw = tui_aw(m);
	for (;;) {
		erase();
		tui_draw_title(a, "search");
		char s1[16];
		ui_line(1, 0, COLS, ui_attr(UI_HEADER), "");
		ui_textf(1, 0, COLS, ui_attr(UI_HEADER), "%zu hit%s%s for %s in %s searched", res.nhits,
			 res.nhits == 1 ? "" : "s", res.truncated ? " (the first)" : "", p.text ? p.text : buf,
			 fmt_size(res.scanned, s1, sizeof s1));
		struct hit_rows hr = { a, res.hits, aw };
		ui_list_draw(&l, (ui_rect){ 2, 0, LINES - 3, COLS }, hit_row, &hr);
		if (!res.nhits)
			ui_text(2, 2, COLS - 2, A_DIM, "(no hits)");
		ui_status_draw(LINES - 1, "Enter memory view  w whatis  q back");
		refresh();
		int k = ui_getkey(-1);
		if (k == KEY_RESIZE || k == ERR)
			continue;
		ui_message_clear();
		if (k == 'q' || k == UI_KEY_ESC || k == UI_KEY_QUIT)
			break;
		if ((k == '\n' || k == '\r' || k == KEY_ENTER) && res.nhits)
			tui_memview(a, res.hits[l.sel]);
		else if (k == 'w' && res.nhits)
			tui_whatis(a, res.hits[l.sel]);
		else
			ui_list_key(&l, k);
		if (ui_quit_requested())
			break;
	}
	vm_search_result_free(&res);
	vm_pattern_free(&p);
}

void tui_dump(tui_app *a, uint64_t addr, uint64_t size)
{
	char buf[512];
	snprintf(buf, sizeof buf, "vmatlas-%" PRIx64 ".bin", addr);
	char label[128], s1[16];
	snprintf(label, sizeof label, "dump %s from 0x%" PRIx64 " to: ", fmt_size(size, s1, sizeof s1), addr);
	if (!ui_prompt(label, buf, sizeof buf) || !buf[0])
		return;
	if (!a->t) {
		ui_message(true, "dump: no target to read");
		return;
	}
	vm_dump_result r;
	memset(&r, 0, sizeof r);
	if (vm_dump(tui_map(a), a->t, addr, size, 0, buf, &r) < 0) {
		ui_message(true, "dump: %s", vm_error());
		return;
	}
	ui_message(false, "dump: %" PRIu64 " bytes to %s%s", r.written, buf,
		   r.nholes ? " (some unreadable: zeros)" : "");
	vm_dump_result_free(&r);
}

void tui_whatis(tui_app *a, uint64_t addr)
{
	char buf[256];
	snprintf(buf, sizeof buf, "0x%" PRIx64, addr);
	if (!ui_prompt("whatis: ", buf, sizeof buf) || !buf[0])
		return;
	const vm_map *m = tui_map(a);
	uint64_t at;
	if (tui_eval(a, buf, &at) < 0) {
		ui_message(true, "whatis: %s", vm_error());
		return;
	}
	vm_heap_report hr;
	memset(&hr, 0, sizeof hr);
	bool walked = a->t != NULL;
	if (walked && vm_heap_walk(m, a->t, *a->sp, VM_HEAP_CHUNKS, &hr) < 0) {
		vm_heap_report_free(&hr);
		memset(&hr, 0, sizeof hr);
		walked = false;
	}
	vm_whatis w;
	if (a->t) {
		vm_whatis_query(m, a->t, *a->sp, walked ? &hr : NULL, at, &w);
	} else {
		/* a snapshot: what the map and the symbols say, no memory read */
		memset(&w, 0, sizeof w);
		w.addr = at;
		w.region = vm_map_region_at(m, at);
		w.alloc = w.region ? vm_map_alloc_of(m, w.region) : NULL;
		if (*a->sp)
			vm_symbolize(*a->sp, at, &w.sym);
	}
	int aw = tui_aw(m);
	char *lines[64];
	size_t n = 0;
	char sz[16], prot[5];
	const vm_region *r = w.region;
	lines[n++] = xasprintf("%0*" PRIx64, aw, at);
	if (!r) {
		lines[n++] = xasprintf("  outside the address space");
	} else if (r->state == VM_STATE_FREE) {
		lines[n++] = xasprintf("  in a free gap %0*" PRIx64 "-%0*" PRIx64 ": nothing is mapped there", aw, r->base, aw,
				       r->base + r->size);
	} else {
		vm_prot_string(r->prot, prot);
		lines[n++] = xasprintf("  region      %0*" PRIx64 "-%0*" PRIx64 " %s %s %s, +0x%" PRIx64 "%s%s", aw, r->base, aw,
				       r->base + r->size, vm_state_name(r->state), prot, vm_type_name(r->type), at - r->base,
				       r->path ? "  " : "", r->path ? r->path : "");
		if (w.alloc)
			lines[n++] = xasprintf("  allocation  %0*" PRIx64 " (%s) %s%s%s", aw, w.alloc->base,
					       fmt_size(w.alloc->size, sz, sizeof sz), vm_usage_name(w.alloc->usage),
					       w.alloc->details ? ": " : "", w.alloc->details ? w.alloc->details : "");
		if (w.sym.module) {
			char sym[256];
			vm_symbol_format(&w.sym, at, sym, sizeof sym);
			lines[n++] = xasprintf("  symbol      %s", sym);
			if (w.sym.file)
				lines[n++] = xasprintf("  source      %s:%d", w.sym.file, w.sym.line);
		}
		for (size_t i = 0; i < w.nitems && n < 56; i++) {
			const vm_content *c = w.items[i];
			lines[n++] = xasprintf("  %-11s %s%s%s", vm_content_kind_name(c->kind), c->name ? c->name : "",
					       c->detail ? "  " : "", c->detail ? c->detail : "");
		}
		if (w.chunk)
			lines[n++] = xasprintf("  %s  %0*" PRIx64 " (%s), %s", w.chunk_nt ? "heap block" : "heap chunk", aw,
					       w.chunk->addr,
					       fmt_size(w.chunk->size, sz, sizeof sz),
					       w.chunk->state == VM_CHUNK_FREE ? "FREE" :
					       w.chunk->state == VM_CHUNK_TOP ? "the top chunk" : "in use");
		if (w.stack_of)
			lines[n++] = xasprintf("  stack of    thread %lld%s%s, %s", (long long)w.stack_of->tid,
					       w.stack_of->name ? " " : "", w.stack_of->name ? w.stack_of->name : "",
					       w.in_use_stack ? "in use (at or above sp)" : "below sp (unused)");
		if (w.class_name)
			lines[n++] = xasprintf("  object      of class %s (vtable 0x%" PRIx64 ")", w.class_name, w.vtable);
	}
	ui_popup("whatis", (const char *const *)lines, n);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	if (a->t)
		vm_whatis_free(&w);
	if (walked)
		vm_heap_report_free(&hr);
}
