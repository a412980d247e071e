/* capture of a live Windows process: the minidump dbghelp's
 * MiniDumpWriteDump writes (what WinDbg and vmatlas open), with full
 * memory, or with private read-write memory only for --private-only
 * (the images are on disk already), plus the memory, thread and handle
 * information streams. */
#include "win.h"

#include <dbghelp.h>
#include <io.h>

#include "vmatlas/error.h"

int win_write_dump(vm_target *t, int fd, bool private_only)
{
	win_target *w = WT(t);
	HANDLE file = (HANDLE)_get_osfhandle(fd);
	if (file == INVALID_HANDLE_VALUE) {
		vm_seterr("capture: no file to write the minidump to");
		return -1;
	}
	MINIDUMP_TYPE type = MiniDumpWithFullMemoryInfo | MiniDumpWithThreadInfo | MiniDumpWithHandleData |
			     MiniDumpWithUnloadedModules |
			     (private_only ? MiniDumpWithPrivateReadWriteMemory : MiniDumpWithFullMemory);
	/* the handle streams need PROCESS_DUP_HANDLE, which the handle the
	 * target was opened with may lack: a second handle with it, if
	 * allowed */
	HANDLE h = w->self ? GetCurrentProcess()
			   : OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ | PROCESS_DUP_HANDLE, FALSE, w->pid);
	if (!h) {
		h = w->h;
		type &= ~MiniDumpWithHandleData;
	}
	BOOL ok = MiniDumpWriteDump(h, w->pid, file, type, NULL, NULL, NULL);
	DWORD e = GetLastError();
	if (h != w->h && !w->self)
		CloseHandle(h);
	if (!ok) {
		vm_seterr("MiniDumpWriteDump of process %lu failed (error 0x%lx)", (unsigned long)w->pid, (unsigned long)e);
		return -1;
	}
	return 0;
}
