/* vmatlas tui, the memory view: bytes, words, dwords, qwords or chars
 * from an address, a cursor, go to an expression, follow a pointer,
 * back. Unreadable bytes show as ??. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "tui_int.h"
#include "vmatlas/error.h"
#include "vmatlas/expr.h"

#define HIST_MAX 64

typedef struct memview {
	uint64_t origin, cursor;
	int unit;  /* 1, 2, 4, 8; 0: chars */
	uint64_t hist[HIST_MAX];
	size_t nhist;
} memview;

static int unit_bytes(const memview *v)
{
	return v->unit ? v->unit : 1;
}

static const char *unit_name(int u)
{
	switch (u) {
	case 1: return "bytes";
	case 2: return "words";
	case 4: return "dwords";
	case 8: return "qwords";
	default: return "chars";
	}
}

/* read n bytes from addr: ok[i] tells which could be read */
static void read_line(tui_app *a, uint64_t addr, uint8_t *buf, bool *ok, size_t n)
{
	memset(buf, 0, n);
	memset(ok, 0, n);
	if (!a->t)
		return;
	ssize_t got = vm_read(a->t, addr, buf, n);
	if (got == (ssize_t)n) {
		memset(ok, 1, n);
		return;
	}
	/* part of it: byte by byte (a line crossing into a hole) */
	for (size_t i = 0; i < n; i++)
		ok[i] = vm_read(a->t, addr + i, buf + i, 1) == 1;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void go(memview *v, uint64_t to, bool remember)
{
	if (remember) {
		if (v->nhist == HIST_MAX) {
			memmove(v->hist, v->hist + 1, (HIST_MAX - 1) * sizeof v->hist[0]);
			v->nhist--;
		}
		v->hist[v->nhist++] = v->cursor;
	}
	v->cursor = to;
	v->origin = to & ~(uint64_t)15;
}

static void draw_mem(tui_app *a, memview *v, int per_line, int rows)
{
	const vm_map *m = tui_map(a);
	int aw = tui_aw(m);
	erase();
	tui_draw_title(a, "memory view");
	char desc[256];
	tui_describe(a, v->cursor, desc, sizeof desc);
	const vm_region *r = vm_map_region_at(m, v->cursor);
	char prot[5] = "";
	if (r && r->state != VM_STATE_FREE)
		vm_prot_string(r->prot, prot);
	ui_line(1, 0, COLS, ui_attr(UI_HEADER), "");
	ui_textf(1, 0, COLS, ui_attr(UI_HEADER), "%s at %0*" PRIx64 "  %s %s  %s", unit_name(v->unit), aw, v->cursor,
		 prot, r ? vm_state_name(r->state) : "", desc);
	uint8_t buf[64];
	bool ok[64];
	for (int row = 0; row < rows; row++) {
		uint64_t la = v->origin + (uint64_t)row * (uint64_t)per_line;
		if (la < v->origin)
			break; /* wrapped past the top */
		int y = 2 + row;
		read_line(a, la, buf, ok, (size_t)per_line);
		int x = ui_textf(y, 0, COLS, A_BOLD, "%0*" PRIx64 "  ", aw, la);
		int ub = unit_bytes(v);
		for (int i = 0; i < per_line; i += ub) {
			bool all = true;
			for (int j = 0; j < ub; j++)
				all &= ok[i + j];
			uint64_t ca = la + (uint64_t)i;
			int attr = ca == v->cursor || (ca < v->cursor && v->cursor < ca + (uint64_t)ub) ? ui_attr(UI_SELECT) : (int)A_NORMAL;
			char cell[32];
			if (v->unit == 0) {
				unsigned char c = buf[i];
				snprintf(cell, sizeof cell, "%s", !ok[i] ? "??" : c >= 0x20 && c < 0x7f ? (char[]){ (char)c, ' ', 0 } :
					 c == 0 ? ". " : "^.");
				if (!ok[i])
					attr |= A_DIM;
			} else if (!all) {
				snprintf(cell, sizeof cell, "%.*s", ub * 2, "????????????????");
				attr |= A_DIM;
			} else {
				snprintf(cell, sizeof cell, "%0*" PRIx64, ub * 2, le(buf + i, ub));
			}
			x += ui_text(y, x, COLS - x, attr, cell);
			x += ui_text(y, x, COLS - x, A_NORMAL, " ");
		}
		if (v->unit != 0) {
			char asc[65];
			for (int i = 0; i < per_line; i++)
				asc[i] = !ok[i] ? ' ' : buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '.';
			asc[per_line] = 0;
			ui_textf(y, x, COLS - x, A_NORMAL, "|%s|", asc);
		}
	}
	/* the value under the cursor, as a pointer */
	int ps = m->info.bits == 32 ? 4 : 8;
	uint8_t pb[8];
	if (a->t && vm_read(a->t, v->cursor, pb, (size_t)ps) == ps) {
		uint64_t p = le(pb, ps);
		char d2[256];
		tui_describe(a, p, d2, sizeof d2);
		ui_textf(2 + rows, 0, COLS, A_NORMAL, "[%0*" PRIx64 "] = 0x%" PRIx64 "  -> %s", aw, v->cursor, p, d2);
	} else {
		ui_textf(2 + rows, 0, COLS, A_DIM, "[%0*" PRIx64 "]: unreadable", aw, v->cursor);
	}
	ui_status_draw(LINES - 1, "F1 help  u unit  g go  f follow  b back  w whatis  d dump  q map");
	refresh();
}

void tui_memview(tui_app *a, uint64_t addr)
{
	memview v = { .unit = 1 };
	go(&v, addr, false);
	ui_message_clear();
	for (;;) {
		const vm_map *m = tui_map(a);
		int aw = tui_aw(m);
		/* 16 per line when "ADDR  xx*16 |16|" fits */
		int per_line = COLS >= aw + 2 + 48 + 18 ? 16 : 8;
		int rows = LINES - 4;
		if (rows < 1)
			rows = 1;
		uint64_t span = (uint64_t)per_line * (uint64_t)rows;
		v.cursor -= v.cursor % (uint64_t)unit_bytes(&v);
		if (v.cursor < v.origin)
			v.origin = v.cursor - v.cursor % (uint64_t)per_line;
		if (v.cursor - v.origin >= span)
			v.origin = v.cursor - v.cursor % (uint64_t)per_line - span + (uint64_t)per_line;
		draw_mem(a, &v, per_line, rows);
		int k = ui_getkey(-1);
		if (k == KEY_RESIZE || k == ERR)
			continue;
		ui_message_clear();
		uint64_t ub = (uint64_t)unit_bytes(&v);
		switch (k) {
		case UI_KEY_QUIT:
		case 'q': case UI_KEY_ESC: case KEY_F(10):
			return;
		case KEY_LEFT: v.cursor -= ub; break;
		case KEY_RIGHT: v.cursor += ub; break;
		case KEY_UP: v.cursor -= (uint64_t)per_line; break;
		case KEY_DOWN: v.cursor += (uint64_t)per_line; break;
		case KEY_PPAGE: v.cursor -= span; v.origin -= span; break;
		case KEY_NPAGE: v.cursor += span; v.origin += span; break;
		case KEY_HOME: v.cursor = v.origin; break;
		case 'u': {
			static const int next[9] = { 1, 2, 4, 0, 8, 0, 0, 0, 0 };
			v.unit = next[v.unit];
			break;
		}
		case 'g': {
			char buf[256];
			snprintf(buf, sizeof buf, "0x%" PRIx64, v.cursor);
			if (!ui_prompt("go to: ", buf, sizeof buf))
				break;
			uint64_t to;
			if (tui_eval(a, buf, &to) < 0)
				ui_message(true, "go: %s", vm_error());
			else
				go(&v, to, true);
			break;
		}
		case 'f': case '\n': case '\r': case KEY_ENTER: {
			int ps = m->info.bits == 32 ? 4 : 8;
			uint8_t pb[8];
			if (!a->t || vm_read(a->t, v.cursor, pb, (size_t)ps) != ps)
				ui_message(true, "follow: cannot read a pointer at 0x%" PRIx64, v.cursor);
			else
				go(&v, le(pb, ps), true);
			break;
		}
		case 'b': case KEY_BACKSPACE: case 127: case 8:
			if (!v.nhist)
				ui_message(true, "back: nowhere to go back to");
			else
				go(&v, v.hist[--v.nhist], false);
			break;
		case 'w':
			tui_whatis(a, v.cursor);
			break;
		case 'd': {
			const vm_region *r = vm_map_region_at(m, v.cursor);
			if (!r || r->state == VM_STATE_FREE)
				ui_message(true, "dump: nothing is mapped at 0x%" PRIx64, v.cursor);
			else
				tui_dump(a, v.cursor, r->base + r->size - v.cursor);
			break;
		}
		case KEY_F(1): case '?': {
			static const ui_help_item h[] = {
				{ NULL, "Memory view" },
				{ "Arrows PgUp PgDn", "move the cursor" },
				{ "u", "unit: bytes, words, dwords, qwords, chars" },
				{ "g", "go to an expression (0x7f.., libc.so.6!malloc, [rsp]+8)" },
				{ "f Enter", "follow the pointer under the cursor" },
				{ "b Backspace", "back to where the last go or follow came from" },
				{ "w", "whatis the cursor" },
				{ "d", "dump from the cursor to its region's end" },
				{ "q Esc", "back to the map" },
			};
			ui_help("vmatlas tui: memory view keys", h, ARRAY_LEN(h));
			break;
		}
		default:
			break;
		}
	}
}
