/* The processes of this Windows machine (vmatlas ps): Toolhelp32 for the
 * list, each one's image path, bitness and owner where it can be opened. */
#include "win.h"

#include <stdlib.h>
#include <string.h>
#include <tlhelp32.h>

#include "base/util.h"
#include "vmatlas/error.h"

char *win_utf8(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	if (n <= 0)
		return xstrdup("?");
	char *s = xmalloc((size_t)n);
	WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
	return s;
}

static char *owner(HANDLE h)
{
	HANDLE tok;
	if (!OpenProcessToken(h, TOKEN_QUERY, &tok))
		return NULL;
	union {
		TOKEN_USER tu;
		uint8_t buf[256];
	} u;
	DWORD len = 0;
	char *out = NULL;
	if (GetTokenInformation(tok, TokenUser, &u, sizeof u, &len)) {
		wchar_t name[256], dom[256];
		DWORD nl = ARRAY_LEN(name), dl = ARRAY_LEN(dom);
		SID_NAME_USE use;
		if (LookupAccountSidW(NULL, u.tu.User.Sid, name, &nl, dom, &dl, &use)) {
			char *a = win_utf8(dom), *b = win_utf8(name);
			out = *a ? xasprintf("%s\\%s", a, b) : xstrdup(b);
			free(a);
			free(b);
		}
	}
	CloseHandle(tok);
	return out;
}

int win_processes(vm_process **out, size_t *n)
{
	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
	if (snap == INVALID_HANDLE_VALUE) {
		vm_seterr("cannot list processes (error %lu)", (unsigned long)GetLastError());
		return -1;
	}
	SYSTEM_INFO si;
	GetNativeSystemInfo(&si);
	bool x64 = si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_AMD64;
	vm_process *v = NULL;
	size_t k = 0, cap = 0;
	PROCESSENTRY32W pe;
	pe.dwSize = sizeof pe;
	for (BOOL ok = Process32FirstW(snap, &pe); ok; ok = Process32NextW(snap, &pe)) {
		if (pe.th32ProcessID == 0)
			continue; /* the idle process: not one to open */
		vm_process *p = ARRAY_PUSH(v, k, cap);
		memset(p, 0, sizeof *p);
		p->pid = pe.th32ProcessID;
		p->ppid = pe.th32ParentProcessID;
		p->name = win_utf8(pe.szExeFile);
		HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pe.th32ProcessID);
		if (!h)
			continue;
		wchar_t path[MAX_PATH * 2];
		DWORD len = ARRAY_LEN(path);
		if (QueryFullProcessImageNameW(h, 0, path, &len) && len)
			p->exe = win_utf8(path);
		BOOL wow = FALSE;
		if (IsWow64Process(h, &wow))
			p->bits = x64 && !wow ? 64 : 32;
		p->user = owner(h);
		CloseHandle(h);
	}
	CloseHandle(snap);
	*out = v;
	*n = k;
	return 0;
}
