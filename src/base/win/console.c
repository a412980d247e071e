/* vm_console_shared on Windows (base/console.h): is pid attached to our
 * console? Then a Ctrl-C (or Ctrl-Break) event reaches it too, and its
 * debugger gets DBG_CONTROL_C (DBG_CONTROL_BREAK) from it. */
#include <windows.h>

#include "base/console.h"

bool vm_console_shared(int64_t pid)
{
	DWORD list[64];
	DWORD n = GetConsoleProcessList(list, 64);
	for (DWORD i = 0; i < n && i < 64; i++)
		if ((int64_t)list[i] == pid)
			return true;
	return false;
}
