/* The Windows build's <termios.h>: a console's "terminal modes" are its
 * input and output modes (GetConsoleMode) and the screen buffer it shows.
 * tcgetattr saves them for stdin/stdout; tcsetattr puts them back, and
 * makes the saved buffer the shown one again: what ends curses' full
 * screen after a signal (src/tui/ui_term.c), from any thread. The fd is
 * ignored: the console is stdin's and stdout's. Implemented in
 * curses_screen.c. */
#ifndef VMATLAS_WIN_TERMIOS_H
#define VMATLAS_WIN_TERMIOS_H

#define TCSANOW 0

struct termios {
	unsigned long in_mode, out_mode;
	void *screen; /* the screen buffer shown */
};

int tcgetattr(int fd, struct termios *t);
int tcsetattr(int fd, int when, const struct termios *t);

#endif
