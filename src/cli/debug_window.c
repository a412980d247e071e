/* `vmatlas debug` on a terminal: the CPU window of src/tui/. */
#include "cli.h"

#include "tui/cpu.h"

int cli_debug_window(struct vm_dbg *d, bool color)
{
	return cpu_run(d, color);
}
