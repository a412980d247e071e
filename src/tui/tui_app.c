/* vmatlas tui, the main screen: title, the picture strip of the address
 * space, the summary by usage (a filter), the allocation tree, the
 * details of the selected row, the status line; the refresh of a live
 * target and what it changed. */
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
#include "tui_int.h"
#include "vmatlas/diff.h"
#include "vmatlas/error.h"
#include "vmatlas/expr.h"
#include "vmatlas/snapshot.h"

enum { COL_ADDR, COL_SIZE, COL_USAGE, COL_STATE, COL_PROT, COL_TYPE, COL_RSS, COL_PRIV, COL_DETAILS, NCOLS };
static const char *const col_names[NCOLS] = { "Address", "Size", "Usage", "State", "Prot",
					      "Type", "RSS", "Private", "Details" };
enum { FOCUS_TREE, FOCUS_SUM, FOCUS_DET, NFOCUS };

/* the rows of the summary: the usages but free, total, free */
#define SUM_ROWS (VM_USAGE_COUNT + 1)
#define SUM_TOTAL (VM_USAGE_COUNT - 1)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tui_aw(const vm_map *m)
{
	/* the user address space (a vsyscall page above it prints wider) */
	uint64_t top = m->info.user_top ? m->info.user_top - 1 : UINT64_MAX;
	int d = 1;
	while (top >>= 4)
		d++;
	return d < 8 ? 8 : d;
}

static ui_role usage_role(vm_usage u)
{
	switch (u) {
	case VM_USAGE_IMAGE: return UI_CAT0;
	case VM_USAGE_MAPPED: return UI_CAT1;
	case VM_USAGE_SHAREABLE: return UI_CAT2;
	case VM_USAGE_HEAP: return UI_CAT3;
	case VM_USAGE_STACK: return UI_CAT4;
	case VM_USAGE_PRIVATE: return UI_CAT5;
	case VM_USAGE_SYSTEM: return UI_CAT6;
	default: return UI_CAT7;
	}
}

/* floor(log2(x)), 0 for 0 */
static double log2_u64(uint64_t x)
{
	int n = 0;
	while (x >>= 1)
		n++;
	return n;
}

/* one letter per usage in the picture strip */
static char usage_letter(vm_usage u)
{
	static const char l[VM_USAGE_COUNT] = { 'I', 'M', 'S', 'H', 'K', 'P', 'Y', 'R', '.' };
	return u < VM_USAGE_COUNT ? l[u] : '?';
}

/* ---- the tree's rows ---- */

/* the expanded allocations: their bases, sorted (a refresh keeps them) */
static size_t exp_pos(const tui_app *a, uint64_t base)
{
	size_t lo = 0, hi = a->nexp;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->expanded[mid] < base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool is_expanded(const tui_app *a, uint64_t base)
{
	size_t i = exp_pos(a, base);
	return i < a->nexp && a->expanded[i] == base;
}

static void set_expanded(tui_app *a, uint64_t base, bool on)
{
	size_t i = exp_pos(a, base);
	bool there = i < a->nexp && a->expanded[i] == base;
	if (on && !there) {
		ARRAY_GROW(a->expanded, a->ecap, a->nexp + 1);
		memmove(a->expanded + i + 1, a->expanded + i, (a->nexp - i) * sizeof *a->expanded);
		a->expanded[i] = base;
		a->nexp++;
	} else if (!on && there) {
		memmove(a->expanded + i, a->expanded + i + 1, (a->nexp - i - 1) * sizeof *a->expanded);
		a->nexp--;
	}
}

static void alloc_stats(const vm_map *m, const vm_alloc *al, uint64_t *rss, uint64_t *priv, bool *valid)
{
	*rss = *priv = 0;
	*valid = false;
	for (size_t k = al->first; k < al->first + al->count && k < m->nregions; k++) {
		const vm_region *r = &m->regions[k];
		*rss += r->stats.rss;
		*priv += r->stats.private_clean + r->stats.private_dirty;
		*valid |= r->stats.valid;
	}
}

/* the contents of a region in one line (as `map` prints them) */
static void contents_inline(const vm_region *r, strbuf *sb)
{
	for (size_t k = 0; k < r->ncontents; k++) {
		const vm_content *c = &r->contents[k];
		if (sb->len)
			sb_puts(sb, ", ");
		if (c->kind == VM_CK_STACK || c->kind == VM_CK_TLS || c->kind == VM_CK_GUARD ||
		    c->kind == VM_CK_HEAP || c->kind == VM_CK_CODE)
			sb_puts(sb, c->detail ? c->detail : c->name);
		else
			sb_puts(sb, c->name);
	}
}

static void region_details(const vm_region *r, strbuf *sb)
{
	if (r->path && r->state != VM_STATE_FREE && !(r->flags & VM_RF_PSEUDO) && r->type != VM_TYPE_IMAGE &&
	    r->type != VM_TYPE_MAPPED)
		sb_puts(sb, r->path);
	if ((r->flags & (VM_RF_NO_DATA | VM_RF_PART_DATA)) && r->state == VM_STATE_COMMIT)
		sb_puts(sb, sb->len ? " (not all dumped)" : "(not all dumped)");
	strbuf cs = STRBUF_INIT;
	contents_inline(r, &cs);
	if (cs.len) {
		if (sb->len)
			sb_puts(sb, ": ");
		sb_puts(sb, sb_str(&cs));
	}
	sb_free(&cs);
}

static const tui_app *g_sort_app; /* qsort has no context argument */

static int cmp_u64(uint64_t x, uint64_t y)
{
	return (x > y) - (x < y);
}

static int cmp_alloc(const void *px, const void *py)
{
	const tui_app *a = g_sort_app;
	const vm_map *m = tui_map(a);
	const vm_alloc *x = &m->allocs[*(const size_t *)px], *y = &m->allocs[*(const size_t *)py];
	const vm_region *rx = &m->regions[x->first], *ry = &m->regions[y->first];
	int c = 0;
	uint64_t sx, sy, px2, py2;
	bool v;
	switch (a->sort_col) {
	case COL_SIZE: c = cmp_u64(x->size, y->size); break;
	case COL_USAGE: c = cmp_u64(x->usage, y->usage); break;
	case COL_STATE: c = cmp_u64(rx->state, ry->state); break;
	case COL_PROT: c = cmp_u64(rx->prot, ry->prot); break;
	case COL_TYPE: c = cmp_u64(rx->type, ry->type); break;
	case COL_RSS:
	case COL_PRIV:
		alloc_stats(m, x, &sx, &px2, &v);
		alloc_stats(m, y, &sy, &py2, &v);
		c = a->sort_col == COL_RSS ? cmp_u64(sx, sy) : cmp_u64(px2, py2);
		break;
	case COL_DETAILS: c = strcasecmp(x->details ? x->details : "", y->details ? y->details : ""); break;
	default: break;
	}
	if (!c)
		c = cmp_u64(x->base, y->base);
	else if (a->sort_desc)
		c = -c;
	return a->sort_col == COL_ADDR && a->sort_desc ? -c : c;
}

static bool usage_shown(const tui_app *a, vm_usage u)
{
	if (u == VM_USAGE_FREE && !a->show_free)
		return false;
	return (a->usage_mask >> u) & 1u;
}

static void push_row(tui_app *a, row_kind k, size_t i)
{
	tui_row *r = ARRAY_PUSH(a->rows, a->nrows, a->rcap);
	r->kind = k;
	r->i = i;
}

static uint64_t row_addr(const tui_app *a, const tui_row *r)
{
	const vm_map *m = tui_map(a);
	switch (r->kind) {
	case ROW_ALLOC: return m->allocs[r->i].base;
	case ROW_REGION: return m->regions[r->i].base;
	default: return a->gone[r->i].base;
	}
}

static void build_rows(tui_app *a)
{
	const vm_map *m = tui_map(a);
	/* keep the selection on the same thing */
	bool had = a->nrows > 0 && a->tree.sel < a->nrows;
	tui_row keep = had ? a->rows[a->tree.sel] : (tui_row){ 0 };
	uint64_t keep_addr = had ? row_addr(a, &keep) : 0;
	row_kind keep_kind = keep.kind;

	a->nrows = 0;
	size_t *idx = xcalloc(m->nallocs + 1, sizeof *idx), n = 0;
	for (size_t i = 0; i < m->nallocs; i++)
		if (usage_shown(a, m->allocs[i].usage))
			idx[n++] = i;
	g_sort_app = a;
	qsort(idx, n, sizeof *idx, cmp_alloc);
	bool by_addr = a->sort_col == COL_ADDR && !a->sort_desc;
	size_t g = 0;
	for (size_t j = 0; j < n; j++) {
		const vm_alloc *al = &m->allocs[idx[j]];
		for (; by_addr && g < a->ngone && a->gone[g].base < al->base; g++)
			if (usage_shown(a, a->gone[g].usage))
				push_row(a, ROW_GONE, g);
		push_row(a, ROW_ALLOC, idx[j]);
		if (al->usage != VM_USAGE_FREE && is_expanded(a, al->base))
			for (size_t k = al->first; k < al->first + al->count && k < m->nregions; k++)
				push_row(a, ROW_REGION, k);
	}
	for (; g < a->ngone; g++)
		if (usage_shown(a, a->gone[g].usage))
			push_row(a, ROW_GONE, g);
	free(idx);

	a->tree.n = a->nrows;
	if (had) {
		size_t best = 0;
		bool found = false;
		for (size_t i = 0; i < a->nrows && !found; i++) {
			uint64_t ad = row_addr(a, &a->rows[i]);
			if (a->rows[i].kind == keep_kind && ad == keep_addr) {
				best = i;
				found = true;
			} else if (by_addr && ad <= keep_addr) {
				best = i;
			}
		}
		a->tree.sel = best;
	}
	ui_list_fit(&a->tree);
}

/* the region a row stands for (an allocation: its first) */
static const vm_region *row_region(const tui_app *a, const tui_row *r)
{
	const vm_map *m = tui_map(a);
	if (r->kind == ROW_REGION)
		return &m->regions[r->i];
	if (r->kind == ROW_ALLOC && m->allocs[r->i].first < m->nregions)
		return &m->regions[m->allocs[r->i].first];
	return NULL;
}

static const tui_row *selected(const tui_app *a)
{
	return a->nrows && a->tree.sel < a->nrows ? &a->rows[a->tree.sel] : NULL;
}

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
 * narrow step; a caret under the selected allocation */
static void draw_strip(const tui_app *a, int y, uint64_t sel_addr)
{
	const vm_map *m = tui_map(a);
	int w = COLS - 2;
	if (w < 10 || !m->nallocs)
		return;
	double *cum = xcalloc(m->nallocs + 1, sizeof *cum), total = 0;
	for (size_t i = 0; i < m->nallocs; i++) {
		const vm_alloc *al = &m->allocs[i];
		double wgt = al->usage == VM_USAGE_FREE ? 0.5 : 1 + log2_u64(al->size / 4096 + 1);
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
		char ch[2] = { usage_letter(al->usage), 0 };
		int attr = ui_color() ? ui_attr((ui_role)(UI_BLOCK0 + (usage_role(al->usage) - UI_CAT0))) :
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
			attr = ui_attr(usage_role((vm_usage)k));
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
		snprintf(name, sizeof name, "%s%s", col_names[c],
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
		alloc_stats(m, al, &trss, &tpriv, &stats);
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
			contents_inline(r, &rd);
			if (rd.len && (!al->details || !strstr(al->details, sb_str(&rd)))) {
				sb_puts(&det, det.len ? ": " : "");
				sb_puts(&det, sb_str(&rd));
			}
			sb_free(&rd);
		}
		for (size_t k = al->first; a->mark && k < al->first + al->count && k < m->nregions; k++)
			mk |= a->mark[k];
		if (al->usage != VM_USAGE_FREE)
			tree = al->count > 1 || is_expanded(a, al->base) ? (is_expanded(a, al->base) ? '-' : '+') : ' ';
		attr = ui_attr(usage_role(al->usage));
		if (al->usage != VM_USAGE_FREE && al->count > 1 && !is_expanded(a, al->base))
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
		region_details(r, &det);
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
	sb_printf(&title, "  sort: %s%s", col_names[a->sort_col], a->sort_desc ? " (desc)" : "");
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
	const tui_row *row = selected(a);
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
	const vm_region *r = row_region(a, row);
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
	if (r->stats.valid) {
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

static const char *hints(const tui_app *a)
{
	if (a->focus == FOCUS_SUM)
		return "F1 help  Enter filter  Tab pane  q quit";
	return a->live ? "F1 help  Enter open  / find  s search  d dump  w whatis  r refresh  q quit" :
			 "F1 help  Enter open  / find  s search  d dump  w whatis  a free  q quit";
}

static void draw(tui_app *a)
{
	erase();
	if (COLS < 60 || LINES < 16) {
		ui_text(0, 0, COLS, A_BOLD, "vmatlas tui: the terminal is too small (60x16 at least); q quits");
		refresh();
		return;
	}
	const tui_row *row = selected(a);
	uint64_t sel_addr = row ? row_addr(a, row) : 0;
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
	ui_status_draw(LINES - 1, hints(a));
	refresh();
}

/* ---- find ('/', n, N) over addresses, paths and details ---- */

static bool ci_contains(const char *hay, const char *needle)
{
	if (!hay)
		return false;
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return false;
}

static bool region_matches(const vm_map *m, const vm_region *r, const char *q)
{
	if (ci_contains(r->path, q))
		return true;
	for (size_t k = 0; k < r->ncontents; k++) {
		const vm_content *c = &r->contents[k];
		if (ci_contains(c->name, q) || ci_contains(c->detail, q))
			return true;
	}
	(void)m;
	return false;
}

/* the text as an address: "0x7f00", "7f00"; false when it is not hex */
static bool find_addr(const char *q, uint64_t *out)
{
	const char *p = q;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (!*p || strlen(p) > 16)
		return false;
	for (const char *s = p; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return parse_hex_n(p, strlen(p), out);
}

/* select the next (dir 1) or previous (-1) allocation or region that
 * matches, expanding its allocation; false when none does */
static bool find_next(tui_app *a, int dir)
{
	const vm_map *m = tui_map(a);
	const char *q = a->find;
	if (!*q)
		return false;
	uint64_t addr;
	bool is_addr = find_addr(q, &addr);
	/* an address: a region the last refresh removed, or the allocation
	 * (and region) holding it */
	if (is_addr) {
		for (size_t i = 0; i < a->nrows; i++) {
			const tui_row *w = &a->rows[i];
			if (w->kind == ROW_GONE && addr - a->gone[w->i].base < a->gone[w->i].size) {
				a->tree.sel = i;
				ui_list_fit(&a->tree);
				return true;
			}
		}
		size_t ri = vm_map_region_index(m, addr);
		if (ri != (size_t)-1) {
			const vm_region *r = &m->regions[ri];
			const vm_alloc *al = vm_map_alloc_of(m, r);
			if (al && usage_shown(a, al->usage)) {
				if (al->count > 1)
					set_expanded(a, al->base, true);
				build_rows(a);
				for (size_t i = 0; i < a->nrows; i++) {
					const tui_row *w = &a->rows[i];
					if ((al->count > 1 && w->kind == ROW_REGION && w->i == ri) ||
					    (al->count <= 1 && w->kind == ROW_ALLOC && &m->allocs[w->i] == al)) {
						a->tree.sel = i;
						ui_list_fit(&a->tree);
						return true;
					}
				}
			}
		}
	}
	/* text: walk the shown allocations in order from the selection */
	size_t nal = 0;
	size_t *order = xcalloc(a->nrows + 1, sizeof *order);
	size_t cur = 0;
	for (size_t i = 0; i < a->nrows; i++)
		if (a->rows[i].kind == ROW_ALLOC) {
			if (i <= a->tree.sel)
				cur = nal;
			order[nal++] = a->rows[i].i;
		}
	const tui_row *srow = selected(a);
	size_t sel_region = srow && srow->kind == ROW_REGION ? srow->i : (size_t)-1;
	bool found = false;
	size_t hit_alloc = 0, hit_region = (size_t)-1;
	for (size_t step = 0; step <= nal && !found && nal; step++) {
		size_t j = dir > 0 ? (cur + step) % nal : (cur + nal - step % nal) % nal;
		const vm_alloc *al = &m->allocs[order[j]];
		/* the regions of the current allocation after (before) the selection */
		size_t lo = al->first, hi = al->first + al->count;
		if (dir > 0) {
			for (size_t k = lo; k < hi && k < m->nregions && !found; k++) {
				if (step == 0 && sel_region != (size_t)-1 ? k <= sel_region : false)
					continue;
				if (region_matches(m, &m->regions[k], q) && al->count > 1) {
					found = true;
					hit_alloc = order[j];
					hit_region = k;
				}
			}
			if (!found && step > 0 && (ci_contains(al->details, q) || (al->count == 1 && region_matches(m, &m->regions[al->first], q)))) {
				found = true;
				hit_alloc = order[j];
			}
		} else {
			if (step > 0 || sel_region != (size_t)-1)
				for (size_t k = hi; k-- > lo && !found;) {
					if (k >= m->nregions || (step == 0 && k >= sel_region))
						continue;
					if (region_matches(m, &m->regions[k], q) && al->count > 1) {
						found = true;
						hit_alloc = order[j];
						hit_region = k;
					}
				}
			if (!found && step > 0 && (ci_contains(al->details, q) || (al->count == 1 && region_matches(m, &m->regions[al->first], q)))) {
				found = true;
				hit_alloc = order[j];
			}
		}
	}
	free(order);
	if (!found)
		return false;
	if (hit_region != (size_t)-1)
		set_expanded(a, m->allocs[hit_alloc].base, true);
	build_rows(a);
	for (size_t i = 0; i < a->nrows; i++) {
		const tui_row *w = &a->rows[i];
		if ((hit_region != (size_t)-1 && w->kind == ROW_REGION && w->i == hit_region) ||
		    (hit_region == (size_t)-1 && w->kind == ROW_ALLOC && w->i == hit_alloc)) {
			a->tree.sel = i;
			ui_list_fit(&a->tree);
			return true;
		}
	}
	return false;
}

/* ---- refresh ---- */

static void free_gone(tui_app *a)
{
	for (size_t i = 0; i < a->ngone; i++)
		free(a->gone[i].path);
	free(a->gone);
	a->gone = NULL;
	a->ngone = 0;
}

/* Page contents are compared by hashing every readable committed page
 * (what `snapshot --data` does) at each refresh; above this much memory
 * a refresh would take too long, and pages are not compared. */
#define HASH_LIMIT (512ull << 20)

static struct vm_page_hashes *hash_map(tui_app *a, const vm_map *m)
{
	uint64_t total = 0;
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].state == VM_STATE_COMMIT && (m->regions[i].prot & VM_PROT_READ))
			total += m->regions[i].size;
	if (total > HASH_LIMIT)
		return NULL;
	uint64_t bytes;
	return vm_hash_pages(m, a->t, &bytes);
}

static void refresh_map(tui_app *a)
{
	if (!a->live) {
		ui_message(true, "not a live process: nothing to refresh");
		return;
	}
	ui_message(false, "refreshing ...");
	ui_status_draw(LINES - 1, "");
	refresh();
	vm_map *old = *a->mp;
	vm_map *nm = vm_map_build(a->t, &a->o.mo);
	a->last_refresh = now();
	if (!nm) {
		ui_message(true, "refresh: %s", vm_error());
		return;
	}
	vm_symbolizer *ns = vm_symbolizer_new(nm, a->t, a->o.sym_flags);
	vm_page_hashes *nh = hash_map(a, nm);
	vm_snapshot sa = { .map = old, .pages = a->hashes }, sb = { .map = nm, .pages = nh };
	vm_diff d;
	memset(&d, 0, sizeof d);
	vm_diff_compute(&sa, &sb, &d);
	free(a->mark);
	a->mark = xcalloc(nm->nregions + 1, 1);
	free_gone(a);
	for (size_t i = 0; i < d.nadded; i++)
		a->mark[d.added[i] - nm->regions] |= MARK_ADDED;
	size_t nsize = 0, nprot = 0;
	for (size_t i = 0; i < d.nchanged; i++) {
		const vm_region_change *c = &d.changed[i];
		unsigned mk = (c->what & VM_CHG_SIZE ? MARK_SIZE : 0) | (c->what & VM_CHG_PROT ? MARK_PROT : 0) |
			      (c->what & (VM_CHG_STATE | VM_CHG_PATH) ? MARK_OTHER : 0);
		a->mark[c->b - nm->regions] |= mk;
		nsize += !!(c->what & VM_CHG_SIZE);
		nprot += !!(c->what & VM_CHG_PROT);
	}
	free(a->written);
	a->written = xcalloc(nm->nregions + 1, sizeof *a->written);
	for (size_t i = 0; i < d.npages; i++) {
		size_t ri = (size_t)(d.pages[i].region - nm->regions);
		a->mark[ri] |= MARK_WRITTEN;
		a->written[ri] += d.pages[i].size;
	}
	a->gone = xcalloc(d.nremoved + 1, sizeof *a->gone);
	for (size_t i = 0; i < d.nremoved; i++) {
		const vm_region *r = d.removed[i];
		tui_gone *g = &a->gone[a->ngone++];
		g->base = r->base;
		g->size = r->size;
		g->prot = r->prot;
		g->state = r->state;
		g->type = r->type;
		g->usage = r->usage;
		g->path = r->path ? xstrdup(r->path) : NULL;
	}
	a->refreshes++;
	char wr[32] = "pages not compared";
	if (d.have_pages) {
		char b[16];
		snprintf(wr, sizeof wr, "%s written", fmt_size(d.pages_bytes, b, sizeof b));
	}
	snprintf(a->changes, sizeof a->changes, " changes: %zu added, %zu removed, %zu resized, %zu re-protected, %s",
		 d.nadded, d.nremoved, nsize, nprot, wr);
	vm_diff_free(&d);
	/* the rows point into the old map: drop them, keep the selection's address */
	const tui_row *row = selected(a);
	uint64_t keep = row ? row_addr(a, row) : 0;
	row_kind kk = row ? row->kind : ROW_ALLOC;
	a->nrows = 0;
	vm_symbolizer_free(*a->sp);
	if (a->hashes)
		vm_page_hashes_free(a->hashes, old->nregions);
	a->hashes = nh;
	vm_map_free(old);
	*a->mp = nm;
	*a->sp = ns;
	build_rows(a);
	for (size_t i = 0; i < a->nrows; i++)
		if (a->rows[i].kind == kk && row_addr(a, &a->rows[i]) == keep) {
			a->tree.sel = i;
			break;
		}
	ui_list_fit(&a->tree);
	ui_message(false, "refreshed:%s", a->changes + 9);
}

/* ---- keys ---- */

static const ui_help_item help_items[] = {
	{ NULL, "Panes" },
	{ "Tab / S-Tab", "next / previous pane: allocations, summary, details" },
	{ "Up Down PgUp PgDn", "move (also k j; Home/g and End/G)" },
	{ "F1 ?", "this help" },
	{ "q F10", "quit (the target keeps running)" },
	{ NULL, "Allocations" },
	{ "Right + Space", "expand the allocation into its regions" },
	{ "Left -", "collapse (on a region: to its allocation)" },
	{ "* c", "expand all / collapse all" },
	{ "Enter", "allocation: expand or collapse; region: memory view" },
	{ "v", "memory view at an expression (libc.so.6!malloc, [rsp]+8)" },
	{ "< >", "sort by the previous / next column (regions stay in address order)" },
	{ "i", "invert the sort order" },
	{ "/", "find an address, or text in paths and details" },
	{ "n N", "find the next / previous match" },
	{ "a", "show or hide free space" },
	{ "x", "clear the usage filter" },
	{ NULL, "Summary" },
	{ "Enter", "show only this usage (again, or on total: all)" },
	{ NULL, "Operations" },
	{ "s", "search memory: TEXT, ascii TEXT, utf16 TEXT, hex DE AD ?? EF," },
	{ "", "u8..u64 i8..i64 f32 f64 NUMBER, regex RE, ptr-to WHAT (pointers" },
	{ "", "into LO-HI, a module, a region's path, or the region at an expression)" },
	{ "d", "dump the selected region (an allocation: its first committed one)" },
	{ "w", "whatis: everything known about an address" },
	{ "r", "refresh a live process; + added ~ resized ! re-protected" },
	{ "", "* both, # other change, w pages written, - removed" },
	{ "", "(marks last until the next refresh)" },
	{ NULL, "Memory view" },
	{ "Arrows PgUp PgDn", "move the cursor" },
	{ "u", "unit: bytes, words, dwords, qwords, chars" },
	{ "g", "go to an expression" },
	{ "f Enter", "follow the pointer under the cursor" },
	{ "b Backspace", "back to where the last go or follow came from" },
	{ "w d", "whatis the cursor / dump from it" },
	{ "q Esc", "back to the map" },
	{ NULL, "The picture strip" },
	{ "I M S H", "image, mapped, shareable, heap" },
	{ "K P Y R .", "stack, private, system, reserved, free (a gap: one step)" },
	{ "^", "points at the selected allocation" },
};

static void select_usage(tui_app *a, size_t k)
{
	unsigned all = (1u << VM_USAGE_COUNT) - 1;
	if (k == SUM_TOTAL) {
		a->usage_mask = all;
	} else {
		vm_usage u = k < SUM_TOTAL ? (vm_usage)k : VM_USAGE_FREE;
		unsigned bit = 1u << u;
		a->usage_mask = a->usage_mask == bit ? all : bit;
		if (u == VM_USAGE_FREE && a->usage_mask == bit)
			a->show_free = true;
	}
	a->tree.sel = a->tree.top = 0;
	a->nrows = 0;
	build_rows(a);
}

static void tree_key(tui_app *a, int k)
{
	const vm_map *m = tui_map(a);
	const tui_row *row = selected(a);
	switch (k) {
	case KEY_RIGHT: case '+': case ' ':
		if (row && row->kind == ROW_ALLOC && m->allocs[row->i].usage != VM_USAGE_FREE) {
			bool on = k == ' ' ? !is_expanded(a, m->allocs[row->i].base) : true;
			set_expanded(a, m->allocs[row->i].base, on);
			build_rows(a);
		}
		break;
	case KEY_LEFT: case '-':
		if (row && row->kind == ROW_REGION) {
			const vm_alloc *al = vm_map_alloc_of(m, &m->regions[row->i]);
			if (al) {
				set_expanded(a, al->base, false);
				for (size_t i = 0; i < a->nrows; i++)
					if (a->rows[i].kind == ROW_ALLOC && m->allocs[a->rows[i].i].base == al->base)
						a->tree.sel = i;
				build_rows(a);
			}
		} else if (row && row->kind == ROW_ALLOC) {
			set_expanded(a, m->allocs[row->i].base, false);
			build_rows(a);
		}
		break;
	case '*':
		/* allocations are in address order: the bases come sorted */
		a->nexp = 0;
		for (size_t i = 0; i < m->nallocs; i++)
			if (m->allocs[i].usage != VM_USAGE_FREE && m->allocs[i].count > 1)
				*ARRAY_PUSH(a->expanded, a->nexp, a->ecap) = m->allocs[i].base;
		build_rows(a);
		break;
	case 'c':
		a->nexp = 0;
		build_rows(a);
		break;
	case '\n': case '\r': case KEY_ENTER:
		if (!row)
			break;
		if (row->kind == ROW_ALLOC && m->allocs[row->i].count > 1) {
			set_expanded(a, m->allocs[row->i].base, !is_expanded(a, m->allocs[row->i].base));
			build_rows(a);
		} else {
			tui_memview(a, row_addr(a, row));
		}
		break;
	default:
		ui_list_key(&a->tree, k);
	}
}

static void sel_range(const tui_app *a, uint64_t *addr, uint64_t *size)
{
	const vm_map *m = tui_map(a);
	const tui_row *row = selected(a);
	*addr = *size = 0;
	if (!row)
		return;
	if (row->kind == ROW_ALLOC) {
		/* an allocation: its first committed region (dumping a guard or
		 * a reservation fails) */
		const vm_alloc *al = &m->allocs[row->i];
		for (size_t k = al->first; k < al->first + al->count && k < m->nregions; k++)
			if (m->regions[k].state == VM_STATE_COMMIT) {
				*addr = m->regions[k].base;
				*size = m->regions[k].size;
				return;
			}
		*addr = al->base;
		*size = al->size;
	} else if (row->kind == ROW_REGION) {
		*addr = m->regions[row->i].base;
		*size = m->regions[row->i].size;
	}
}

static bool main_key(tui_app *a, int k)
{
	unsigned all = (1u << VM_USAGE_COUNT) - 1;
	uint64_t addr, size;
	switch (k) {
	case 'q': case 'Q': case KEY_F(10): case UI_KEY_QUIT:
		return false;
	case KEY_F(1): case '?': case 'h':
		ui_help("vmatlas tui: keys", help_items, ARRAY_LEN(help_items));
		return true;
	case '\t':
		a->focus = (a->focus + 1) % NFOCUS;
		return true;
	case KEY_BTAB:
		a->focus = (a->focus + NFOCUS - 1) % NFOCUS;
		return true;
	case '/': {
		char buf[256];
		snprintf(buf, sizeof buf, "%s", a->find);
		if (!ui_prompt("find (address or text): ", buf, sizeof buf))
			return true;
		snprintf(a->find, sizeof a->find, "%s", buf);
		if (a->find[0] && !find_next(a, 1))
			ui_message(true, "find: nothing matches '%s'", a->find);
		a->focus = FOCUS_TREE;
		return true;
	}
	case 'n': case 'N':
		if (!a->find[0])
			ui_message(true, "find: nothing to find yet ('/')");
		else if (!find_next(a, k == 'n' ? 1 : -1))
			ui_message(true, "find: nothing matches '%s'", a->find);
		return true;
	case 'a':
		a->show_free = !a->show_free;
		build_rows(a);
		ui_message(false, "free space %s", a->show_free ? "shown" : "hidden");
		return true;
	case 'x':
		a->usage_mask = all;
		build_rows(a);
		return true;
	case '<': case '>':
		a->sort_col = (a->sort_col + (k == '>' ? 1 : NCOLS - 1)) % NCOLS;
		if (COLS < 100 && (a->sort_col == COL_STATE || a->sort_col == COL_PRIV))
			a->sort_col = (a->sort_col + (k == '>' ? 1 : NCOLS - 1)) % NCOLS;
		build_rows(a);
		return true;
	case 'i':
		a->sort_desc = !a->sort_desc;
		build_rows(a);
		return true;
	case 's':
		tui_search(a);
		return true;
	case 'd':
		sel_range(a, &addr, &size);
		if (!size)
			ui_message(true, "dump: select a region");
		else
			tui_dump(a, addr, size);
		return true;
	case 'w': {
		const tui_row *row = selected(a);
		tui_whatis(a, row ? row_addr(a, row) : 0);
		return true;
	}
	case 'v': {
		char buf[256] = "";
		const tui_row *row = selected(a);
		if (row)
			snprintf(buf, sizeof buf, "0x%" PRIx64, row_addr(a, row));
		if (ui_prompt("view at: ", buf, sizeof buf)) {
			uint64_t v;
			if (tui_eval(a, buf, &v) < 0)
				ui_message(true, "view: %s", vm_error());
			else
				tui_memview(a, v);
		}
		return true;
	}
	case 'r':
		refresh_map(a);
		return true;
	default:
		break;
	}
	if (a->focus == FOCUS_SUM) {
		if (k == '\n' || k == '\r' || k == KEY_ENTER || k == ' ')
			select_usage(a, a->sum.sel);
		else
			ui_list_key(&a->sum, k);
	} else if (a->focus == FOCUS_DET) {
		/* a text to read: the keys scroll it */
		size_t h = a->det.h > 0 ? (size_t)a->det.h : 1, last = a->det.n > h ? a->det.n - h : 0;
		size_t *top = &a->det.top;
		if (k == KEY_DOWN || k == 'j')
			*top = *top < last ? *top + 1 : last;
		else if (k == KEY_UP || k == 'k')
			*top = *top ? *top - 1 : 0;
		else if (k == KEY_NPAGE || k == ' ')
			*top = *top + h < last ? *top + h : last;
		else if (k == KEY_PPAGE)
			*top = *top > h ? *top - h : 0;
		else if (k == KEY_HOME || k == 'g')
			*top = 0;
		else if (k == KEY_END || k == 'G')
			*top = last;
	} else {
		tree_key(a, k);
	}
	return true;
}

int tui_eval(const tui_app *a, const char *text, uint64_t *out)
{
	if (!a->t && strchr(text, '[')) {
		vm_seterr("a snapshot holds no memory: '[...]' cannot be read");
		return -1;
	}
	vm_expr_ctx ec = { tui_map(a), a->t, *a->sp };
	return vm_expr_eval(&ec, text, out);
}

void tui_describe(const tui_app *a, uint64_t addr, char *buf, size_t n)
{
	const vm_map *m = tui_map(a);
	vm_symbol_info si;
	if (*a->sp && vm_symbolize(*a->sp, addr, &si) && si.module) {
		vm_symbol_format(&si, addr, buf, n);
		return;
	}
	const vm_region *r = vm_map_region_at(m, addr);
	const vm_alloc *al = r ? vm_map_alloc_of(m, r) : NULL;
	if (!r || r->state == VM_STATE_FREE) {
		snprintf(buf, n, "(unmapped)");
		return;
	}
	snprintf(buf, n, "%s+0x%" PRIx64 " %s", vm_usage_name(r->usage), addr - r->base,
		 al && al->details ? al->details : r->path ? r->path : "");
}

int tui_run(vm_target *t, vm_map **m, vm_symbolizer **sym, const tui_options *o)
{
	tui_app a;
	memset(&a, 0, sizeof a);
	a.t = t;
	a.mp = m;
	a.sp = sym;
	a.o = *o;
	/* the target's own capabilities: a core's saved map says "live" */
	a.live = t && (vm_target_caps(t) & VM_CAP_LIVE);
	a.usage_mask = (1u << VM_USAGE_COUNT) - 1;
	a.focus = FOCUS_TREE;
	if (ui_start(o->color) < 0)
		return -1;
	if (a.live)
		a.hashes = hash_map(&a, *m);
	build_rows(&a);
	if (o->note)
		ui_message(false, "%s", o->note);
	a.last_refresh = now();
	for (;;) {
		draw(&a);
		int timeout_ms = -1;
		if (a.o.refresh_s && a.live) {
			double left = a.last_refresh + a.o.refresh_s - now();
			timeout_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
		}
		int k = ui_getkey(timeout_ms);
		if (k == ERR) {
			if (a.o.refresh_s && a.live && now() >= a.last_refresh + a.o.refresh_s)
				refresh_map(&a);
			continue;
		}
		if (k == KEY_RESIZE)
			continue;
		ui_message_clear();
		if (!main_key(&a, k))
			break;
	}
	ui_stop();
	free(a.rows);
	free(a.expanded);
	free(a.mark);
	free(a.written);
	if (a.hashes)
		vm_page_hashes_free(a.hashes, (*m)->nregions);
	free_gone(&a);
	ui_reraise();
	return 0;
}
