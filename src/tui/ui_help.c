/* A help screen from a table of keys, and a popup of text lines (ui.h). */
#include "ui.h"

#include <string.h>

/* lines scrolled by the arrows and pages until q, Esc, Enter, F1 or ? */
static void pager(const char *title, size_t n, void (*draw)(size_t i, int y, int w, const void *arg),
		  const void *arg, int width, bool boxed)
{
	ui_list l = { .n = n };
	for (;;) {
		int w = width > 0 && width + 4 < COLS ? width + 4 : COLS;
		int h = (int)n + 3 < LINES ? (int)n + 3 : LINES;
		int y0 = boxed ? (LINES - h) / 2 : 0, x0 = boxed ? (COLS - w) / 2 : 0;
		if (!boxed) {
			w = COLS;
			h = LINES;
			erase();
		}
		l.h = h - 3 > 1 ? h - 3 : 1;
		ui_list_fit(&l);
		for (int y = 0; y < h; y++)
			ui_line(y0 + y, x0, w, A_NORMAL, "");
		ui_line(y0, x0, w, ui_attr(UI_TITLE), title);
		for (int i = 0; i < l.h && l.top + (size_t)i < n; i++)
			draw(l.top + (size_t)i, y0 + 1 + i, w - 2, arg);
		ui_line(y0 + h - 1, x0, w, ui_attr(UI_STATUS),
			l.top + (size_t)l.h < n ? "(more: arrows/PgDn)  q close" : "q close");
		if (boxed) {
			for (int y = 1; y < h - 1; y++) {
				mvaddch(y0 + y, x0, '|');
				mvaddch(y0 + y, x0 + w - 1, '|');
			}
		}
		refresh();
		int k = ui_getkey(-1);
		if (k == KEY_RESIZE || k == ERR)
			continue;
		if (k == KEY_UP || k == 'k') {
			if (l.top > 0)
				l.top--;
			l.sel = l.top;
			continue;
		}
		if (k == KEY_DOWN || k == 'j' || k == ' ') {
			if (l.top + (size_t)l.h < n)
				l.top++;
			l.sel = l.top + (size_t)l.h - 1;
			continue;
		}
		if (ui_list_key(&l, k))
			continue;
		break;
	}
}

static void draw_help(size_t i, int y, int w, const void *arg)
{
	const ui_help_item *it = (const ui_help_item *)arg + i;
	int x0 = (COLS - w) / 2 < 1 ? 1 : (COLS - w) / 2;
	if (!it->keys) {
		ui_text(y, x0, w, ui_attr(UI_HEADER), it->what);
		return;
	}
	ui_text(y, x0 + 2, 16, ui_attr(UI_KEY), it->keys);
	ui_text(y, x0 + 20, w - 20, A_NORMAL, it->what);
}

void ui_help(const char *title, const ui_help_item *items, size_t n)
{
	pager(title, n, draw_help, items, 0, false);
}

static void draw_popup(size_t i, int y, int w, const void *arg)
{
	const char *const *lines = arg;
	ui_text(y, (COLS - w) / 2 + 1, w - 1, A_NORMAL, lines[i]);
}

void ui_popup(const char *title, const char *const *lines, size_t n)
{
	int width = (int)strlen(title);
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(lines[i]) > width)
			width = (int)strlen(lines[i]);
	pager(title, n, draw_popup, lines, width, true);
}
