/* The CPU window's watcher on a Windows console (cpu_int.h; the Windows
 * build's curses is base/win/curses*.c): while the target runs, a thread
 * waits on the console's input and a wake event, takes Ctrl-C and F12
 * presses as a pause (vm_dbg_interrupt) and keeps the other key presses
 * as input records. When the run ends they go back into the console's
 * input in the order typed (WriteConsoleInputW), after the keys getch had
 * read before the run (ungetch). A Ctrl-C that comes as the console's
 * Ctrl-C event instead of a key (Wine on a Unix terminal: the terminal
 * keeps ISIG, its SIGINT becomes CTRL_C_EVENT whatever the console's
 * mode) is a pause too, taken by a console control handler of ours that
 * comes before the one of SIGINT (base/win/console_signals.c: the
 * cleanup, which ends vmatlas). A target on our console gets the same
 * Ctrl-C (its DBG_CONTROL_C), and the two come in either order: when the
 * target's came first it was the pause already, and ours, late even
 * after the run is over or the window closed, is dropped
 * (vm_dbg_ctrl_seen); so the handler, once in place, stays. */
#include <stdlib.h>
#include <windows.h>

#include "base/console.h"
#include "base/util.h"
#include "tui/cpu_int.h"

#define KEPT_MAX 1024

struct watcher {
	vm_dbg *d;
	HANDLE in, wake, th;
	int before[128];
	size_t nbefore;
	INPUT_RECORD kept[KEPT_MAX];
	size_t nkept;
};

/* the session a Ctrl-C event pauses while the target runs (the
 * handler runs on a thread of its own) */
static vm_dbg *g_running;
static SRWLOCK g_lock = SRWLOCK_INIT; /* no pause once the run is over */
static bool g_installed;

/* VMATLAS_TEST_LATE_CTRL=MS: our own Ctrl-C event is taken MS ms late,
 * after the target's (as on a loaded machine) */
static DWORD late_ctrl_ms(void)
{
	const char *e = getenv("VMATLAS_TEST_LATE_CTRL");
	return e ? (DWORD)strtoul(e, NULL, 10) : 0;
}

static BOOL WINAPI on_ctrl(DWORD type)
{
	if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT)
		return FALSE;
	DWORD late = late_ctrl_ms();
	if (late)
		Sleep(late);
	if (vm_dbg_ctrl_seen())
		return TRUE; /* the target's own Ctrl-C, come first, was this pause */
	AcquireSRWLockExclusive(&g_lock);
	vm_dbg *d = g_running;
	if (d && vm_console_shared(vm_dbg_pid(d)))
		vm_dbg_interrupt_expect(d); /* its own DBG_CONTROL_C stops it */
	else if (d)
		vm_dbg_interrupt(d);
	ReleaseSRWLockExclusive(&g_lock);
	return d != NULL; /* else SIGINT's (ui_term.c): the window ends */
}

static bool is_pause(const KEY_EVENT_RECORD *k)
{
	return k->wVirtualKeyCode == VK_F12 || k->uChar.UnicodeChar == 3;
}

/* the records waiting now: pauses acted on, key presses and size changes
 * kept; false when the console cannot be read */
static bool take(watcher *w, bool pause)
{
	DWORD n = 0;
	while (GetNumberOfConsoleInputEvents(w->in, &n) && n > 0) {
		INPUT_RECORD rec[32];
		DWORD got = 0;
		if (!ReadConsoleInputW(w->in, rec, 32, &got) || got == 0)
			return false;
		for (DWORD i = 0; i < got; i++) {
			const INPUT_RECORD *r = &rec[i];
			if (r->EventType == KEY_EVENT && is_pause(&r->Event.KeyEvent)) {
				if (pause && r->Event.KeyEvent.bKeyDown)
					vm_dbg_interrupt(w->d);
				continue;
			}
			bool keep = (r->EventType == KEY_EVENT && r->Event.KeyEvent.bKeyDown) ||
				    r->EventType == WINDOW_BUFFER_SIZE_EVENT;
			if (keep && w->nkept < KEPT_MAX)
				w->kept[w->nkept++] = *r;
		}
	}
	return true;
}

static DWORD WINAPI watch_keys(void *arg)
{
	watcher *w = arg;
	HANDLE h[2] = { w->wake, w->in };
	while (WaitForMultipleObjects(2, h, FALSE, INFINITE) == WAIT_OBJECT_0 + 1)
		if (!take(w, true))
			break;
	return 0;
}

watcher *cw_watch_start(cpu *c)
{
	watcher *w = xcalloc(1, sizeof *w);
	w->d = c->d;
	w->in = GetStdHandle(STD_INPUT_HANDLE);
	/* the keys curses has read and not handed out yet come first */
	timeout(0);
	int k;
	while (w->nbefore < sizeof w->before / sizeof w->before[0] && (k = getch()) != ERR)
		w->before[w->nbefore++] = k;
	raw(); /* Ctrl-C is a key for the watcher, not the console's Ctrl-C event */
	AcquireSRWLockExclusive(&g_lock);
	g_running = w->d;
	ReleaseSRWLockExclusive(&g_lock);
	if (!g_installed)
		g_installed = SetConsoleCtrlHandler(on_ctrl, TRUE);
	w->wake = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (w->wake)
		w->th = CreateThread(NULL, 0, watch_keys, w, 0, NULL);
	return w;
}

void cw_watch_stop(watcher *w)
{
	/* a Ctrl-C from now on ends the window, unless it is the late one
	 * of the pause that the target's Ctrl-C made */
	AcquireSRWLockExclusive(&g_lock);
	g_running = NULL;
	ReleaseSRWLockExclusive(&g_lock);
	if (w->th) {
		SetEvent(w->wake);
		WaitForSingleObject(w->th, INFINITE);
		CloseHandle(w->th);
	}
	if (w->wake)
		CloseHandle(w->wake);
	/* what came since the thread's last look, after what it kept; a
	 * pause now is too late and dropped, as on a terminal */
	take(w, false);
	noraw();
	cbreak();
	DWORD put = 0;
	if (w->nkept)
		WriteConsoleInputW(w->in, w->kept, (DWORD)w->nkept, &put);
	/* ungetch puts a key in front: the last first */
	for (size_t i = w->nbefore; i-- > 0;)
		ungetch(w->before[i]);
	free(w);
}
