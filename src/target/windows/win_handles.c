/* The open handles of a live Windows process: the system's handle table
 * (NtQuerySystemInformation, SystemExtendedHandleInformation) filtered by
 * PID; each handle duplicated into vmatlas to ask its type and, for the
 * types whose name query cannot block (not files, pipes or sockets), its
 * name (NtQueryObject). */
#include "win.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

typedef struct {
	PVOID object;
	ULONG_PTR pid, handle;
	ULONG access;
	USHORT backtrace, type_index;
	ULONG attributes, reserved;
} handle_entry;

typedef struct {
	ULONG_PTR count, reserved;
	handle_entry h[];
} handle_table;

typedef struct {
	USHORT len, max;
	PWSTR s;
} ustring;

typedef LONG(NTAPI *query_object_fn)(HANDLE, ULONG, PVOID, ULONG, PULONG);

#define SYSTEM_EXTENDED_HANDLE_INFORMATION 64
#define OBJECT_NAME_INFORMATION 1
#define OBJECT_TYPE_INFORMATION 2
#define TABLE_MAX (256u << 20)

static char *ustr(const ustring *u)
{
	if (!u->s || !u->len)
		return NULL;
	size_t n = u->len / sizeof(wchar_t);
	wchar_t *w = xmalloc((n + 1) * sizeof *w);
	memcpy(w, u->s, n * sizeof *w);
	w[n] = 0;
	char *s = win_utf8(w);
	free(w);
	return s;
}

static char *query_string(query_object_fn q, HANDLE h, ULONG what)
{
	union {
		ustring u;
		uint8_t b[4096];
	} buf;
	ULONG len = 0;
	memset(&buf, 0, sizeof buf);
	if (q(h, what, &buf, sizeof buf - sizeof(wchar_t), &len) < 0)
		return NULL;
	if ((uint8_t *)buf.u.s < buf.b || buf.u.len > sizeof buf - ((uint8_t *)buf.u.s - buf.b))
		return NULL; /* not inside what was returned */
	return ustr(&buf.u);
}

/* names that a query answers at once (a file or pipe name query can wait
 * on the I/O system forever) */
static bool name_is_safe(const char *type)
{
	static const char *const safe[] = { "Event", "Mutant", "Semaphore", "Section", "Key", "Directory",
					    "SymbolicLink", "Job", "Timer", "WindowStation", "Desktop",
					    "ALPC Port", "Token" };
	for (size_t i = 0; type && i < ARRAY_LEN(safe); i++)
		if (!strcmp(type, safe[i]))
			return true;
	return false;
}

int win_handles(vm_target *t, vm_win_handle **out, size_t *n)
{
	win_target *w = WT(t);
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	query_object_fn qo = ntdll ? (query_object_fn)(void (*)(void))GetProcAddress(ntdll, "NtQueryObject") : NULL;
	if (!qo) {
		vm_seterr("no NtQueryObject here");
		return -1;
	}
	ULONG cap = 0;
	LONG st;
	handle_table *tab = win_system_info(SYSTEM_EXTENDED_HANDLE_INFORMATION, 1u << 16, TABLE_MAX, &cap, &st);
	if (!tab || cap < sizeof *tab || tab->count > (cap - sizeof *tab) / sizeof tab->h[0]) {
		free(tab);
		vm_seterr("the system's handle table cannot be read (status 0x%lx)", (unsigned long)st);
		return -1;
	}
	HANDLE dup_from = w->self ? GetCurrentProcess() : OpenProcess(PROCESS_DUP_HANDLE, FALSE, w->pid);
	vm_win_handle *v = NULL;
	size_t k = 0, vcap = 0;
	for (ULONG_PTR i = 0; i < tab->count; i++) {
		const handle_entry *e = &tab->h[i];
		if (e->pid != w->pid)
			continue;
		vm_win_handle *x = ARRAY_PUSH(v, k, vcap);
		memset(x, 0, sizeof *x);
		x->handle = e->handle;
		x->attributes = e->attributes;
		x->granted_access = e->access;
		HANDLE mine = NULL;
		if (dup_from && DuplicateHandle(dup_from, (HANDLE)e->handle, GetCurrentProcess(), &mine, 0, FALSE,
						DUPLICATE_SAME_ACCESS)) {
			x->type = query_string(qo, mine, OBJECT_TYPE_INFORMATION);
			if (name_is_safe(x->type))
				x->name = query_string(qo, mine, OBJECT_NAME_INFORMATION);
			CloseHandle(mine);
		}
	}
	if (dup_from && !w->self)
		CloseHandle(dup_from);
	free(tab);
	*out = v;
	*n = k;
	return 0;
}
