/* vmatlas tui, the main screen: title, the picture strip of the address
 * space, the summary by usage (a filter), the allocation tree, the
 * details of the ta_selected row, the status line; the refresh of a live
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
#include "tui_app_int.h"
#include "tui_int.h"
#include "vmatlas/diff.h"
#include "vmatlas/error.h"
#include "vmatlas/expr.h"
#include "vmatlas/snapshot.h"

const char *const ta_col_names[NCOLS] = { "Address", "Size", "Usage", "State", "Prot",
					      "Type", "RSS", "Private", "Details" };

double ta_now(void)
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

ui_role ta_usage_role(vm_usage u)
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
double ta_log2_u64(uint64_t x)
{
	int n = 0;
	while (x >>= 1)
		n++;
	return n;
}

/* one letter per usage in the picture strip */
char ta_usage_letter(vm_usage u)
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

bool ta_is_expanded(const tui_app *a, uint64_t base)
{
	size_t i = exp_pos(a, base);
	return i < a->nexp && a->expanded[i] == base;
}

void ta_set_expanded(tui_app *a, uint64_t base, bool on)
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

void ta_alloc_stats(const vm_map *m, const vm_alloc *al, uint64_t *rss, uint64_t *priv, bool *valid)
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
void ta_contents_inline(const vm_region *r, strbuf *sb)
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

void ta_region_details(const vm_region *r, strbuf *sb)
{
	if (r->path && r->state != VM_STATE_FREE && !(r->flags & VM_RF_PSEUDO) && r->type != VM_TYPE_IMAGE &&
	    r->type != VM_TYPE_MAPPED)
		sb_puts(sb, r->path);
	if ((r->flags & (VM_RF_NO_DATA | VM_RF_PART_DATA)) && r->state == VM_STATE_COMMIT)
		sb_puts(sb, sb->len ? " (not all dumped)" : "(not all dumped)");
	strbuf cs = STRBUF_INIT;
	ta_contents_inline(r, &cs);
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
		ta_alloc_stats(m, x, &sx, &px2, &v);
		ta_alloc_stats(m, y, &sy, &py2, &v);
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

bool ta_usage_shown(const tui_app *a, vm_usage u)
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

uint64_t ta_row_addr(const tui_app *a, const tui_row *r)
{
	const vm_map *m = tui_map(a);
	switch (r->kind) {
	case ROW_ALLOC: return m->allocs[r->i].base;
	case ROW_REGION: return m->regions[r->i].base;
	default: return a->gone[r->i].base;
	}
}

void ta_build_rows(tui_app *a)
{
	const vm_map *m = tui_map(a);
	/* keep the selection on the same thing */
	bool had = a->nrows > 0 && a->tree.sel < a->nrows;
	tui_row keep = had ? a->rows[a->tree.sel] : (tui_row){ 0 };
	uint64_t keep_addr = had ? ta_row_addr(a, &keep) : 0;
	row_kind keep_kind = keep.kind;

	a->nrows = 0;
	size_t *idx = xcalloc(m->nallocs + 1, sizeof *idx), n = 0;
	for (size_t i = 0; i < m->nallocs; i++)
		if (ta_usage_shown(a, m->allocs[i].usage))
			idx[n++] = i;
	g_sort_app = a;
	qsort(idx, n, sizeof *idx, cmp_alloc);
	bool by_addr = a->sort_col == COL_ADDR && !a->sort_desc;
	size_t g = 0;
	for (size_t j = 0; j < n; j++) {
		const vm_alloc *al = &m->allocs[idx[j]];
		for (; by_addr && g < a->ngone && a->gone[g].base < al->base; g++)
			if (ta_usage_shown(a, a->gone[g].usage))
				push_row(a, ROW_GONE, g);
		push_row(a, ROW_ALLOC, idx[j]);
		if (al->usage != VM_USAGE_FREE && ta_is_expanded(a, al->base))
			for (size_t k = al->first; k < al->first + al->count && k < m->nregions; k++)
				push_row(a, ROW_REGION, k);
	}
	for (; g < a->ngone; g++)
		if (ta_usage_shown(a, a->gone[g].usage))
			push_row(a, ROW_GONE, g);
	free(idx);

	a->tree.n = a->nrows;
	if (had) {
		size_t best = 0;
		bool found = false;
		for (size_t i = 0; i < a->nrows && !found; i++) {
			uint64_t ad = ta_row_addr(a, &a->rows[i]);
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
const vm_region *ta_row_region(const tui_app *a, const tui_row *r)
{
	const vm_map *m = tui_map(a);
	if (r->kind == ROW_REGION)
		return &m->regions[r->i];
	if (r->kind == ROW_ALLOC && m->allocs[r->i].first < m->nregions)
		return &m->regions[m->allocs[r->i].first];
	return NULL;
}

const tui_row *ta_selected(const tui_app *a)
{
	return a->nrows && a->tree.sel < a->nrows ? &a->rows[a->tree.sel] : NULL;
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
	ta_build_rows(a);
}

static void tree_key(tui_app *a, int k)
{
	const vm_map *m = tui_map(a);
	const tui_row *row = ta_selected(a);
	switch (k) {
	case KEY_RIGHT: case '+': case ' ':
		if (row && row->kind == ROW_ALLOC && m->allocs[row->i].usage != VM_USAGE_FREE) {
			bool on = k == ' ' ? !ta_is_expanded(a, m->allocs[row->i].base) : true;
			ta_set_expanded(a, m->allocs[row->i].base, on);
			ta_build_rows(a);
		}
		break;
	case KEY_LEFT: case '-':
		if (row && row->kind == ROW_REGION) {
			const vm_alloc *al = vm_map_alloc_of(m, &m->regions[row->i]);
			if (al) {
				ta_set_expanded(a, al->base, false);
				for (size_t i = 0; i < a->nrows; i++)
					if (a->rows[i].kind == ROW_ALLOC && m->allocs[a->rows[i].i].base == al->base)
						a->tree.sel = i;
				ta_build_rows(a);
			}
		} else if (row && row->kind == ROW_ALLOC) {
			ta_set_expanded(a, m->allocs[row->i].base, false);
			ta_build_rows(a);
		}
		break;
	case '*':
		/* allocations are in address order: the bases come sorted */
		a->nexp = 0;
		for (size_t i = 0; i < m->nallocs; i++)
			if (m->allocs[i].usage != VM_USAGE_FREE && m->allocs[i].count > 1)
				*ARRAY_PUSH(a->expanded, a->nexp, a->ecap) = m->allocs[i].base;
		ta_build_rows(a);
		break;
	case 'c':
		a->nexp = 0;
		ta_build_rows(a);
		break;
	case '\n': case '\r': case KEY_ENTER:
		if (!row)
			break;
		if (row->kind == ROW_ALLOC && m->allocs[row->i].count > 1) {
			ta_set_expanded(a, m->allocs[row->i].base, !ta_is_expanded(a, m->allocs[row->i].base));
			ta_build_rows(a);
		} else {
			tui_memview(a, ta_row_addr(a, row));
		}
		break;
	default:
		ui_list_key(&a->tree, k);
	}
}

static void sel_range(const tui_app *a, uint64_t *addr, uint64_t *size)
{
	const vm_map *m = tui_map(a);
	const tui_row *row = ta_selected(a);
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
		if (a->find[0] && !ta_find_next(a, 1))
			ui_message(true, "find: nothing matches '%s'", a->find);
		a->focus = FOCUS_TREE;
		return true;
	}
	case 'n': case 'N':
		if (!a->find[0])
			ui_message(true, "find: nothing to find yet ('/')");
		else if (!ta_find_next(a, k == 'n' ? 1 : -1))
			ui_message(true, "find: nothing matches '%s'", a->find);
		return true;
	case 'a':
		a->show_free = !a->show_free;
		ta_build_rows(a);
		ui_message(false, "free space %s", a->show_free ? "shown" : "hidden");
		return true;
	case 'x':
		a->usage_mask = all;
		ta_build_rows(a);
		return true;
	case '<': case '>':
		a->sort_col = (a->sort_col + (k == '>' ? 1 : NCOLS - 1)) % NCOLS;
		if (COLS < 100 && (a->sort_col == COL_STATE || a->sort_col == COL_PRIV))
			a->sort_col = (a->sort_col + (k == '>' ? 1 : NCOLS - 1)) % NCOLS;
		ta_build_rows(a);
		return true;
	case 'i':
		a->sort_desc = !a->sort_desc;
		ta_build_rows(a);
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
		const tui_row *row = ta_selected(a);
		tui_whatis(a, row ? ta_row_addr(a, row) : 0);
		return true;
	}
	case 'v': {
		char buf[256] = "";
		const tui_row *row = ta_selected(a);
		if (row)
			snprintf(buf, sizeof buf, "0x%" PRIx64, ta_row_addr(a, row));
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
		ta_refresh_map(a);
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
		a.hashes = ta_hash_map(&a, *m);
	ta_build_rows(&a);
	if (o->note)
		ui_message(false, "%s", o->note);
	a.last_refresh = ta_now();
	for (;;) {
		ta_draw(&a);
		int timeout_ms = -1;
		if (a.o.refresh_s && a.live) {
			double left = a.last_refresh + a.o.refresh_s - ta_now();
			timeout_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
		}
		int k = ui_getkey(timeout_ms);
		if (k == ERR) {
			if (a.o.refresh_s && a.live && ta_now() >= a.last_refresh + a.o.refresh_s)
				ta_refresh_map(&a);
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
	ta_free_gone(&a);
	ui_reraise();
	return 0;
}
