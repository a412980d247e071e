/* The console curses' screen (curses.h): a cell buffer the drawing calls
 * fill, written by refresh() to a screen buffer of our own where it
 * differs from what was written last; colours and attributes as console
 * attributes; the saved console state for termios.h. */
#include <curses.h>
#include <termios.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "curses_int.h"

int LINES, COLS;
WINDOW *stdscr;
HANDLE vm_curses_in;
bool vm_curses_raw;

struct vm_curses_window {
	int unused;
};
struct vm_curses_screen {
	int unused;
};
static struct vm_curses_window g_stdscr;
static struct vm_curses_screen g_screen;

static HANDLE g_user_out; /* the user's screen buffer (stdout's) */
static HANDLE g_buf;      /* ours, shown while curses is on */
static struct termios g_saved;
static bool g_on;
static chtype *g_cells, *g_shown; /* LINES * COLS each */
static bool g_full;               /* write everything on the next refresh */
static int g_y, g_x;              /* the cursor */
static chtype g_attr;             /* attron's */
static int g_cursor = 1;
static bool g_color;
static WORD g_deffg = 7, g_defbg = 0; /* the user's colours */
static short g_pair_fg[256], g_pair_bg[256];

/* ---- the console's state (termios.h) ---- */

int tcgetattr(int fd, struct termios *t)
{
	(void)fd;
	DWORD in, out;
	HANDLE hin = GetStdHandle(STD_INPUT_HANDLE), hout = GetStdHandle(STD_OUTPUT_HANDLE);
	if (!GetConsoleMode(hin, &in) || !GetConsoleMode(hout, &out))
		return -1;
	t->in_mode = in;
	t->out_mode = out;
	t->screen = hout;
	return 0;
}

int tcsetattr(int fd, int when, const struct termios *t)
{
	(void)fd;
	(void)when;
	bool ok = SetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), t->in_mode);
	ok &= SetConsoleMode((HANDLE)t->screen, t->out_mode) != 0;
	ok &= SetConsoleActiveScreenBuffer((HANDLE)t->screen) != 0;
	return ok ? 0 : -1;
}

/* ---- start and end ---- */

static void window_size(int *h, int *w)
{
	CONSOLE_SCREEN_BUFFER_INFO bi;
	*h = 24, *w = 80;
	if (GetConsoleScreenBufferInfo(g_buf ? g_buf : g_user_out, &bi)) {
		*h = bi.srWindow.Bottom - bi.srWindow.Top + 1;
		*w = bi.srWindow.Right - bi.srWindow.Left + 1;
	}
	if (*h < 1)
		*h = 1;
	if (*w < 1)
		*w = 1;
}

/* the buffer as large as the window (no scroll bar), cells blank */
static bool resize_to(int h, int w)
{
	COORD sz = { (SHORT)w, (SHORT)h };
	SMALL_RECT win = { 0, 0, (SHORT)(w - 1), (SHORT)(h - 1) };
	/* shrinking: the window first; growing: the buffer first */
	if (!SetConsoleWindowInfo(g_buf, TRUE, &win))
		SetConsoleScreenBufferSize(g_buf, sz), SetConsoleWindowInfo(g_buf, TRUE, &win);
	else
		SetConsoleScreenBufferSize(g_buf, sz);
	size_t n = (size_t)h * (size_t)w;
	chtype *c = calloc(n, sizeof *c), *s = calloc(n, sizeof *s);
	if (!c || !s) {
		free(c);
		free(s);
		return false;
	}
	free(g_cells);
	free(g_shown);
	g_cells = c, g_shown = s;
	LINES = h, COLS = w;
	for (size_t i = 0; i < n; i++)
		g_cells[i] = ' ';
	g_full = true;
	return true;
}

bool vm_curses_resized(void)
{
	int h, w;
	window_size(&h, &w);
	if (h == LINES && w == COLS)
		return false;
	return resize_to(h, w);
}

void vm_curses_input_mode(void)
{
	DWORD m = ENABLE_WINDOW_INPUT | ENABLE_EXTENDED_FLAGS; /* no quick-edit: a click does not pause us */
	if (!vm_curses_raw)
		m |= ENABLE_PROCESSED_INPUT;
	SetConsoleMode(vm_curses_in, m);
}

SCREEN *newterm(const char *type, FILE *out, FILE *in)
{
	(void)type;
	(void)out;
	(void)in;
	if (g_on)
		return &g_screen;
	vm_curses_in = GetStdHandle(STD_INPUT_HANDLE);
	g_user_out = GetStdHandle(STD_OUTPUT_HANDLE);
	CONSOLE_SCREEN_BUFFER_INFO bi;
	DWORD mode;
	if (!GetConsoleMode(vm_curses_in, &mode) || !GetConsoleScreenBufferInfo(g_user_out, &bi) ||
	    tcgetattr(0, &g_saved) < 0)
		return NULL;
	g_deffg = bi.wAttributes & 0xf;
	g_defbg = (bi.wAttributes >> 4) & 0xf;
	int h, w;
	window_size(&h, &w);
	g_buf = CreateConsoleScreenBuffer(GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
					  CONSOLE_TEXTMODE_BUFFER, NULL);
	if (g_buf == INVALID_HANDLE_VALUE) {
		g_buf = NULL;
		return NULL;
	}
	if (!resize_to(h, w) || !SetConsoleActiveScreenBuffer(g_buf)) {
		CloseHandle(g_buf);
		g_buf = NULL;
		return NULL;
	}
	window_size(&h, &w); /* what the console made of it */
	if (h != LINES || w != COLS)
		resize_to(h, w);
	for (int i = 0; i < 256; i++)
		g_pair_fg[i] = g_pair_bg[i] = -1;
	g_on = true;
	g_attr = A_NORMAL;
	g_y = g_x = 0;
	stdscr = &g_stdscr;
	vm_curses_raw = false;
	vm_curses_input_mode();
	/* Wine's console on a Unix terminal reads the terminal (raw, no
	 * echo) from the first wait on its input on: before it, a key typed
	 * is echoed by the terminal and lost */
	WaitForSingleObject(vm_curses_in, 0);
	return &g_screen;
}

WINDOW *initscr(void)
{
	if (!newterm(NULL, stdout, stdin)) {
		fprintf(stderr, "cannot use the console\n");
		exit(1);
	}
	return stdscr;
}

int endwin(void)
{
	if (!g_on)
		return ERR;
	/* blank first: a console on a Unix terminal (Wine's) shows the
	 * user's buffer again only where it differs from ours */
	erase();
	g_full = true;
	curs_set(1);
	refresh();
	g_on = false;
	tcsetattr(0, TCSANOW, &g_saved);
	CloseHandle(g_buf);
	g_buf = NULL;
	return OK;
}

void delscreen(SCREEN *s)
{
	(void)s;
	free(g_cells);
	free(g_shown);
	g_cells = g_shown = NULL;
	LINES = COLS = 0;
	stdscr = NULL;
}

int cbreak(void)
{
	vm_curses_raw = false;
	vm_curses_input_mode();
	return OK;
}

int raw(void)
{
	vm_curses_raw = true;
	vm_curses_input_mode();
	return OK;
}

int noraw(void)
{
	return cbreak();
}

/* keys are never echoed, and Enter is '\r' (as after nonl) */
int echo(void) { return OK; }
int noecho(void) { return OK; }
int nonl(void) { return OK; }
int set_escdelay(int ms) { (void)ms; return OK; }

int keypad(WINDOW *w, bool on)
{
	(void)w;
	(void)on;
	return OK;
}

int curs_set(int visible)
{
	int old = g_cursor;
	g_cursor = visible != 0;
	if (g_buf) {
		CONSOLE_CURSOR_INFO ci = { 25, g_cursor ? TRUE : FALSE };
		SetConsoleCursorInfo(g_buf, &ci);
	}
	return old;
}

char *tigetstr(const char *cap)
{
	(void)cap;
	return NULL;
}

/* ---- colours ---- */

int start_color(void)
{
	g_color = true;
	return OK;
}

int use_default_colors(void)
{
	return OK;
}

bool has_colors(void)
{
	return true;
}

int init_pair(short pair, short fg, short bg)
{
	if (pair < 1 || pair > 255 || fg < -1 || fg > 7 || bg < -1 || bg > 7)
		return ERR;
	g_pair_fg[pair] = fg;
	g_pair_bg[pair] = bg;
	return OK;
}

/* curses' colour numbers (red 1, green 2, blue 4) to the console's
 * (blue 1, green 2, red 4) */
static WORD console_colour(short c)
{
	return (WORD)((c & 1 ? 4 : 0) | (c & 2) | (c & 4 ? 1 : 0));
}

static WORD console_attr(chtype a)
{
	int p = PAIR_NUMBER(a);
	WORD fg = g_deffg, bg = g_defbg;
	if (g_color && p && g_pair_fg[p] >= 0)
		fg = console_colour(g_pair_fg[p]);
	if (g_color && p && g_pair_bg[p] >= 0)
		bg = console_colour(g_pair_bg[p]);
	if (a & A_BOLD)
		fg |= FOREGROUND_INTENSITY;
	else if (a & A_DIM)
		fg = (fg & 7) == 7 || fg == 0 ? FOREGROUND_INTENSITY : fg & 7; /* grey, or the darker colour */
	if (a & A_REVERSE) {
		WORD t = fg;
		fg = bg, bg = t;
	}
	return (WORD)(fg | bg << 4 | (a & A_UNDERLINE ? COMMON_LVB_UNDERSCORE : 0));
}

/* ---- drawing ---- */

int move(int y, int x)
{
	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return ERR;
	g_y = y, g_x = x;
	return OK;
}

int addch(chtype ch)
{
	if (!g_cells || g_y >= LINES)
		return ERR;
	if ((ch & A_CHARTEXT) == '\n') {
		clrtoeol();
		g_x = 0;
		return ++g_y < LINES ? OK : ERR;
	}
	chtype a = ch & A_ATTRIBUTES;
	if (!(a & A_COLOR))
		a |= g_attr & A_COLOR;
	g_cells[(size_t)g_y * (size_t)COLS + (size_t)g_x] = (ch & A_CHARTEXT) | a | (g_attr & ~A_COLOR & A_ATTRIBUTES);
	if (++g_x >= COLS) {
		g_x = 0;
		if (++g_y >= LINES) { /* the last cell: no scrolling */
			g_y = LINES - 1, g_x = COLS - 1;
			return ERR;
		}
	}
	return OK;
}

int mvaddch(int y, int x, chtype ch)
{
	return move(y, x) == OK ? addch(ch) : ERR;
}

int addnstr(const char *s, int n)
{
	for (int i = 0; s[i] && (n < 0 || i < n); i++)
		if (addch((unsigned char)s[i]) == ERR)
			return ERR;
	return OK;
}

int addstr(const char *s) { return addnstr(s, -1); }
int mvaddstr(int y, int x, const char *s) { return move(y, x) == OK ? addnstr(s, -1) : ERR; }
int mvaddnstr(int y, int x, const char *s, int n) { return move(y, x) == OK ? addnstr(s, n) : ERR; }

static int vprintw(const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof buf, fmt, ap);
	return addstr(buf);
}

int printw(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vprintw(fmt, ap);
	va_end(ap);
	return r;
}

int mvprintw(int y, int x, const char *fmt, ...)
{
	if (move(y, x) == ERR)
		return ERR;
	va_list ap;
	va_start(ap, fmt);
	int r = vprintw(fmt, ap);
	va_end(ap);
	return r;
}

/* n copies from the cursor, which stays */
int hline(chtype ch, int n)
{
	int y = g_y, x = g_x;
	for (int i = 0; i < n && x + i < COLS; i++)
		mvaddch(y, x + i, ch);
	g_y = y, g_x = x;
	return OK;
}

int mvhline(int y, int x, chtype ch, int n)
{
	return move(y, x) == OK ? hline(ch, n) : ERR;
}

int clrtoeol(void)
{
	for (int x = g_x; g_cells && g_y < LINES && x < COLS; x++)
		g_cells[(size_t)g_y * (size_t)COLS + (size_t)x] = ' ' | (g_attr & A_COLOR);
	return OK;
}

int attron(int a) { g_attr |= (chtype)a & A_ATTRIBUTES; return OK; }
int attroff(int a) { g_attr &= ~((chtype)a & A_ATTRIBUTES); return OK; }
int attrset(int a) { g_attr = (chtype)a & A_ATTRIBUTES; return OK; }

int erase(void)
{
	for (size_t i = 0; g_cells && i < (size_t)LINES * (size_t)COLS; i++)
		g_cells[i] = ' ';
	g_y = g_x = 0;
	return OK;
}

int clear(void)
{
	g_full = true;
	return erase();
}

/* the rows that changed, each from its first changed cell to its last */
int refresh(void)
{
	if (!g_on || !g_cells)
		return ERR;
	CHAR_INFO row[1024];
	for (int y = 0; y < LINES; y++) {
		const chtype *c = g_cells + (size_t)y * (size_t)COLS;
		chtype *s = g_shown + (size_t)y * (size_t)COLS;
		int x0 = 0, x1 = COLS - 1;
		if (!g_full) {
			while (x0 < COLS && c[x0] == s[x0])
				x0++;
			while (x1 >= x0 && c[x1] == s[x1])
				x1--;
		}
		for (int x = x0; x <= x1; x += 1024) {
			int n = x1 - x + 1 > 1024 ? 1024 : x1 - x + 1;
			for (int i = 0; i < n; i++) {
				row[i].Char.UnicodeChar = (WCHAR)(c[x + i] & A_CHARTEXT);
				row[i].Attributes = console_attr(c[x + i]);
			}
			COORD sz = { (SHORT)n, 1 }, from = { 0, 0 };
			SMALL_RECT r = { (SHORT)x, (SHORT)y, (SHORT)(x + n - 1), (SHORT)y };
			WriteConsoleOutputW(g_buf, row, sz, from, &r);
		}
		if (x0 <= x1)
			memcpy(s + x0, c + x0, (size_t)(x1 - x0 + 1) * sizeof *s);
	}
	g_full = false;
	if (g_cursor) {
		COORD at = { (SHORT)g_x, (SHORT)g_y };
		SetConsoleCursorPosition(g_buf, at);
	}
	return OK;
}
