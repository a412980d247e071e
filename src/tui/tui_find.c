/* Finding rows (/, n, N) and refreshing a live target's map. */
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
bool ta_find_next(tui_app *a, int dir)
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
			if (al && ta_usage_shown(a, al->usage)) {
				if (al->count > 1)
					ta_set_expanded(a, al->base, true);
				ta_build_rows(a);
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
	const tui_row *srow = ta_selected(a);
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
		ta_set_expanded(a, m->allocs[hit_alloc].base, true);
	ta_build_rows(a);
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

void ta_free_gone(tui_app *a)
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

struct vm_page_hashes *ta_hash_map(tui_app *a, const vm_map *m)
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

void ta_refresh_map(tui_app *a)
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
	a->last_refresh = ta_now();
	if (!nm) {
		ui_message(true, "refresh: %s", vm_error());
		return;
	}
	vm_symbolizer *ns = vm_symbolizer_new(nm, a->t, a->o.sym_flags);
	vm_page_hashes *nh = ta_hash_map(a, nm);
	vm_snapshot sa = { .map = old, .pages = a->hashes }, sb = { .map = nm, .pages = nh };
	vm_diff d;
	memset(&d, 0, sizeof d);
	vm_diff_compute(&sa, &sb, &d);
	free(a->mark);
	a->mark = xcalloc(nm->nregions + 1, 1);
	ta_free_gone(a);
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
	const tui_row *row = ta_selected(a);
	uint64_t keep = row ? ta_row_addr(a, row) : 0;
	row_kind kk = row ? row->kind : ROW_ALLOC;
	a->nrows = 0;
	vm_symbolizer_free(*a->sp);
	if (a->hashes)
		vm_page_hashes_free(a->hashes, old->nregions);
	a->hashes = nh;
	vm_map_free(old);
	*a->mp = nm;
	*a->sp = ns;
	ta_build_rows(a);
	for (size_t i = 0; i < a->nrows; i++)
		if (a->rows[i].kind == kk && ta_row_addr(a, &a->rows[i]) == keep) {
			a->tree.sel = i;
			break;
		}
	ui_list_fit(&a->tree);
	ui_message(false, "refreshed:%s", a->changes + 9);
}

