/* Generic ncurses pieces with no map in them: the terminal (start, stop,
 * signals, resize), a palette of colour roles, clipped text and pane
 * frames, a scrolling list, a status line and a one-line prompt, and a
 * help screen drawn from a table of keys.
 *
 * They are the base of `vmatlas tui` (tui_*.c) and are meant for any
 * other full-screen front end, such as the debugger's CPU window:
 *
 *   if (ui_start(color) < 0) ... error (vm_error() says why)
 *   for (;;) {
 *       erase();
 *       ... draw panes with ui_frame(), ui_text(), ui_textf(), ui_attr(),
 *           lists with ui_list_draw() (a row callback), a picture
 *           with the UI_BLOCKn roles
 *       ui_status_draw(LINES - 1, "F1 help  q quit");
 *       refresh();
 *       int k = ui_getkey(timeout_ms);   // ERR on timeout
 *       if (k == UI_KEY_QUIT) break;     // SIGINT, SIGTERM, SIGHUP seen
 *       if (k == KEY_RESIZE) continue;   // LINES and COLS are new: redraw
 *       if (ui_list_key(&list, k)) continue;  // arrows, pages, home/end
 *       ...
 *   }
 *   ui_stop();
 *   ui_reraise();   // the loop ended on a signal: die of it as usual
 *
 * Prompts (go to an expression: ui_prompt), messages (ui_message), the
 * help (ui_help from a ui_help_item table) and popups (ui_popup) each take
 * the screen and give it back; redraw after them. A CPU window would use
 * one ui_list per pane (registers, disassembly, memory, stack), ui_frame
 * for their headings with the focused one marked, and its own keys
 * before ui_list_key. Nothing here knows the map: it links with
 * -lncursesw (pkg-config ncursesw) and the rest of src/tui is not needed.
 *
 * ui_stop() is also run at exit, and a SIGINT/SIGTERM/SIGHUP/SIGQUIT that
 * comes while the program is busy (not waiting in ui_getkey) restores the
 * terminal before the handler that was there before (vmatlas's own, which
 * lets stopped threads go) runs; a crash signal (SEGV, BUS, FPE, ILL,
 * ABRT) restores it too, then lets the sanitizers or the default act.
 * Everything draws on stdscr; one program
 * has one terminal, so the state here is global. */
#ifndef VMATLAS_TUI_UI_H
#define VMATLAS_TUI_UI_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

/* what a piece of text is; ui_attr() gives its attributes. The palette
 * uses the terminal's own background and foreground (use_default_colors)
 * and only colours that read on dark and light backgrounds; without
 * colour each role falls back to bold/reverse/underline/dim. */
typedef enum ui_role {
	UI_NORMAL,
	UI_TITLE,    /* the top bar */
	UI_HEADER,   /* column headings */
	UI_SELECT,   /* the selected row of the focused pane */
	UI_SELECT_DIM, /* the selected row of a pane without focus */
	UI_STATUS,   /* the bottom line */
	UI_ERROR,    /* an error message */
	UI_DIM,      /* free space, unreadable bytes */
	UI_ADDED,    /* something new since the last refresh */
	UI_REMOVED,  /* something gone */
	UI_CHANGED,  /* something changed */
	UI_KEY,      /* a key name in hints and help */
	/* eight colours for categories (a map's usages, register groups ...):
	 * foreground text, and the same as blocks (background) for pictures */
	UI_CAT0, UI_CAT1, UI_CAT2, UI_CAT3, UI_CAT4, UI_CAT5, UI_CAT6, UI_CAT7,
	UI_BLOCK0, UI_BLOCK1, UI_BLOCK2, UI_BLOCK3, UI_BLOCK4, UI_BLOCK5, UI_BLOCK6, UI_BLOCK7,
	UI_ROLE_COUNT
} ui_role;

#define UI_KEY_QUIT (KEY_MAX + 1) /* from ui_getkey: a terminating signal came */
#define UI_KEY_ESC 27

/* Start full-screen mode on the controlling terminal (stdin/stdout must
 * be one): 0, or -1 with an error. */
int ui_start(bool color);
/* Back to the shell's terminal modes; safe to call twice. */
void ui_stop(void);
bool ui_color(void);
int ui_attr(ui_role r);
/* a key, ERR after timeout_ms (-1: wait), KEY_RESIZE, or UI_KEY_QUIT */
int ui_getkey(int timeout_ms);
/* true once SIGINT, SIGTERM, SIGHUP or SIGQUIT came */
bool ui_quit_requested(void);
/* after the loop ended on UI_KEY_QUIT: stop, and raise the signal again
 * so that the handler from before ui_start (or the default) acts on it
 * and the exit status tells the shell; nothing when no signal came */
void ui_reraise(void);

/* ---- drawing (clipped to the screen and to maxw columns) ---- */

typedef struct ui_rect {
	int y, x, h, w;
} ui_rect;

/* text at y,x, at most maxw columns; returns the columns written */
int ui_text(int y, int x, int maxw, int attr, const char *s);
int ui_textf(int y, int x, int maxw, int attr, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* a whole line of w columns from x: s then blanks, in attr */
void ui_line(int y, int x, int w, int attr, const char *s);
/* a heading line "── title ──────" across r's top row; the rest of r
 * is the pane's inside (r.y + 1 .. r.y + r.h - 1) */
void ui_frame(ui_rect r, const char *title, bool focused);

/* ---- a scrolling list: n rows, `h` of them shown, one selected ---- */

typedef struct ui_list {
	size_t n, sel, top;
	int h;
} ui_list;

/* up/down/page up/page down/home/end (and k/j): true when handled */
bool ui_list_key(ui_list *l, int key);
/* keep sel inside n and on screen */
void ui_list_fit(ui_list *l);
/* the list in r (l->h becomes r.h): row(i, y, w, selected, arg) draws
 * row i on line y, w columns wide, for each row on screen */
void ui_list_draw(ui_list *l, ui_rect r, void (*row)(size_t i, int y, int w, bool sel, void *arg), void *arg);

/* ---- the bottom line: a message, or the key hints ---- */

void ui_message(bool error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ui_message_clear(void);
/* the message if there is one, else hints ("F1 help  q quit": the words
 * before two spaces shown as keys) */
void ui_status_draw(int y, const char *hints);
/* Ask for a line on the bottom row, buf holding the default (editable):
 * true on Enter, false on Esc or ^C. Left/right, home/end, backspace,
 * delete, ^U (clear) and ^W (word) edit. */
bool ui_prompt(const char *label, char *buf, size_t n);

/* ---- a help screen: keys and what they do; NULL keys: a heading ---- */

typedef struct ui_help_item {
	const char *keys, *what;
} ui_help_item;

/* shown over the whole screen until a key; scrolls when taller than it */
void ui_help(const char *title, const ui_help_item *items, size_t n);
/* a box of text lines over the screen until a key (whatis answers ...) */
void ui_popup(const char *title, const char *const *lines, size_t n);

#endif
