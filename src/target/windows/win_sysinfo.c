/* NtQuerySystemInformation for the lists that grow while they are asked
 * for (the handle table, the process list): the buffer grown to what the
 * system says it needs, bounded. */
#include "win.h"

#include <stdlib.h>

#include "base/util.h"

#define STATUS_INFO_LENGTH_MISMATCH ((LONG)0xC0000004)
#define STATUS_NOT_IMPLEMENTED ((LONG)0xC0000002)

typedef LONG(NTAPI *query_system_fn)(ULONG, PVOID, ULONG, PULONG);

void *win_system_info(ULONG cls, ULONG first, ULONG max, ULONG *len, LONG *status)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	query_system_fn qs =
		ntdll ? (query_system_fn)(void (*)(void))GetProcAddress(ntdll, "NtQuerySystemInformation") : NULL;
	*status = STATUS_NOT_IMPLEMENTED;
	if (!qs)
		return NULL;
	ULONG cap = first, need = 0;
	for (;;) {
		void *buf = xmalloc(cap);
		*status = qs(cls, buf, cap, &need);
		if (*status >= 0) {
			*len = cap;
			return buf;
		}
		free(buf);
		if (*status != STATUS_INFO_LENGTH_MISMATCH || cap >= max)
			return NULL;
		/* it grows between two calls: ask for more than it said */
		cap = need > cap && need < max - (1u << 16) ? need + (1u << 16) : cap > max / 2 ? max : cap * 2;
	}
}
