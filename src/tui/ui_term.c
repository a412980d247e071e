/* The terminal: full-screen mode in and out, terminating signals, the
 * colour palette, keys (ui.h). */
#include "ui.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "vmatlas/error.h"

static bool g_on, g_color, g_atexit;
static SCREEN *g_screen;
static struct termios g_saved; /* the shell's modes */
static bool g_have_saved;
static char g_exit_seq[128];    /* what puts the screen back, for a signal handler */
static size_t g_exit_len;
static volatile sig_atomic_t g_quit, g_waiting, g_signal;

static const int g_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NSIGS (sizeof g_sigs / sizeof g_sigs[0])
static struct sigaction g_old[NSIGS];

/* async-signal-safe: the saved modes and the escape sequences computed
 * at start */
static void emergency_restore(void)
{
	if (g_have_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
	if (g_exit_len) {
		ssize_t r = write(STDOUT_FILENO, g_exit_seq, g_exit_len);
		(void)r;
	}
}

static void on_signal(int sig)
{
	g_quit = 1;
	g_signal = sig;
	if (g_waiting)
		return; /* ui_getkey returns UI_KEY_QUIT; the loop ends cleanly */
	/* busy (building a map, searching): restore now, then whatever was
	 * there before (vmatlas's cleanup: let stopped threads go, die) */
	emergency_restore();
	for (size_t i = 0; i < NSIGS; i++) {
		if (g_sigs[i] != sig)
			continue;
		if (g_old[i].sa_handler != SIG_IGN && g_old[i].sa_handler != SIG_DFL &&
		    !(g_old[i].sa_flags & SA_SIGINFO)) {
			g_old[i].sa_handler(sig);
		} else if (g_old[i].sa_handler != SIG_IGN) {
			signal(sig, SIG_DFL);
			raise(sig);
		}
	}
}

/* a crash (a bug of ours, or a signal sent by hand): the terminal back,
 * then what was there before (the sanitizers' report) or the default */
static const int g_fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NFATAL (sizeof g_fatal / sizeof g_fatal[0])
static struct sigaction g_fatal_old[NFATAL];

static void on_fatal(int sig, siginfo_t *info, void *uc)
{
	emergency_restore();
	for (size_t i = 0; i < NFATAL; i++) {
		if (g_fatal[i] != sig)
			continue;
		struct sigaction *o = &g_fatal_old[i];
		sigaction(sig, o, NULL);
		if (o->sa_flags & SA_SIGINFO) {
			o->sa_sigaction(sig, info, uc);
		} else if (o->sa_handler != SIG_DFL && o->sa_handler != SIG_IGN) {
			o->sa_handler(sig);
		} else {
			signal(sig, SIG_DFL);
			raise(sig); /* pending until we return: then the default */
		}
	}
}

static void add_seq(const char *cap)
{
	char *s = tigetstr((char *)cap);
	if (!s || s == (char *)-1)
		return;
	size_t n = strlen(s);
	if (g_exit_len + n < sizeof g_exit_seq) {
		memcpy(g_exit_seq + g_exit_len, s, n);
		g_exit_len += n;
	}
}

/* category colours: magenta, blue, cyan, red, green, yellow-ish (as a
 * block only; text uses the default colour bold), default, dim */
static void palette(void)
{
	start_color();
	use_default_colors();
	static const short fg[8] = { COLOR_MAGENTA, COLOR_BLUE, COLOR_CYAN, COLOR_RED,
				     COLOR_GREEN, -1, -1, -1 };
	static const short bg[8] = { COLOR_MAGENTA, COLOR_BLUE, COLOR_CYAN, COLOR_RED,
				     COLOR_GREEN, COLOR_YELLOW, COLOR_WHITE, COLOR_BLACK };
	static const short bfg[8] = { COLOR_WHITE, COLOR_WHITE, COLOR_BLACK, COLOR_WHITE,
				      COLOR_BLACK, COLOR_BLACK, COLOR_BLACK, COLOR_WHITE };
	for (short i = 0; i < 8; i++) {
		init_pair((short)(1 + i), fg[i], -1);
		init_pair((short)(9 + i), bfg[i], bg[i]);
	}
	init_pair(17, COLOR_WHITE, COLOR_BLUE);  /* title, status */
	init_pair(18, COLOR_RED, -1);            /* error */
	init_pair(19, COLOR_GREEN, -1);          /* added */
	init_pair(20, COLOR_RED, -1);            /* removed */
	init_pair(21, COLOR_BLUE, -1);           /* changed (magenta is taken by images) */
	init_pair(22, COLOR_BLACK, COLOR_CYAN);  /* selection, unfocused */
}

bool ui_color(void)
{
	return g_color;
}

int ui_attr(ui_role r)
{
	if (r >= UI_CAT0 && r <= UI_CAT7) {
		int i = r - UI_CAT0;
		if (!g_color)
			return i == 6 ? A_BOLD : i == 7 ? A_DIM : A_NORMAL;
		return i == 5 || i == 6 ? A_BOLD : i == 7 ? A_DIM : (int)COLOR_PAIR(1 + i);
	}
	if (r >= UI_BLOCK0 && r <= UI_BLOCK7) {
		int i = r - UI_BLOCK0;
		if (!g_color)
			return i == 7 ? A_DIM : A_REVERSE;
		return (int)COLOR_PAIR(9 + i);
	}
	switch (r) {
	case UI_TITLE: return g_color ? (int)(COLOR_PAIR(17) | A_BOLD) : A_REVERSE | A_BOLD;
	case UI_HEADER: return A_BOLD | A_UNDERLINE;
	case UI_SELECT: return A_REVERSE;
	case UI_SELECT_DIM: return g_color ? (int)COLOR_PAIR(22) : A_UNDERLINE;
	case UI_STATUS: return g_color ? (int)COLOR_PAIR(17) : A_REVERSE;
	case UI_ERROR: return g_color ? (int)(COLOR_PAIR(18) | A_BOLD) : A_BOLD;
	case UI_DIM: return A_DIM;
	case UI_ADDED: return g_color ? (int)(COLOR_PAIR(19) | A_BOLD) : A_BOLD;
	case UI_REMOVED: return g_color ? (int)(COLOR_PAIR(20) | A_DIM) : A_DIM;
	case UI_CHANGED: return g_color ? (int)(COLOR_PAIR(21) | A_BOLD) : A_BOLD | A_UNDERLINE;
	case UI_KEY: return A_BOLD;
	default: return A_NORMAL;
	}
}

int ui_start(bool color)
{
	if (g_on)
		return 0;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		vm_seterr("needs a terminal");
		return -1;
	}
	g_have_saved = tcgetattr(STDIN_FILENO, &g_saved) == 0;
	/* our handlers first: ncurses installs its own only where none is */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSIGS; i++) {
		sigaction(g_sigs[i], NULL, &g_old[i]);
		if (g_old[i].sa_handler != SIG_IGN) /* nohup: stays ignored */
			sigaction(g_sigs[i], &sa, NULL);
	}
	struct sigaction fa;
	memset(&fa, 0, sizeof fa);
	fa.sa_sigaction = on_fatal;
	fa.sa_flags = SA_SIGINFO;
	sigemptyset(&fa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(g_fatal[i], &fa, &g_fatal_old[i]);
	if (!(g_screen = newterm(NULL, stdout, stdin))) {
		for (size_t i = 0; i < NFATAL; i++)
			sigaction(g_fatal[i], &g_fatal_old[i], NULL);
		for (size_t i = 0; i < NSIGS; i++)
			sigaction(g_sigs[i], &g_old[i], NULL);
		vm_seterr("cannot use the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		return -1;
	}
	g_on = true;
	g_exit_len = 0;
	add_seq("sgr0");
	add_seq("rmcup");
	add_seq("cnorm");
	if (!g_atexit) {
		atexit(ui_stop);
		g_atexit = true;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	g_color = color && has_colors();
	if (g_color)
		palette();
	return 0;
}

void ui_stop(void)
{
	if (!g_on)
		return;
	g_on = false;
	curs_set(1);
	endwin();
	fflush(stdout);
	delscreen(g_screen);
	g_screen = NULL;
	for (size_t i = 0; i < NSIGS; i++)
		sigaction(g_sigs[i], &g_old[i], NULL);
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(g_fatal[i], &g_fatal_old[i], NULL);
}

void ui_reraise(void)
{
	int sig = g_signal;
	if (!sig)
		return;
	ui_stop();
	g_signal = 0;
	raise(sig); /* the handler from before ui_start, or the default */
}

bool ui_quit_requested(void)
{
	return g_quit != 0;
}

int ui_getkey(int timeout_ms)
{
	/* in slices: a signal that comes just before getch() blocks is seen
	 * within a slice */
	enum { SLICE_MS = 200 };
	int waited = 0;
	for (;;) {
		if (g_quit)
			return UI_KEY_QUIT;
		int t = timeout_ms < 0 || timeout_ms - waited > SLICE_MS ? SLICE_MS : timeout_ms - waited;
		timeout(t);
		g_waiting = 1;
		int k = g_quit ? ERR : getch();
		g_waiting = 0;
		if (g_quit)
			return UI_KEY_QUIT;
		if (k == 3) /* ^C when the terminal sends it as a key */
			return UI_KEY_QUIT;
		if (k != ERR)
			return k;
		waited += t;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return ERR;
	}
}
