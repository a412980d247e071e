/* The disassembly's jump arrows, x64dbg style: a gutter left of the
 * addresses where each jump on screen draws a line from its row to its
 * target's, with corners at both ends and an arrow head into the target
 * (the gutter's last column);
 * a jump whose target is off screen draws its line to the pane's top or
 * bottom edge, ending in an arrow. Shorter jumps take the lanes nearer
 * the addresses. Line drawing is the terminal's (ACS): ncurses draws
 * | - + ^ v in its place on a terminal without it. */
#include "tui/cpu_int.h"

#include <string.h>

typedef struct span {
	int from, to;     /* screen rows (relative to the pane): jump, target */
	int lo, hi;
	bool off;         /* the target is off screen: to the edge */
	int lane;
} span;

/* the gutter's cells: 0 empty, else the ACS piece */
enum { G_NONE, G_V, G_H, G_TOPC, G_BOTC, G_PLUS, G_HEAD, G_UP, G_DOWN };

static chtype piece(int g)
{
	switch (g) {
	case G_V: return ACS_VLINE;
	case G_H: return ACS_HLINE;
	case G_TOPC: return ACS_ULCORNER;
	case G_BOTC: return ACS_LLCORNER;
	case G_PLUS: return ACS_PLUS;
	case G_HEAD: return '>';
	case G_UP: return ACS_UARROW;
	case G_DOWN: return ACS_DARROW;
	default: return ' ';
	}
}

static void put(unsigned char (*g)[CW_GUTTER_MAX], int row, int col, int what)
{
	unsigned char *c = &g[row][col];
	if (*c == G_NONE || what == G_HEAD)
		*c = (unsigned char)what;
	else if ((*c == G_V && what == G_H) || (*c == G_H && what == G_V))
		*c = G_PLUS;
	else if (what == G_TOPC || what == G_BOTC || what == G_UP || what == G_DOWN)
		*c = (unsigned char)what;
}

void cw_arrows(cpu *c, ui_rect r, int gx, int lanes, const int *row_of, const int *attr_of)
{
	int h = r.h - 1; /* rows below the heading */
	if (h <= 0 || lanes < 2 || lanes > CW_GUTTER_MAX || h > MAXROWS * 2)
		return;
	span sp[MAXROWS];
	int ns = 0;
	for (size_t i = 0; i < c->nins; i++) {
		const vm_dbg_insn *in = &c->ins[i];
		if (!in->is_branch || in->is_call || !in->target || row_of[i] < 0)
			continue;
		span s = { .from = row_of[i], .to = -1, .lane = -1 };
		for (size_t j = 0; j < c->nins; j++)
			if (c->ins[j].addr == in->target && row_of[j] >= 0)
				s.to = row_of[j];
		if (s.to < 0) {
			s.off = true;
			s.to = in->target < in->addr ? 0 : h - 1;
		}
		if (s.to == s.from && !s.off)
			continue; /* a jump to itself */
		s.lo = s.from < s.to ? s.from : s.to;
		s.hi = s.from < s.to ? s.to : s.from;
		sp[ns++] = s;
	}
	/* lanes: the shortest spans first, each in the nearest lane free over
	 * its rows; none left: not drawn */
	for (int k = 0; k < ns; k++)
		for (int m = k + 1; m < ns; m++)
			if (sp[m].hi - sp[m].lo < sp[k].hi - sp[k].lo) {
				span t = sp[k];
				sp[k] = sp[m];
				sp[m] = t;
			}
	for (int k = 0; k < ns; k++)
		for (int l = 0; l < lanes - 1 && sp[k].lane < 0; l++) {
			bool free_ = true;
			for (int m = 0; m < k && free_; m++)
				if (sp[m].lane == l && sp[m].lo <= sp[k].hi && sp[k].lo <= sp[m].hi)
					free_ = false;
			if (free_)
				sp[k].lane = l;
		}
	static unsigned char g[MAXROWS * 2][CW_GUTTER_MAX];
	memset(g, 0, sizeof g);
	for (int k = 0; k < ns; k++) {
		const span *s = &sp[k];
		if (s->lane < 0)
			continue;
		int col = lanes - 2 - s->lane; /* the last column: heads only */
		for (int y = s->lo + 1; y < s->hi; y++)
			put(g, y, col, G_V);
		int ends[2] = { s->from, s->to };
		for (int e = 0; e < 2; e++) {
			int y = ends[e];
			if (e == 1 && s->off) {
				put(g, y, col, y == 0 ? G_UP : G_DOWN);
				continue;
			}
			put(g, y, col, y == s->lo ? G_TOPC : G_BOTC);
			for (int x = col + 1; x < lanes; x++)
				put(g, y, x, G_H);
			if (e == 1)
				put(g, y, lanes - 1, G_HEAD);
		}
	}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < lanes; x++)
			if (g[y][x])
				mvaddch(r.y + 1 + y, gx + x, piece(g[y][x]) | (chtype)attr_of[y]);
}
