/* The scheduler's view of one process's threads: each thread's state and
 * wait reason from NtQuerySystemInformation(SystemProcessInformation), as
 * the letters of Linux's /proc (R running or ready, S waiting, D waiting
 * for a page to come in, T suspended, X terminated). */
#include "win.h"

#include <stdlib.h>
#include <string.h>
#include <winternl.h>

#include "base/util.h"

#define SYSTEM_PROCESS_INFO 5
#define LIST_MAX (64u << 20) /* a system with tens of thousands of threads */

/* KTHREAD_STATE and KWAIT_REASON as ntdll numbers them */
static char letter(ULONG state, ULONG wait)
{
	switch (state) {
	case 1: /* Ready */
	case 2: /* Running */
	case 3: /* Standby */
	case 7: /* DeferredReady */
		return 'R';
	case 4: /* Terminated */
		return 'X';
	case 5: /* Waiting */
	case 6: /* Transition: its kernel stack paged out */
		if (wait == 5 || wait == 12) /* Suspended, WrSuspended */
			return 'T';
		if (wait == 2 || wait == 9) /* PageIn, WrPageIn */
			return 'D';
		return 'S';
	default: /* Initialized (not started yet; Wine 8 gives it for every thread) */
		return '?';
	}
}

size_t win_thread_states(DWORD pid, win_thread_state **out)
{
	*out = NULL;
	ULONG len = 0;
	LONG status;
	unsigned char *buf = win_system_info(SYSTEM_PROCESS_INFO, 1u << 18, LIST_MAX, &len, &status);
	if (!buf)
		return 0;
	size_t n = 0;
	for (ULONG off = 0; len >= sizeof(SYSTEM_PROCESS_INFORMATION) && off <= len - sizeof(SYSTEM_PROCESS_INFORMATION);) {
		const SYSTEM_PROCESS_INFORMATION *p = (const void *)(buf + off);
		ULONG room = len - off - (ULONG)sizeof *p;
		if ((DWORD)(ULONG_PTR)p->UniqueProcessId == pid &&
		    p->NumberOfThreads <= room / sizeof(SYSTEM_THREAD_INFORMATION)) {
			const SYSTEM_THREAD_INFORMATION *t = (const void *)(p + 1);
			*out = xcalloc(p->NumberOfThreads ? p->NumberOfThreads : 1, sizeof **out);
			for (ULONG i = 0; i < p->NumberOfThreads; i++)
				(*out)[n++] = (win_thread_state){ (DWORD)(ULONG_PTR)t[i].ClientId.UniqueThread,
								  letter(t[i].ThreadState, t[i].WaitReason) };
			break;
		}
		if (!p->NextEntryOffset || p->NextEntryOffset > len - off ||
		    p->NextEntryOffset % sizeof(LARGE_INTEGER))
			break;
		off += p->NextEntryOffset;
	}
	free(buf);
	return n;
}
