/* The debugger's CPU window: five panes (disassembly, registers, memory,
 * stack, log) over a debugger session (vmatlas/debug.h), with the keys
 * of Delphi/x64dbg/edb. */
#ifndef VMATLAS_TUI_CPU_H
#define VMATLAS_TUI_CPU_H

#include <stdbool.h>

#include "vmatlas/debug.h"

/* Run the window on d until the user quits (the session closed with
 * VM_DBG_QUIT), a command ends it (detach, kill, quit), or a terminating
 * signal comes (the session closed, then the signal raised again). d is
 * closed on return whatever happens. 0, or -1 with vm_error() (the
 * terminal could not be used: d is closed then too). */
int cpu_run(vm_dbg *d, bool color);

#endif
