/* The bottom line: messages, key hints, a one-line prompt (ui.h). */
#include "ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char g_msg[512];
static bool g_msg_error;

void ui_message(bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_msg, sizeof g_msg, fmt, ap);
	va_end(ap);
	g_msg_error = error;
}

void ui_message_clear(void)
{
	g_msg[0] = 0;
}

void ui_status_draw(int y, const char *hints)
{
	if (g_msg[0]) {
		ui_line(y, 0, COLS, g_msg_error ? ui_attr(UI_ERROR) | (int)A_REVERSE : ui_attr(UI_STATUS), g_msg);
		return;
	}
	ui_line(y, 0, COLS, ui_attr(UI_STATUS), "");
	/* "F1 help  q quit": each item's first word is its key */
	int x = 0;
	const char *p = hints ? hints : "";
	while (*p && x < COLS) {
		while (*p == ' ')
			p++;
		const char *end = strstr(p, "  ");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *sp = memchr(p, ' ', len);
		size_t klen = sp ? (size_t)(sp - p) : len;
		char buf[128];
		snprintf(buf, sizeof buf, "%.*s", (int)klen, p);
		x += ui_text(y, x, COLS - x, ui_attr(UI_STATUS) | A_BOLD, buf);
		snprintf(buf, sizeof buf, "%.*s  ", (int)(len - klen), p + klen);
		x += ui_text(y, x, COLS - x, ui_attr(UI_STATUS), buf);
		p += len;
	}
}

bool ui_prompt(const char *label, char *buf, size_t n)
{
	if (n == 0)
		return false;
	size_t len = strlen(buf), cur = len;
	bool ok = false;
	curs_set(1);
	for (;;) {
		int y = LINES - 1, lw = (int)strlen(label);
		ui_line(y, 0, COLS, A_NORMAL, "");
		if (lw > COLS / 2 && LINES > 1) {
			/* a long label on the line above, the text below it */
			ui_line(y - 1, 0, COLS, A_BOLD, label);
			lw = 2;
			ui_text(y, 0, COLS, A_BOLD, "> ");
		} else {
			ui_text(y, 0, COLS, A_BOLD, label);
		}
		int room = COLS - lw - 1;
		if (room < 1)
			room = 1;
		size_t start = cur >= (size_t)room ? cur - (size_t)room + 1 : 0;
		ui_text(y, lw, room, A_NORMAL, buf + start);
		move(y, lw + (int)(cur - start));
		refresh();
		int k = ui_getkey(-1);
		if (k == UI_KEY_QUIT || k == UI_KEY_ESC || k == 7 /* ^G */)
			break;
		if (k == '\n' || k == '\r' || k == KEY_ENTER) {
			ok = true;
			break;
		}
		if (k == KEY_RESIZE || k == ERR)
			continue;
		if ((k == KEY_BACKSPACE || k == 127 || k == 8) && cur > 0) {
			memmove(buf + cur - 1, buf + cur, len - cur + 1);
			cur--, len--;
		} else if (k == KEY_DC && cur < len) {
			memmove(buf + cur, buf + cur + 1, len - cur);
			len--;
		} else if (k == KEY_LEFT && cur > 0) {
			cur--;
		} else if (k == KEY_RIGHT && cur < len) {
			cur++;
		} else if (k == KEY_HOME || k == 1 /* ^A */) {
			cur = 0;
		} else if (k == KEY_END || k == 5 /* ^E */) {
			cur = len;
		} else if (k == 21 /* ^U */) {
			buf[0] = 0;
			cur = len = 0;
		} else if (k == 23 /* ^W */) {
			size_t s = cur;
			while (s > 0 && buf[s - 1] == ' ')
				s--;
			while (s > 0 && buf[s - 1] != ' ')
				s--;
			memmove(buf + s, buf + cur, len - cur + 1);
			len -= cur - s;
			cur = s;
		} else if (k >= 0x20 && k < 0x7f && len + 1 < n) {
			memmove(buf + cur + 1, buf + cur, len - cur + 1);
			buf[cur++] = (char)k;
			len++;
		}
	}
	curs_set(0);
	return ok;
}
