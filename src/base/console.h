#ifndef VMATLAS_BASE_CONSOLE_H
#define VMATLAS_BASE_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

/* Does a Ctrl-C typed at our console reach process pid as well, as its
 * own interrupt that its debugger sees? On Windows: pid is attached to
 * our console (a program the debugger started), and the Ctrl-C comes to
 * it as DBG_CONTROL_C (base/win/console.c). On Linux: no; a SIGINT that
 * the terminal gives it too is folded into the pause by the debugger, but
 * it may block SIGINT, so the pause sends its own stop (base/console.c).
 * The answer decides vm_dbg_interrupt_expect over vm_dbg_interrupt. */
bool vm_console_shared(int64_t pid);

#endif
