/* The Windows build has no terminal UI yet (src/tui/ is not in it): the
 * debugger runs in its batch mode only, and a console without --batch
 * says so. */
#include "cli/cli.h"

#include "vmatlas/debug.h"
#include "vmatlas/error.h"

int cli_debug_window(struct vm_dbg *d, bool color)
{
	(void)color;
	vm_dbg_close(d, VM_DBG_QUIT);
	vm_seterr("the CPU window is not in the Windows build: give commands with --batch FILE (or --batch -)");
	return -1;
}
