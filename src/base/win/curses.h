/* The Windows build's curses: the subset src/tui uses (one screen, no
 * windows but stdscr), over the Win32 console, since Debian has no
 * mingw-w64 ncurses or PDCurses. Drawing goes to a cell buffer that
 * refresh() writes to a screen buffer of its own (CreateConsoleScreenBuffer,
 * the console's "alternate screen") row by row where it changed, with
 * WriteConsoleOutputW; keys come from ReadConsoleInputW as KEY_* codes
 * (curses_keys.c); a changed window size is KEY_RESIZE. Attributes map to
 * console colours: A_BOLD the bright colour, A_DIM dark grey, A_REVERSE
 * swaps, A_UNDERLINE COMMON_LVB_UNDERSCORE; the ACS_* characters are the
 * Unicode box-drawing ones. The key codes have the usual curses values. */
#ifndef VMATLAS_WIN_CURSES_H
#define VMATLAS_WIN_CURSES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef uint32_t chtype;
typedef uint32_t attr_t;
typedef struct vm_curses_window WINDOW;
typedef struct vm_curses_screen SCREEN;

#define ERR (-1)
#define OK 0
#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif

/* a cell: a UTF-16 character, a colour pair, attributes */
#define A_NORMAL    0u
#define A_CHARTEXT  0xffffu
#define A_COLOR     0xff0000u
#define A_BOLD      (1u << 24)
#define A_DIM       (1u << 25)
#define A_REVERSE   (1u << 26)
#define A_UNDERLINE (1u << 27)
#define A_STANDOUT  (A_REVERSE | A_BOLD)
#define A_ATTRIBUTES (A_COLOR | A_BOLD | A_DIM | A_REVERSE | A_UNDERLINE)
#define COLOR_PAIR(n) ((chtype)((n) & 0xff) << 16)
#define PAIR_NUMBER(a) ((int)(((a) & A_COLOR) >> 16))

#define COLOR_BLACK   0
#define COLOR_RED     1
#define COLOR_GREEN   2
#define COLOR_YELLOW  3
#define COLOR_BLUE    4
#define COLOR_MAGENTA 5
#define COLOR_CYAN    6
#define COLOR_WHITE   7

#define ACS_HLINE    ((chtype)0x2500)
#define ACS_VLINE    ((chtype)0x2502)
#define ACS_ULCORNER ((chtype)0x250c)
#define ACS_URCORNER ((chtype)0x2510)
#define ACS_LLCORNER ((chtype)0x2514)
#define ACS_LRCORNER ((chtype)0x2518)
#define ACS_LTEE     ((chtype)0x251c)
#define ACS_RTEE     ((chtype)0x2524)
#define ACS_TTEE     ((chtype)0x252c)
#define ACS_BTEE     ((chtype)0x2534)
#define ACS_PLUS     ((chtype)0x253c)
#define ACS_LARROW   ((chtype)0x2190)
#define ACS_UARROW   ((chtype)0x2191)
#define ACS_RARROW   ((chtype)0x2192)
#define ACS_DARROW   ((chtype)0x2193)

#define KEY_DOWN      0402
#define KEY_UP        0403
#define KEY_LEFT      0404
#define KEY_RIGHT     0405
#define KEY_HOME      0406
#define KEY_BACKSPACE 0407
#define KEY_F0        0410
#define KEY_F(n)      (KEY_F0 + (n))
#define KEY_DC        0512
#define KEY_IC        0513
#define KEY_NPAGE     0522
#define KEY_PPAGE     0523
#define KEY_ENTER     0527
#define KEY_BTAB      0541
#define KEY_END       0550
#define KEY_RESIZE    0632
/* Ctrl+Left and Ctrl+Right: ncurses names them by terminfo's extended
 * caps (keyname: "kLFT5", "kRIT5") */
#define VM_KEY_CLEFT  0700
#define VM_KEY_CRIGHT 0701
#define KEY_MAX       0777

extern int LINES, COLS;
extern WINDOW *stdscr;

/* the screen: start on the console of stdin/stdout (NULL when there is
 * none), end (the user's screen buffer and console modes back) */
WINDOW *initscr(void);
SCREEN *newterm(const char *type, FILE *out, FILE *in);
int endwin(void);
void delscreen(SCREEN *s);

/* input modes: cbreak keeps Ctrl-C a signal, raw makes it a key (3) */
int cbreak(void);
int raw(void);
int noraw(void);
int echo(void);
int noecho(void);
int nonl(void);
int keypad(WINDOW *w, bool on);
int set_escdelay(int ms);
int curs_set(int visible);

/* keys: a character, a KEY_* code, or ERR after timeout(ms) (-1: wait) */
void timeout(int ms);
int getch(void);
int ungetch(int ch);
/* the name of a key: only the two above have one here */
const char *keyname(int k);

/* drawing at the cursor with the current attributes (attron/attroff) */
int move(int y, int x);
int addch(chtype ch);
int mvaddch(int y, int x, chtype ch);
int addnstr(const char *s, int n);
int addstr(const char *s);
int mvaddstr(int y, int x, const char *s);
int mvaddnstr(int y, int x, const char *s, int n);
int printw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int mvprintw(int y, int x, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int hline(chtype ch, int n);
int mvhline(int y, int x, chtype ch, int n);
int clrtoeol(void);
int attron(int a);
int attroff(int a);
int attrset(int a);
int erase(void);
int clear(void);
int refresh(void);

int start_color(void);
int use_default_colors(void);
int init_pair(short pair, short fg, short bg);
bool has_colors(void);

/* terminfo: no capability strings on a console (NULL) */
char *tigetstr(const char *cap);

#endif
