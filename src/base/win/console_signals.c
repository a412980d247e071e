/* SIGINT and SIGTERM of the Windows build, from the console's control
 * events, taken by a handler of ours instead of the C runtime's. The C
 * runtime maps Ctrl-C to SIGINT only (resetting the handler first: the
 * second Ctrl-C ends the process), Ctrl-Break to SIGBREAK (whose default
 * ends the process without our cleanup, and a debugger that exits kills
 * its debuggees), and lets close, logoff and shutdown end the process
 * (ExitProcess) with no signal at all. Here Ctrl-C and Ctrl-Break are
 * SIGINT, and close, logoff and shutdown SIGTERM, whose handler (the
 * cleanup: every target let go) runs before the system ends the process
 * (when the handler returns, or after its time-out). A handler runs on a
 * thread the system starts for the event, and stays installed. SIGTERM
 * is set in the C runtime as well, for raise(). */
#include "base/win/console_signals.h"

#include <stdatomic.h>
#include <string.h>
#include <windows.h>

/* [0] SIGINT, [1] SIGTERM: the plain handler (SIG_DFL, SIG_IGN or a
 * function) or, with SA_SIGINFO, the siginfo one */
static void (*_Atomic g_fn[2])(int);
static void (*_Atomic g_info_fn[2])(int, siginfo_t *, void *);

static BOOL WINAPI on_console(DWORD type)
{
	int sig = type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT ? SIGINT : SIGTERM;
	int i = sig == SIGINT ? 0 : 1;
	void (*info)(int, siginfo_t *, void *) = atomic_load(&g_info_fn[i]);
	void (*fn)(int) = atomic_load(&g_fn[i]);
	if (info) {
		siginfo_t si = { .si_signo = sig };
		info(sig, &si, NULL);
		return TRUE;
	}
	if (fn == SIG_DFL)
		return FALSE; /* the system's default: the process ends */
	if (fn != SIG_IGN)
		fn(sig);
	return TRUE; /* close, logoff, shutdown: the process ends now */
}

int vm_win_console_sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	static atomic_flag installed = ATOMIC_FLAG_INIT;
	int i = sig == SIGINT ? 0 : 1;
	if (old) {
		memset(old, 0, sizeof *old);
		old->sa_handler = atomic_load(&g_fn[i]);
		old->sa_sigaction = atomic_load(&g_info_fn[i]);
		old->sa_flags = old->sa_sigaction ? SA_SIGINFO : 0;
	}
	if (!sa)
		return 0;
	if (!atomic_flag_test_and_set(&installed) && !SetConsoleCtrlHandler(on_console, TRUE)) {
		atomic_flag_clear(&installed);
		return -1;
	}
	if (sa->sa_flags & SA_SIGINFO) {
		atomic_store(&g_info_fn[i], sa->sa_sigaction);
	} else {
		atomic_store(&g_info_fn[i], NULL);
		atomic_store(&g_fn[i], sa->sa_handler);
	}
	return 0;
}
