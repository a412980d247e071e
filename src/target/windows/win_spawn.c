/* '-- PROGRAM ARGS' on Windows: the program started under the debug API
 * (DEBUG_ONLY_THIS_PROCESS) and held at the loader's initial breakpoint,
 * where every statically imported DLL is loaded and the entry point has
 * not run; the whole process is frozen while that debug event is pending,
 * and the map is read then. With --run MS it is let go and runs MS ms
 * first. On close it is killed, or with --keep detached and left running
 * (DebugActiveProcessStop). */
#include "win.h"

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "vmatlas/error.h"

#define EVENT_WAIT_MS 60000

/* the one spawned program a signal handler may have to kill */
static volatile HANDLE g_child;

void win_spawn_release_all(void)
{
	HANDLE h = g_child;
	if (h)
		TerminateProcess(h, 1);
}

static wchar_t *wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	wchar_t *w = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *w);
	if (n <= 0 || !MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n))
		w[0] = 0;
	return w;
}

/* one argument as the C runtime splits a command line back: quoted when
 * it has blanks or quotes, backslashes doubled before a quote */
static void quote_arg(strbuf *sb, const char *a)
{
	if (*a && !strpbrk(a, " \t\"")) {
		sb_printf(sb, "%s", a);
		return;
	}
	sb_printf(sb, "\"");
	for (const char *p = a;; p++) {
		size_t bs = 0;
		while (*p == '\\') {
			bs++;
			p++;
		}
		if (!*p) {
			for (size_t i = 0; i < 2 * bs; i++)
				sb_printf(sb, "\\");
			break;
		}
		for (size_t i = 0; i < (*p == '"' ? 2 * bs + 1 : bs); i++)
			sb_printf(sb, "\\");
		sb_printf(sb, "%c", *p);
	}
	sb_printf(sb, "\"");
}

static void close_event_handles(const DEBUG_EVENT *ev)
{
	if (ev->dwDebugEventCode == CREATE_PROCESS_DEBUG_EVENT && ev->u.CreateProcessInfo.hFile)
		CloseHandle(ev->u.CreateProcessInfo.hFile);
	if (ev->dwDebugEventCode == LOAD_DLL_DEBUG_EVENT && ev->u.LoadDll.hFile)
		CloseHandle(ev->u.LoadDll.hFile);
}

#define WX86_BREAKPOINT 0x4000001Fu

/* run the debuggee to its loader breakpoint; *held is the pending event.
 * A WoW64 program under the 64-bit build meets two on Windows: the 64-bit
 * ntdll's (above 4 GiB, its 32-bit DLLs not loaded yet) and then its
 * 32-bit ntdll's (STATUS_WX86_BREAKPOINT); Wine 8 gives only the second,
 * as a plain breakpoint */
static bool to_loader_breakpoint(DWORD pid, HANDLE proc, const char *prog, DEBUG_EVENT *held)
{
	BOOL wow = FALSE;
	bool wow64 = sizeof(void *) == 8 && IsWow64Process(proc, &wow) && wow;
	for (;;) {
		DEBUG_EVENT ev;
		if (!WaitForDebugEvent(&ev, EVENT_WAIT_MS)) {
			vm_seterr("%s did not reach its loader breakpoint within %d s", prog, EVENT_WAIT_MS / 1000);
			return false;
		}
		close_event_handles(&ev);
		DWORD status = DBG_CONTINUE;
		if (ev.dwProcessId == pid && ev.dwDebugEventCode == EXCEPTION_DEBUG_EVENT) {
			const EXCEPTION_RECORD *r = &ev.u.Exception.ExceptionRecord;
			uint64_t at = (uint64_t)(uintptr_t)r->ExceptionAddress;
			bool bp = r->ExceptionCode == EXCEPTION_BREAKPOINT || r->ExceptionCode == WX86_BREAKPOINT;
			if (bp && !(wow64 && at >> 32)) {
				*held = ev;
				return true;
			}
			status = bp ? DBG_CONTINUE : DBG_EXCEPTION_NOT_HANDLED;
		}
		if (ev.dwProcessId == pid && ev.dwDebugEventCode == EXIT_PROCESS_DEBUG_EVENT) {
			ContinueDebugEvent(ev.dwProcessId, ev.dwThreadId, DBG_CONTINUE);
			vm_seterr("%s exited (status %lu) before its loader breakpoint", prog,
				  (unsigned long)ev.u.ExitProcess.dwExitCode);
			return false;
		}
		ContinueDebugEvent(ev.dwProcessId, ev.dwThreadId, status);
	}
}

/* let the held debuggee go: detached, running on its own */
static void let_go(win_target *w)
{
	if (!w->held)
		return;
	ContinueDebugEvent(w->held_pid, w->held_tid, DBG_CONTINUE);
	DebugSetProcessKillOnExit(FALSE);
	DebugActiveProcessStop(w->pid);
	w->held = false;
}

void win_spawn_close(win_target *w)
{
	if (!w->spawned)
		return;
	if (!w->keep)
		TerminateProcess(w->child, 1);
	let_go(w);
	if (!w->keep)
		WaitForSingleObject(w->child, 5000);
	g_child = NULL;
	CloseHandle(w->child);
}

vm_target *win_spawn(char *const argv[], const vm_spawn_options *o)
{
	strbuf sb = STRBUF_INIT;
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			sb_printf(&sb, " ");
		quote_arg(&sb, argv[i]);
	}
	wchar_t *cmd = wide(sb_str(&sb));
	sb_free(&sb);
	STARTUPINFOW si;
	memset(&si, 0, sizeof si);
	si.cb = sizeof si;
	HANDLE nul = INVALID_HANDLE_VALUE;
	if (o->quiet) {
		SECURITY_ATTRIBUTES sa = { sizeof sa, NULL, TRUE };
		nul = CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
		si.dwFlags = STARTF_USESTDHANDLES;
		si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
		si.hStdOutput = si.hStdError = nul;
	}
	PROCESS_INFORMATION pi;
	BOOL ok = CreateProcessW(NULL, cmd, NULL, NULL, o->quiet, DEBUG_ONLY_THIS_PROCESS, NULL, NULL, &si, &pi);
	DWORD err = GetLastError();
	free(cmd);
	if (nul != INVALID_HANDLE_VALUE)
		CloseHandle(nul);
	if (!ok) {
		/* Windows lets no 32-bit process debug a 64-bit one (Wine does:
		 * win_open_pid refuses it then) */
		if (err == ERROR_NOT_SUPPORTED && sizeof(void *) == 4)
			vm_seterr("cannot start %s: a 64-bit program, which the 32-bit build of vmatlas cannot "
				  "read whole (use the 64-bit vmatlas.exe)",
				  argv[0]);
		else
			vm_seterr("cannot start %s (error %lu)", argv[0], (unsigned long)err);
		return NULL;
	}
	CloseHandle(pi.hThread);
	g_child = pi.hProcess;
	DEBUG_EVENT held;
	if (!to_loader_breakpoint(pi.dwProcessId, pi.hProcess, argv[0], &held)) {
		TerminateProcess(pi.hProcess, 1);
		DebugActiveProcessStop(pi.dwProcessId);
		CloseHandle(pi.hProcess);
		g_child = NULL;
		return NULL;
	}
	vm_target *t = win_open_pid(pi.dwProcessId, false);
	if (!t) {
		char *e = xstrdup(vm_error());
		ContinueDebugEvent(held.dwProcessId, held.dwThreadId, DBG_CONTINUE);
		TerminateProcess(pi.hProcess, 1);
		DebugActiveProcessStop(pi.dwProcessId);
		WaitForSingleObject(pi.hProcess, 5000); /* gone when we are */
		CloseHandle(pi.hProcess);
		g_child = NULL;
		vm_seterr("%s", e);
		free(e);
		return NULL;
	}
	win_target *w = WT(t);
	w->spawned = true;
	w->keep = o->keep;
	w->held = true;
	w->held_pid = held.dwProcessId;
	w->held_tid = held.dwThreadId;
	w->child = pi.hProcess;
	if (o->run_ms) {
		let_go(w);
		Sleep(o->run_ms);
		DWORD code;
		if (GetExitCodeProcess(w->child, &code) && code != STILL_ACTIVE) {
			w->keep = true; /* nothing left to kill */
			vm_target_close(t);
			vm_seterr("%s exited within %u ms", argv[0], o->run_ms);
			return NULL;
		}
	}
	return t;
}
