/* The main screen drawn: title, picture strip, summary, tree, details. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "base/format.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "tui_app_int.h"
#include "tui_int.h"
#include "vmatlas/diff.h"
#include "vmatlas/error.h"
#include "vmatlas/expr.h"
#include "vmatlas/snapshot.h"

/* ---- drawing ---- */

void tui_draw_title(const tui_app *a, const char *what)
{
	const vm_map *m = tui_map(a);
	const vm_target_info *in = &m->info;
	char buf[512];
	snprintf(buf, sizeof buf, " vmatlas tui  pid %lld (%s)  %s %s %d-bit%s%s  %s", (long long)in->pid,
		 in->name ? in->name : "?",
		 a->live ? "live" : a->t ? vm_target_kind_name(vm_target_kind_of(a->t)) : "snapshot", vm_arch_name(in->arch),
		 in->bits, a->o.refresh_s ? "  auto-refresh" : "", a->refreshes ? "  refreshed" : "",
		 what ? what : "");
	ui_line(0, 0, COLS, ui_attr(UI_TITLE), buf);
}

/* the picture strip: every allocation, its width by the logarithm of
 * its size so that a page and a gigabyte both show, each free gap a
 * narrow step; a caret under the ta_selected allocation */
static void draw_strip(const tui_app *a, int y, uint64_t sel_addr)
{
	const vm_map *m = tui_map(a);
	int w = COLS - 2;
	if (w < 10 || !m->nallocs)
		return;
	double *cum = xcalloc(m->nallocs + 1, sizeof *cum), total = 0;
	for (size_t i = 0; i < m->nallocs; i++) {
		const vm_alloc *al = &m->allocs[i];
		double wgt = al->usage == VM_USAGE_FREE ? 0.5 : 1 + ta_log2_u64(al->size / 4096 + 1);
		total += wgt;
		cum[i + 1] = total;
	}
	ui_text(y, 0, 1, A_BOLD, "[");
	size_t k = 0, sel_cell = (size_t)-1;
	for (int c = 0; c < w; c++) {
		double mid = total * ((double)c + 0.5) / (double)w;
		while (k + 1 < m->nallocs && cum[k + 1] < mid)
			k++;
		const vm_alloc *al = &m->allocs[k];
		char ch[2] = { ta_usage_letter(al->usage), 0 };
		int attr = ui_color() ? ui_attr((ui_role)(UI_BLOCK0 + (ta_usage_role(al->usage) - UI_CAT0))) :
			   (al->usage == VM_USAGE_FREE ? (int)A_DIM : (int)A_NORMAL);
		ui_text(y, 1 + c, 1, attr, ch);
		if (sel_addr >= al->base && sel_addr - al->base < al->size && sel_cell == (size_t)-1)
			sel_cell = (size_t)c;
	}
	ui_text(y, 1 + w, 1, A_BOLD, "]");
	if (sel_cell == (size_t)-1) {
		/* too small for a cell of its own: the cell its weight falls in */
		size_t i = vm_map_region_index(m, sel_addr);
		const vm_region *r = i != (size_t)-1 ? &m->regions[i] : NULL;
		const vm_alloc *al = r ? vm_map_alloc_of(m, r) : NULL;
		if (al && total > 0) {
			double mid = cum[al - m->allocs];
			sel_cell = (size_t)(mid / total * (double)w);
			if (sel_cell >= (size_t)w)
				sel_cell = (size_t)w - 1;
		}
	}
	ui_line(y + 1, 0, COLS, A_NORMAL, "");
	if (sel_cell != (size_t)-1) {
		char buf[32];
		uint64_t shown = sel_addr;
		snprintf(buf, sizeof buf, "^ %" PRIx64, shown);
		int x = 1 + (int)sel_cell;
		if (x + (int)strlen(buf) > COLS) {
			snprintf(buf, sizeof buf, "%" PRIx64 " ^", shown);
			x = 1 + (int)sel_cell - (int)strlen(buf) + 1;
		}
		ui_text(y + 1, x < 0 ? 0 : x, COLS, A_BOLD, buf);
	}
	free(cum);
}

static void draw_summary(tui_app *a, ui_rect r)
{
	const vm_map *m = tui_map(a);
	vm_summary_row rows[VM_USAGE_COUNT], total;
	vm_map_summary(m, rows, &total);
	char title[128];
	bool filtered = (a->usage_mask & ((1u << VM_USAGE_COUNT) - 1)) != (1u << VM_USAGE_COUNT) - 1;
	snprintf(title, sizeof title, "Summary by usage%s", filtered ? " (Enter: filter; on total: all)" : "");
	ui_frame(r, title, a->focus == FOCUS_SUM);
	ui_textf(r.y + 1, 0, COLS, ui_attr(UI_HEADER), "  %-9s %9s %10s %9s %9s %9s %7s %9s", "Usage", "Size",
		 "Committed", "RSS", "Private", "Shared", "Blocks", "Largest");
	a->sum.n = SUM_ROWS;
	a->sum.h = r.h - 2;
	ui_list_fit(&a->sum);
	for (int i = 0; i < a->sum.h; i++) {
		size_t k = a->sum.top + (size_t)i;
		if (k >= SUM_ROWS)
			break;
		const vm_summary_row *s;
		const char *name;
		int attr;
		bool on;
		if (k < SUM_TOTAL) {
			s = &rows[k];
			name = vm_usage_name((vm_usage)k);
			attr = ui_attr(ta_usage_role((vm_usage)k));
			on = filtered && ((a->usage_mask >> k) & 1u);
		} else if (k == SUM_TOTAL) {
			s = &total;
			name = "total";
			attr = A_BOLD;
			on = false;
		} else {
			s = &rows[VM_USAGE_FREE];
			name = "free";
			attr = ui_attr(UI_CAT7);
			on = a->show_free && filtered && ((a->usage_mask >> VM_USAGE_FREE) & 1u);
		}
		if (k == a->sum.sel && a->focus == FOCUS_SUM)
			attr = ui_attr(UI_SELECT);
		char b1[16], b2[16], b3[16], b4[16], b5[16], b6[16];
		ui_line(r.y + 2 + i, 0, COLS, attr, "");
		ui_textf(r.y + 2 + i, 0, COLS, attr, "%c %-9s %9s %10s %9s %9s %9s %7zu %9s", on ? '>' : ' ', name,
			 fmt_size(s->size, b1, sizeof b1), fmt_size(s->committed, b2, sizeof b2),
			 fmt_size(s->rss, b3, sizeof b3), fmt_size(s->private_bytes, b4, sizeof b4),
			 fmt_size(s->shared_bytes, b5, sizeof b5), s->blocks, fmt_size(s->largest, b6, sizeof b6));
	}
}

typedef struct tree_layout {
	int aw;
	bool wide; /* State and Private columns too */
} tree_layout;

static void tree_header(const tui_app *a, int y, const tree_layout *L)
{
	strbuf sb = STRBUF_INIT;
	static const int wid[NCOLS] = { 0, 9, 9, 7, 4, 9, 9, 9, 0 };
	sb_puts(&sb, "    ");
	for (int c = 0; c < NCOLS; c++) {
		if (!L->wide && (c == COL_STATE || c == COL_PRIV))
			continue;
		char name[24];
		snprintf(name, sizeof name, "%s%s", ta_col_names[c],
			 c == a->sort_col ? (a->sort_desc ? "v" : "^") : "");
		if (c == COL_ADDR)
			sb_printf(&sb, "%-*s ", L->aw, name);
		else if (c == COL_DETAILS)
			sb_printf(&sb, " %s", name);
		else if (c == COL_SIZE || c == COL_RSS || c == COL_PRIV)
			sb_printf(&sb, "%*s ", wid[c], name);
		else
			sb_printf(&sb, "%-*s ", wid[c], name);
	}
	ui_line(y, 0, COLS, ui_attr(UI_HEADER), sb_str(&sb));
	sb_free(&sb);
}

static char mark_char(unsigned mk)
{
	if (mk & MARK_ADDED)
		return '+';
	if ((mk & MARK_SIZE) && (mk & MARK_PROT))
		return '*';
	if (mk & MARK_SIZE)
		return '~';
	if (mk & MARK_PROT)
		return '!';
	if (mk & MARK_OTHER)
		return '#';
	if (mk & MARK_WRITTEN)
		return 'w';
	return ' ';
}

static void tree_row(const tui_app *a, int y, const tui_row *row, bool sel, const tree_layout *L)
{
	const vm_map *m = tui_map(a);
	char sz[16], rss[16], priv[16], prot[5] = "";
	const char *usage = "", *state = "", *type = "";
	uint64_t base = 0, size = 0, trss = 0, tpriv = 0;
	bool stats = false;
	unsigned mk = 0;
	char tree = ' ';
	int indent = 0;
	int attr = A_NORMAL;
	strbuf det = STRBUF_INIT;
	if (row->kind == ROW_ALLOC) {
		const vm_alloc *al = &m->allocs[row->i];
		base = al->base;
		size = al->size;
		usage = vm_usage_name(al->usage);
		ta_alloc_stats(m, al, &trss, &tpriv, &stats);
		if (al->count == 1 && al->first < m->nregions) {
			const vm_region *r = &m->regions[al->first];
			state = vm_state_name(r->state);
			if (r->state != VM_STATE_FREE) {
				vm_prot_string(r->prot, prot);
				type = vm_type_name(r->type);
			}
		}
		if (al->details)
			sb_puts(&det, al->details);
		if (al->count == 1 && al->first < m->nregions) {
			strbuf rd = STRBUF_INIT;
			const vm_region *r = &m->regions[al->first];
			ta_contents_inline(r, &rd);
			if (rd.len && (!al->details || !strstr(al->details, sb_str(&rd)))) {
				sb_puts(&det, det.len ? ": " : "");
				sb_puts(&det, sb_str(&rd));
			}
			sb_free(&rd);
		}
		for (size_t k = al->first; a->mark && k < al->first + al->count && k < m->nregions; k++)
			mk |= a->mark[k];
		if (al->usage != VM_USAGE_FREE)
			tree = al->count > 1 || ta_is_expanded(a, al->base) ? (ta_is_expanded(a, al->base) ? '-' : '+') : ' ';
		attr = ui_attr(ta_usage_role(al->usage));
		if (al->usage != VM_USAGE_FREE && al->count > 1 && !ta_is_expanded(a, al->base))
			tree = '+';
	} else if (row->kind == ROW_REGION) {
		const vm_region *r = &m->regions[row->i];
		base = r->base;
		size = r->size;
		state = vm_state_name(r->state);
		vm_prot_string(r->prot, prot);
		type = vm_type_name(r->type);
		trss = r->stats.rss;
		tpriv = r->stats.private_clean + r->stats.private_dirty;
		stats = r->stats.valid;
		ta_region_details(r, &det);
		mk = a->mark ? a->mark[row->i] : 0;
		indent = 2;
	} else {
		const tui_gone *g = &a->gone[row->i];
		base = g->base;
		size = g->size;
		usage = vm_usage_name(g->usage);
		state = vm_state_name(g->state);
		vm_prot_string(g->prot, prot);
		type = vm_type_name(g->type);
		sb_puts(&det, "(removed)");
		if (g->path) {
			sb_putc(&det, ' ');
			sb_puts(&det, g->path);
		}
		attr = ui_attr(UI_REMOVED);
		tree = '-';
	}
	if (row->kind == ROW_GONE)
		mk = 0;
	if (mk && !sel)
		attr = mk & MARK_ADDED ? ui_attr(UI_ADDED) : ui_attr(UI_CHANGED);
	if (sel)
		attr = ui_attr(a->focus == FOCUS_TREE ? UI_SELECT : UI_SELECT_DIM);
	strbuf sb = STRBUF_INIT;
	/* four columns before the address: change mark, tree, and for a
	 * region a bar under its allocation */
	sb_printf(&sb, "%c%c%s%0*" PRIx64 " %9s %-9s ", row->kind == ROW_GONE ? '-' : mark_char(mk), tree,
		  indent ? "| " : "  ", L->aw, base, fmt_size(size, sz, sizeof sz), usage);
	if (L->wide)
		sb_printf(&sb, "%-7s ", state);
	sb_printf(&sb, "%-4s %-9s ", prot, type);
	if (stats)
		sb_printf(&sb, "%9s ", fmt_size(trss, rss, sizeof rss));
	else
		sb_printf(&sb, "%9s ", "");
	if (L->wide)
		sb_printf(&sb, "%9s ", stats ? fmt_size(tpriv, priv, sizeof priv) : "");
	sb_printf(&sb, " %s", sb_str(&det));
	ui_line(y, 0, COLS, attr, sb_str(&sb));
	sb_free(&sb);
	sb_free(&det);
}

static void draw_tree(tui_app *a, ui_rect r)
{
	const vm_map *m = tui_map(a);
	tree_layout L = { .aw = tui_aw(m), .wide = COLS >= 100 };
	size_t shown = 0;
	for (size_t i = 0; i < a->nrows; i++)
		shown += a->rows[i].kind == ROW_ALLOC;
	strbuf f = STRBUF_INIT;
	unsigned all = (1u << VM_USAGE_COUNT) - 1;
	if ((a->usage_mask & all) != all) {
		for (int u = 0; u < VM_USAGE_COUNT; u++)
			if ((a->usage_mask >> u) & 1u)
				sb_printf(&f, "%s%s", f.len ? "," : "  usage: ", vm_usage_name((vm_usage)u));
	}
	strbuf title = STRBUF_INIT;
	sb_printf(&title, "Allocations %zu/%zu%s%s", shown, m->nallocs, sb_str(&f), a->show_free ? "  free shown" : "");
	if (a->find[0])
		sb_printf(&title, "  find: %s", a->find);
	sb_printf(&title, "  sort: %s%s", ta_col_names[a->sort_col], a->sort_desc ? " (desc)" : "");
	sb_free(&f);
	ui_frame(r, sb_str(&title), a->focus == FOCUS_TREE);
	sb_free(&title);
	tree_header(a, r.y + 1, &L);
	a->tree.h = r.h - 2;
	ui_list_fit(&a->tree);
	for (int i = 0; i < a->tree.h; i++) {
		size_t k = a->tree.top + (size_t)i;
		if (k >= a->nrows)
			break;
		tree_row(a, r.y + 2 + i, &a->rows[k], k == a->tree.sel, &L);
	}
	if (!a->nrows)
		ui_text(r.y + 2, 2, COLS - 2, A_DIM, "(nothing shown: 'x' clears the usage filter, 'a' shows free space)");
}

/* the lines of the details pane for the selection */
static size_t details_lines(tui_app *a, char ***out)
{
	const vm_map *m = tui_map(a);
	const tui_row *row = ta_selected(a);
	char **v = NULL;
	size_t n = 0, cap = 0;
	int aw = tui_aw(m);
	char s1[16], s2[16], s3[16], s4[16], s5[16], s6[16], prot[5];
#define LINE(...) (*ARRAY_PUSH(v, n, cap) = xasprintf(__VA_ARGS__))
	if (!row) {
		*out = NULL;
		return 0;
	}
	if (row->kind == ROW_GONE) {
		const tui_gone *g = &a->gone[row->i];
		vm_prot_string(g->prot, prot);
		LINE("removed since the last refresh: %0*" PRIx64 "-%0*" PRIx64 " %s %s %s %s", aw, g->base, aw,
		     g->base + g->size, fmt_size(g->size, s1, sizeof s1), vm_state_name(g->state), prot,
		     g->path ? g->path : "");
		*out = v;
		return n;
	}
	const vm_region *r = ta_row_region(a, row);
	if (row->kind == ROW_ALLOC) {
		const vm_alloc *al = &m->allocs[row->i];
		LINE("allocation %0*" PRIx64 "-%0*" PRIx64 " %s, %s, %zu region%s%s%s", aw, al->base, aw,
		     al->base + al->size, fmt_size(al->size, s1, sizeof s1), vm_usage_name(al->usage), al->count,
		     al->count == 1 ? "" : "s", al->details ? ": " : "", al->details ? al->details : "");
	}
	if (!r) {
		*out = v;
		return n;
	}
	unsigned mk = a->mark ? a->mark[r - m->regions] : 0;
	vm_prot_string(r->prot, prot);
	LINE("region %0*" PRIx64 "-%0*" PRIx64 " %s %s %s %s%s%s +0x%" PRIx64 "%s", aw, r->base, aw, r->base + r->size,
	     fmt_size(r->size, s1, sizeof s1), vm_state_name(r->state), r->state == VM_STATE_FREE ? "" : prot,
	     vm_type_name(r->type), r->path ? "  " : "", r->path ? r->path : "", r->offset,
	     mk & MARK_ADDED ? "  [added]" : (mk & (MARK_SIZE | MARK_PROT)) == (MARK_SIZE | MARK_PROT) ? "  [resized, re-protected]" :
	     mk & MARK_SIZE ? "  [resized]" : mk & MARK_PROT ? "  [re-protected]" : mk & MARK_OTHER ? "  [changed]" : "");
	if (mk & MARK_WRITTEN)
		LINE("written since the last refresh: %s of its pages' contents changed",
		     fmt_size(a->written[r - m->regions], s1, sizeof s1));
	if (r->flags & VM_RF_NO_DATA)
		LINE("data: the target holds none of it (not dumped)%s", r->flags & VM_RF_FROM_FILE ? "; read from the file" : "");
	else if (r->flags & VM_RF_PART_DATA)
		LINE("data: the target holds the first %s%s", fmt_size(r->held, s1, sizeof s1),
		     r->flags & VM_RF_FROM_FILE ? "; the rest from the file" : "");
	if (r->stats.valid && r->stats.working_set) {
		/* Windows: the working set says no more */
		LINE("pages: RSS %s  private %s  shared %s  locked %s (working set)", fmt_size(r->stats.rss, s1, sizeof s1),
		     fmt_size(r->stats.private_clean, s2, sizeof s2), fmt_size(r->stats.shared_clean, s3, sizeof s3),
		     fmt_size(r->stats.locked, s4, sizeof s4));
	} else if (r->stats.valid) {
		const vm_page_stats *st = &r->stats;
		LINE("pages: RSS %s  private clean %s dirty %s  shared clean %s dirty %s  swap %s",
		     fmt_size(st->rss, s1, sizeof s1), fmt_size(st->private_clean, s2, sizeof s2),
		     fmt_size(st->private_dirty, s3, sizeof s3), fmt_size(st->shared_clean, s4, sizeof s4),
		     fmt_size(st->shared_dirty, s5, sizeof s5), fmt_size(st->swap, s6, sizeof s6));
		if (st->lx.pss || st->locked || st->lx.anonymous)
			LINE("       PSS %s  anonymous %s  locked %s  referenced %s", fmt_size(st->lx.pss, s1, sizeof s1),
			     fmt_size(st->lx.anonymous, s2, sizeof s2), fmt_size(st->locked, s3, sizeof s3),
			     fmt_size(st->lx.referenced, s4, sizeof s4));
	} else if (r->state != VM_STATE_FREE) {
		LINE("pages: no statistics from this target");
	}
	if (r->pages.valid)
		LINE("pages: %" PRIu64 " present, %" PRIu64 " swapped, %" PRIu64 " exclusive, %" PRIu64 " shared",
		     r->pages.present, r->pages.swapped, r->pages.exclusive, r->pages.shared);
	const vm_module *mod = r->state != VM_STATE_FREE ? vm_map_module_at(m, r->base) : NULL;
	if (mod) {
		strbuf b = STRBUF_INIT;
		for (size_t i = 0; i < mod->build_id_len; i++)
			sb_printf(&b, "%02x", mod->build_id[i]);
		LINE("module %s  %s %d-bit  base %0*" PRIx64 "%s%s%s", mod->name ? mod->name : "?",
		     mod->format ? mod->format : "", mod->bits, aw, mod->base, b.len ? "  build-id " : "", sb_str(&b),
		     mod->sources == VM_SRC_LOADER ? "  (loader list only)" :
		     mod->sources == VM_SRC_REGIONS ? "  (not in the loader's list)" : "");
		sb_free(&b);
		if (mod->path)
			LINE("       %s", mod->path);
		const char *src = *a->sp ? vm_symbolizer_sources(*a->sp, mod) : NULL;
		LINE("symbols: %s", src ? src : "none found");
	}
	if (r->ncontents)
		LINE("contents (%zu):", r->ncontents);
	for (size_t k = 0; k < r->ncontents; k++) {
		const vm_content *c = &r->contents[k];
		const char *mn = c->module >= 0 && (size_t)c->module < m->nmodules ? m->modules[c->module].name : NULL;
		char tid[32] = "";
		if (c->tid)
			snprintf(tid, sizeof tid, "  tid %lld", (long long)c->tid);
		LINE("  %0*" PRIx64 " %9s  %-9s %s%s%s%s%s%s%s", aw, c->addr, fmt_size(c->size, s1, sizeof s1),
		     vm_content_kind_name(c->kind), c->name ? c->name : "", c->detail ? "  " : "",
		     c->detail ? c->detail : "", mn && c->kind != VM_CK_HEADER ? "  [" : "",
		     mn && c->kind != VM_CK_HEADER ? mn : "", mn && c->kind != VM_CK_HEADER ? "]" : "", tid);
	}
#undef LINE
	*out = v;
	return n;
}

static void draw_details(tui_app *a, ui_rect r)
{
	char **lines;
	size_t n = details_lines(a, &lines);
	ui_frame(r, "Details", a->focus == FOCUS_DET);
	a->det.n = n;
	a->det.h = r.h - 1;
	if (a->focus != FOCUS_DET)
		a->det.top = 0;
	if (a->det.top + (size_t)a->det.h > n)
		a->det.top = n > (size_t)a->det.h ? n - (size_t)a->det.h : 0;
	for (int i = 0; i < a->det.h && a->det.top + (size_t)i < n; i++)
		ui_line(r.y + 1 + i, 0, COLS, A_NORMAL, lines[a->det.top + (size_t)i]);
	if (a->det.top + (size_t)a->det.h < n)
		ui_text(r.y, COLS - 10, 10, A_BOLD, " (more) ");
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

const char *ta_hints(const tui_app *a)
{
	if (a->focus == FOCUS_SUM)
		return "F1 help  Enter filter  Tab pane  q quit";
	return a->live ? "F1 help  Enter open  / find  s search  d dump  w whatis  r refresh  q quit" :
			 "F1 help  Enter open  / find  s search  d dump  w whatis  a free  q quit";
}

void ta_draw(tui_app *a)
{
	erase();
	if (COLS < 60 || LINES < 16) {
		ui_text(0, 0, COLS, A_BOLD, "vmatlas tui: the terminal is too small (60x16 at least); q quits");
		refresh();
		return;
	}
	const tui_row *row = ta_selected(a);
	uint64_t sel_addr = row ? ta_row_addr(a, row) : 0;
	tui_draw_title(a, a->changes);
	draw_strip(a, 1, sel_addr);
	int sum_rows = LINES >= 44 ? SUM_ROWS : LINES >= 32 ? 6 : 3;
	int det_h = LINES >= 44 ? 12 : LINES >= 32 ? 9 : 5;
	ui_rect rs = { 3, 0, 2 + sum_rows, COLS };
	ui_rect rd = { LINES - 1 - det_h, 0, det_h, COLS };
	ui_rect rt = { rs.y + rs.h, 0, rd.y - (rs.y + rs.h), COLS };
	draw_summary(a, rs);
	draw_tree(a, rt);
	draw_details(a, rd);
	ui_status_draw(LINES - 1, ta_hints(a));
	refresh();
}

