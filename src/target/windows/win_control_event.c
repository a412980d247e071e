/* The debug events of a controlled Windows process as vm_events: the one
 * reported is held (the process frozen) until resume or step continues
 * it. Debug strings and the break-in threads of
 * DebugBreakProcess (ours, and the attach's) are continued unseen.
 * Exceptions become signals with their Linux meaning (the NTSTATUS code
 * and the access kind are kept in the event). */
#include "wctl.h"

#include <signal.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define WX86_BREAKPOINT  0x4000001Fu
#define WX86_SINGLE_STEP 0x4000001Eu
#define DBG_CTRL_C       0x40010005u
#define DBG_CTRL_BREAK   0x40010008u
#define CTRL_C_EXIT      0xC000013Au
#define FAST_FAIL        0xC0000409u

static bool is_breaker(const win_control *c, DWORD tid)
{
	for (size_t i = 0; i < c->nbreakers; i++)
		if (c->breakers[i] == tid)
			return true;
	return false;
}

static void drop_breaker(win_control *c, DWORD tid)
{
	for (size_t i = 0; i < c->nbreakers; i++)
		if (c->breakers[i] == tid) {
			c->breakers[i] = c->breakers[--c->nbreakers];
			return;
		}
}

/* an exception's signal and si_code, as Linux would raise it */
static void to_signal(uint32_t code, int *sig, int *si)
{
	*si = 0;
	switch (code) {
	case EXCEPTION_ACCESS_VIOLATION:
	case EXCEPTION_GUARD_PAGE:
	case EXCEPTION_STACK_OVERFLOW: *sig = SIGSEGV; *si = SEGV_ACCERR; return;
	case EXCEPTION_IN_PAGE_ERROR: *sig = SIGBUS; *si = BUS_OBJERR; return;
	case EXCEPTION_DATATYPE_MISALIGNMENT: *sig = SIGBUS; *si = BUS_ADRALN; return;
	case EXCEPTION_ILLEGAL_INSTRUCTION: *sig = SIGILL; *si = ILL_ILLOPC; return;
	case EXCEPTION_PRIV_INSTRUCTION: *sig = SIGILL; *si = ILL_PRVOPC; return;
	case EXCEPTION_INT_DIVIDE_BY_ZERO: *sig = SIGFPE; *si = FPE_INTDIV; return;
	case EXCEPTION_INT_OVERFLOW: *sig = SIGFPE; *si = FPE_INTOVF; return;
	case EXCEPTION_FLT_DIVIDE_BY_ZERO: *sig = SIGFPE; *si = FPE_FLTDIV; return;
	case EXCEPTION_FLT_DENORMAL_OPERAND:
	case EXCEPTION_FLT_INEXACT_RESULT:
	case EXCEPTION_FLT_INVALID_OPERATION:
	case EXCEPTION_FLT_OVERFLOW:
	case EXCEPTION_FLT_STACK_CHECK:
	case EXCEPTION_FLT_UNDERFLOW: *sig = SIGFPE; return;
	case FAST_FAIL: *sig = SIGABRT; return;
	case DBG_CTRL_C:
	case DBG_CTRL_BREAK:
	case CTRL_C_EXIT: *sig = SIGINT; return;
	default: *sig = SIGEXC; return; /* no POSIX meaning: the code says it */
	}
}

/* x86 debug status when the OS left DR6 empty: the enabled execute
 * breakpoints at pc, else the enabled data ones */
static uint64_t infer_dr6(const wc_ctx *x)
{
	uint64_t dr7 = wc_ctx_dr(x, 7), pc = wc_ctx_pc(x);
	uint64_t hit = 0, data = 0;
	for (int i = 0; i < 4; i++) {
		if (!(dr7 & VM_DR7_ENABLE(i)))
			continue;
		if (((dr7 >> (16 + i * 4)) & 3) == VM_DR_RW_EXEC) {
			if (wc_ctx_dr(x, i) == pc)
				hit |= VM_DR6_HIT(i);
		} else {
			data |= VM_DR6_HIT(i);
		}
	}
	return hit ? hit : data;
}

static void on_step(win_control *c, DWORD tid, vm_event *out)
{
	bool stepping = c->stepping == tid;
	wc_ctx x;
	uint64_t dr6 = 0;
	if (wc_get_context(c, tid, &x, WC_CONTROL | WC_DEBUG) == 0) {
		uint64_t os_dr6 = wc_ctx_dr(&x, 6);
		dr6 = os_dr6 & 0xf;
		if (!dr6 && c->dr_used && !(stepping && !(os_dr6 & VM_DR6_BS)))
			dr6 = stepping ? 0 : infer_dr6(&x);
		if (stepping)
			dr6 |= VM_DR6_BS;
		if (os_dr6) {
			wc_ctx_set_dr(&x, 6, 0);
			wc_set_context(c, tid, &x);
		}
		out->addr = wc_ctx_pc(&x);
	}
	out->dr6 = dr6;
	out->kind = (dr6 & 0xf) ? VM_EV_WATCH : VM_EV_STEP;
}

/* An int3 has run: reported as on Linux, rip just past it. One of ours
 * already taken out again (the thread met it before the event of another
 * thread was handled; the debug API hands the events over one at a time)
 * is not news: the thread runs the original instruction. */
static void on_breakpoint(win_control *c, DWORD tid, uint64_t addr, vm_event *out, bool *news)
{
	wc_ctx x;
	bool gone = wc_int3_gone(c, addr);
	if (wc_get_context(c, tid, &x, WC_CONTROL) == 0 && wc_ctx_pc(&x) == (gone ? addr + 1 : addr)) {
		wc_ctx_set_pc(&x, gone ? addr : addr + 1);
		wc_set_context(c, tid, &x);
	}
	if (gone) {
		*news = false;
		return;
	}
	out->kind = VM_EV_BREAKPOINT;
	out->addr = addr;
}

static void on_exception(win_control *c, const DEBUG_EVENT *ev, vm_event *out, bool *news)
{
	const EXCEPTION_RECORD *r = &ev->u.Exception.ExceptionRecord;
	uint32_t code = (uint32_t)r->ExceptionCode;
	uint64_t at = (uint64_t)(uintptr_t)r->ExceptionAddress;
	DWORD tid = ev->dwThreadId;
	out->exception = code;
	if (code == EXCEPTION_BREAKPOINT || code == WX86_BREAKPOINT) {
		if (is_breaker(c, tid) || !wc_find(c, tid)) {
			/* a DebugBreakProcess thread: our stop, or an interrupt */
			if (c->breaks_due) {
				c->breaks_due--;
				*news = false;
				return;
			}
			out->kind = VM_EV_SIGNAL;
			out->signal = SIGSTOP;
			out->tid = c->nth ? c->th[0].tid : tid;
			return;
		}
		on_breakpoint(c, tid, at, out, news);
		return;
	}
	if (code == EXCEPTION_SINGLE_STEP || code == WX86_SINGLE_STEP) {
		on_step(c, tid, out);
		return;
	}
	out->kind = VM_EV_SIGNAL;
	to_signal(code, &out->signal, &out->code);
	out->addr = at;
	if ((code == EXCEPTION_ACCESS_VIOLATION || code == EXCEPTION_GUARD_PAGE || code == EXCEPTION_IN_PAGE_ERROR) &&
	    r->NumberParameters >= 2) {
		/* [0]: 0 read, 1 write, 8 execute (DEP); [1]: the address */
		ULONG_PTR kind = r->ExceptionInformation[0];
		out->access = kind == 1 ? VM_PROT_WRITE : kind == 8 ? VM_PROT_EXEC : VM_PROT_READ;
		out->addr = r->ExceptionInformation[1];
		MEMORY_BASIC_INFORMATION mbi;
		if (code == EXCEPTION_ACCESS_VIOLATION &&
		    (!VirtualQueryEx(c->h, (LPCVOID)(uintptr_t)out->addr, &mbi, sizeof mbi) || mbi.State != MEM_COMMIT))
			out->code = SEGV_MAPERR;
	}
	c->pass = true; /* the program's own: its handlers see it unless discarded */
}

/* a DLL loaded: its range kept (SizeOfImage from its PE header) */
static void dll_loaded(win_control *c, uint64_t base)
{
	uint32_t lfanew = 0, size = 0;
	SIZE_T got;
	if (!ReadProcessMemory(c->h, (LPCVOID)(uintptr_t)(base + 0x3c), &lfanew, 4, &got) || lfanew > 0x10000000 ||
	    !ReadProcessMemory(c->h, (LPCVOID)(uintptr_t)(base + lfanew + 0x50), &size, 4, &got) || !size)
		return;
	if (c->ndlls < ARRAY_LEN(c->dlls)) {
		c->dlls[c->ndlls].base = base;
		c->dlls[c->ndlls++].size = size;
	}
}

/* a DLL unloaded: what we changed in it is gone with it */
static void dll_unloaded(win_control *c, uint64_t base)
{
	for (size_t i = 0; i < c->ndlls; i++)
		if (c->dlls[i].base == base) {
			wc_forget_range(c, base, c->dlls[i].size);
			c->dlls[i] = c->dlls[--c->ndlls];
			return;
		}
}

/* one debug event of ours: *news false for the ones only a stop makes */
static bool decode(win_control *c, DEBUG_EVENT *ev, vm_event *out, bool *news)
{
	memset(out, 0, sizeof *out);
	out->tid = ev->dwThreadId;
	*news = true;
	switch (ev->dwDebugEventCode) {
	case CREATE_PROCESS_DEBUG_EVENT:
		if (ev->u.CreateProcessInfo.hFile)
			CloseHandle(ev->u.CreateProcessInfo.hFile);
		wc_add_thread(c, ev->dwThreadId); /* the main thread first */
		return false;
	case LOAD_DLL_DEBUG_EVENT:
		if (ev->u.LoadDll.hFile)
			CloseHandle(ev->u.LoadDll.hFile);
		dll_loaded(c, (uint64_t)(uintptr_t)ev->u.LoadDll.lpBaseOfDll);
		out->kind = VM_EV_MODULES;
		return true;
	case UNLOAD_DLL_DEBUG_EVENT:
		dll_unloaded(c, (uint64_t)(uintptr_t)ev->u.UnloadDll.lpBaseOfDll);
		out->kind = VM_EV_MODULES;
		return true;
	case CREATE_THREAD_DEBUG_EVENT: {
		uint64_t start = (uint64_t)(uintptr_t)ev->u.CreateThread.lpStartAddress;
		if (wc_is_breakin_start(c, start)) {
			if (c->nbreakers < ARRAY_LEN(c->breakers))
				c->breakers[c->nbreakers++] = ev->dwThreadId;
			return false;
		}
		if (!wc_add_thread(c, ev->dwThreadId))
			return false; /* cannot be controlled: not ours to report */
		out->kind = VM_EV_THREAD_START;
		return true;
	}
	case EXIT_THREAD_DEBUG_EVENT:
		if (is_breaker(c, ev->dwThreadId) || !wc_find(c, ev->dwThreadId)) {
			drop_breaker(c, ev->dwThreadId);
			return false;
		}
		if (c->stepping == ev->dwThreadId)
			c->stepping = 0;
		wc_remove_thread(c, ev->dwThreadId);
		out->kind = VM_EV_THREAD_EXIT;
		return true;
	case EXIT_PROCESS_DEBUG_EVENT:
		c->exited = true;
		c->stepping = 0;
		out->kind = VM_EV_EXIT;
		out->code = (int)ev->u.ExitProcess.dwExitCode;
		return true;
	case EXCEPTION_DEBUG_EVENT:
		on_exception(c, ev, out, news);
		return true;
	default: /* OUTPUT_DEBUG_STRING, RIP */
		return false;
	}
}

int wc_next(win_control *c, DWORD ms, vm_event *out, bool *news)
{
	ULONGLONG end = ms == INFINITE ? 0 : GetTickCount64() + ms;
	for (;;) {
		DWORD left = INFINITE;
		if (ms != INFINITE) {
			ULONGLONG now = GetTickCount64();
			left = now >= end ? 0 : (DWORD)(end - now);
		}
		DEBUG_EVENT ev;
		if (!WaitForDebugEvent(&ev, left)) {
			DWORD e = GetLastError();
			if (e == ERROR_SEM_TIMEOUT || e == WAIT_TIMEOUT)
				return 0;
			vm_seterr("waiting for process %lu (error %lu)", (unsigned long)c->pid, (unsigned long)e);
			return -1;
		}
		if (ev.dwProcessId != c->pid) {
			ContinueDebugEvent(ev.dwProcessId, ev.dwThreadId, DBG_CONTINUE);
			continue;
		}
		c->held = true;
		c->pass = false;
		c->ev = ev;
		if (decode(c, &ev, out, news)) {
			wc_step_done(c);
			return 1;
		}
		if (wc_continue(c) < 0)
			return -1;
	}
}

int wc_wait(vm_control *vc, int timeout_ms, vm_event *ev)
{
	win_control *c = WC(vc);
	if (c->pending) {
		c->pending = false;
		*ev = c->pending_ev;
		return 0;
	}
	if (c->held || c->exited) {
		vm_seterr(c->exited ? "process %lu has exited" : "no thread of process %lu is running",
			  (unsigned long)c->pid);
		return -1;
	}
	ULONGLONG end = timeout_ms < 0 ? 0 : GetTickCount64() + (ULONGLONG)timeout_ms;
	for (;;) {
		DWORD ms = INFINITE;
		if (timeout_ms >= 0) {
			ULONGLONG now = GetTickCount64();
			ms = now >= end ? 0 : (DWORD)(end - now);
		}
		bool news;
		int rc = wc_next(c, ms, ev, &news);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			memset(ev, 0, sizeof *ev);
			ev->kind = VM_EV_NONE;
			return 0;
		}
		if (news)
			return 0;
		if (wc_continue(c) < 0) /* a stop's break-in come late */
			return -1;
	}
}
