/* Clipped text, pane frames and scrolling lists (ui.h). */
#include "ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ui_text(int y, int x, int maxw, int attr, const char *s)
{
	if (y < 0 || y >= LINES || x >= COLS || maxw <= 0 || !s)
		return 0;
	if (x + maxw > COLS)
		maxw = COLS - x;
	int n = 0;
	attron(attr);
	move(y, x);
	for (; *s && n < maxw; s++) {
		unsigned char c = (unsigned char)*s;
		/* control bytes and non-ASCII from hostile files: a dot */
		addch(c >= 0x20 && c < 0x7f ? c : '.');
		n++;
	}
	attroff(attr);
	return n;
}

int ui_textf(int y, int x, int maxw, int attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return ui_text(y, x, maxw, attr, buf);
}

void ui_line(int y, int x, int w, int attr, const char *s)
{
	if (y < 0 || y >= LINES)
		return;
	if (x + w > COLS)
		w = COLS - x;
	int n = ui_text(y, x, w, attr, s ? s : "");
	attron(attr);
	for (int i = n; i < w; i++)
		mvaddch(y, x + i, ' ');
	attroff(attr);
}

void ui_frame(ui_rect r, const char *title, bool focused)
{
	if (r.h <= 0 || r.w <= 0)
		return;
	/* plain dashes: they read in any locale, terminal and screen capture */
	int a = focused ? A_BOLD : A_DIM;
	attron(a);
	mvhline(r.y, r.x, '-', r.w);
	attroff(a);
	if (title && *title) {
		char buf[512];
		snprintf(buf, sizeof buf, "%s %s ", focused ? "[>" : "--", title);
		ui_text(r.y, r.x, r.w - 2, a, buf);
		if (focused)
			ui_text(r.y, r.x, 2, a | A_REVERSE, "[>");
	}
}

void ui_list_fit(ui_list *l)
{
	if (l->n == 0) {
		l->sel = l->top = 0;
		return;
	}
	if (l->sel >= l->n)
		l->sel = l->n - 1;
	size_t h = l->h > 0 ? (size_t)l->h : 1;
	if (l->sel < l->top)
		l->top = l->sel;
	if (l->sel >= l->top + h)
		l->top = l->sel - h + 1;
	if (l->top + h > l->n)
		l->top = l->n > h ? l->n - h : 0;
}

bool ui_list_key(ui_list *l, int key)
{
	size_t h = l->h > 1 ? (size_t)l->h - 1 : 1;
	switch (key) {
	case KEY_UP: case 'k':
		if (l->sel > 0)
			l->sel--;
		break;
	case KEY_DOWN: case 'j':
		if (l->sel + 1 < l->n)
			l->sel++;
		break;
	case KEY_PPAGE:
		l->sel = l->sel > h ? l->sel - h : 0;
		break;
	case KEY_NPAGE:
		l->sel = l->sel + h < l->n ? l->sel + h : (l->n ? l->n - 1 : 0);
		break;
	case KEY_HOME: case 'g':
		l->sel = 0;
		break;
	case KEY_END: case 'G':
		l->sel = l->n ? l->n - 1 : 0;
		break;
	default:
		return false;
	}
	ui_list_fit(l);
	return true;
}

void ui_list_draw(ui_list *l, ui_rect r, void (*row)(size_t i, int y, int w, bool sel, void *arg), void *arg)
{
	l->h = r.h > 0 ? r.h : 1;
	ui_list_fit(l);
	for (int i = 0; i < r.h && l->top + (size_t)i < l->n; i++)
		row(l->top + (size_t)i, r.y + i, r.w, l->top + (size_t)i == l->sel, arg);
}
