#ifndef VMATLAS_WIN_CONSOLE_SIGNALS_H
#define VMATLAS_WIN_CONSOLE_SIGNALS_H

#include <signal.h>

/* sigaction for SIGINT and SIGTERM as the console's control events give
 * them (console_signals.c); os_windows.c's sigaction hands these over */
int vm_win_console_sigaction(int sig, const struct sigaction *sa, struct sigaction *old);

#endif
