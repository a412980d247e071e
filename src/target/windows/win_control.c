/* Execution control of a live Windows process (vmatlas/control.h) on the
 * Win32 debug API: attached with DebugActiveProcess (or the program '--'
 * started, taken over at its loader breakpoint), all-stop because a held
 * debug event freezes the whole process, stepped by the trap flag with
 * the other threads suspended, let go with DebugActiveProcessStop after
 * every int3 byte, page protection and debug register is put back.
 * Events are decoded in win_control_event.c, registers and memory in
 * win_control_regs.c and win_control_mem.c.
 * A 32-bit debuggee (WoW64 under the 64-bit build, or any under the
 * 32-bit build) has its i386 context (WOW64_CONTEXT, the 32-bit build's
 * CONTEXT), its registers in the low halves of vm_regs as Linux's ptrace
 * gives them; the 32-bit build cannot debug a 64-bit process. */
#include "wctl.h"

#include <stdlib.h>
#include <string.h>
#include <tlhelp32.h>

#include "base/util.h"
#include "vmatlas/error.h"

/* the 32-bit build on a 64-bit process too: win_control_open's refusal
 * names the build that can */
bool win_can_control(const win_target *w)
{
	return !w->self;
}

#define ATTACH_WAIT_MS 10000

/* the one handle a console control handler may have to let go of */
static win_control *volatile g_ctl;

wc_thread *wc_find(win_control *c, DWORD tid)
{
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].tid == tid)
			return &c->th[i];
	return NULL;
}

wc_thread *wc_add_thread(win_control *c, DWORD tid)
{
	wc_thread *t = wc_find(c, tid);
	if (t)
		return t;
	HANDLE h = OpenThread(THREAD_ALL_ACCESS, FALSE, tid);
	if (!h)
		return NULL;
	t = ARRAY_PUSH(c->th, c->nth, c->cap);
	memset(t, 0, sizeof *t);
	t->tid = tid;
	t->h = h;
	return t;
}

void wc_remove_thread(win_control *c, DWORD tid)
{
	wc_thread *t = wc_find(c, tid);
	if (!t)
		return;
	CloseHandle(t->h);
	size_t i = (size_t)(t - c->th);
	memmove(&c->th[i], &c->th[i + 1], (c->nth - i - 1) * sizeof *c->th);
	c->nth--;
}

static void resume_suspended(win_control *c)
{
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].suspended) {
			ResumeThread(c->th[i].h);
			c->th[i].suspended = false;
		}
}

int wc_continue(win_control *c)
{
	if (!c->held)
		return 0;
	DWORD status = c->pass ? DBG_EXCEPTION_NOT_HANDLED : DBG_CONTINUE;
	c->held = false;
	c->pass = false;
	if (!ContinueDebugEvent(c->ev.dwProcessId, c->ev.dwThreadId, status)) {
		vm_seterr("cannot continue process %lu (error %lu)", (unsigned long)c->pid,
			  (unsigned long)GetLastError());
		return -1;
	}
	return 0;
}

static int ctl_threads(vm_control *vc, int64_t **tids, size_t *n)
{
	win_control *c = WC(vc);
	int64_t *v = xcalloc(c->nth ? c->nth : 1, sizeof *v);
	for (size_t i = 0; i < c->nth; i++)
		v[i] = c->th[i].tid;
	*tids = v;
	*n = c->nth;
	return 0;
}

/* every thread Toolhelp32 lists that is not a break-in thread */
static void add_all_threads(win_control *c)
{
	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
	if (snap == INVALID_HANDLE_VALUE)
		return;
	THREADENTRY32 te;
	te.dwSize = sizeof te;
	for (BOOL ok = Thread32First(snap, &te); ok; ok = Thread32Next(snap, &te)) {
		if (te.th32OwnerProcessID != c->pid)
			continue;
		bool breaker = false;
		for (size_t i = 0; i < c->nbreakers; i++)
			breaker |= c->breakers[i] == te.th32ThreadID;
		if (!breaker)
			wc_add_thread(c, te.th32ThreadID);
	}
	CloseHandle(snap);
}

/* all-stop: a DebugBreakProcess thread's breakpoint freezes the process;
 * an event met first is held and reported by the next wait */
static int ctl_stop(vm_control *vc)
{
	win_control *c = WC(vc);
	if (c->held || c->exited)
		return 0;
	if (!DebugBreakProcess(c->h)) {
		vm_seterr("cannot break into process %lu (error %lu)", (unsigned long)c->pid,
			  (unsigned long)GetLastError());
		return -1;
	}
	c->breaks_due++;
	vm_event ev;
	bool news;
	int rc = wc_next(c, ATTACH_WAIT_MS, &ev, &news);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		vm_seterr("process %lu did not stop within %d s", (unsigned long)c->pid, ATTACH_WAIT_MS / 1000);
		return -1;
	}
	if (news) {
		c->pending = true;
		c->pending_ev = ev;
	}
	return 0;
}

static int ctl_resume(vm_control *vc)
{
	win_control *c = WC(vc);
	if (c->pending)
		return 0; /* its event is reported first: stays frozen */
	return wc_continue(c);
}

/* one instruction of tid: TF set, every other thread suspended */
static int ctl_step(vm_control *vc, int64_t tid)
{
	win_control *c = WC(vc);
	wc_thread *t = tid > 0 && tid <= UINT32_MAX ? wc_find(c, (DWORD)tid) : NULL;
	if (!t || !c->held) {
		vm_seterr(t ? "thread %lld is running: stop it first" : "thread %lld is not one of process %lu",
			  (long long)tid, (unsigned long)c->pid);
		return -1;
	}
	if (c->pending) {
		vm_seterr("an event of process %lu waits to be reported", (unsigned long)c->pid);
		return -1;
	}
	wc_ctx ctx;
	if (wc_get_context(c, t->tid, &ctx, WC_CONTROL) < 0)
		return -1;
	*wc_ctx_eflags(&ctx) |= VM_RFLAGS_TF;
	if (wc_set_context(c, t->tid, &ctx) < 0)
		return -1;
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].tid != t->tid && !c->th[i].suspended && SuspendThread(c->th[i].h) != (DWORD)-1)
			c->th[i].suspended = true;
	c->stepping = t->tid;
	return wc_continue(c);
}

void wc_step_done(win_control *c)
{
	if (!c->stepping)
		return;
	wc_ctx ctx;
	if (wc_get_context(c, c->stepping, &ctx, WC_CONTROL) == 0 && (*wc_ctx_eflags(&ctx) & VM_RFLAGS_TF)) {
		*wc_ctx_eflags(&ctx) &= ~(DWORD)VM_RFLAGS_TF;
		wc_set_context(c, c->stepping, &ctx);
	}
	c->stepping = 0;
	resume_suspended(c);
}

static bool ctl_pending(vm_control *vc)
{
	return WC(vc)->pending;
}

static void ctl_discard_signal(vm_control *vc, int64_t tid)
{
	win_control *c = WC(vc);
	if (c->held && (int64_t)c->ev.dwThreadId == tid)
		c->pass = false;
	if (c->pending && c->pending_ev.tid == tid)
		c->pending_ev.signal = 0;
}

/* run the process on, every event continued, until it is gone */
static void drain_to_exit(win_control *c)
{
	for (int i = 0; i < 1000 && !c->exited; i++) {
		vm_event ev;
		bool news;
		c->pending = false;
		wc_continue(c);
		if (wc_next(c, 5000, &ev, &news) <= 0)
			break;
		c->pass = false;
	}
}

static int ctl_kill(vm_control *vc)
{
	win_control *c = WC(vc);
	if (c->exited)
		return 0;
	if (!TerminateProcess(c->h, 1)) {
		vm_seterr("cannot kill process %lu (error %lu)", (unsigned long)c->pid, (unsigned long)GetLastError());
		return -1;
	}
	resume_suspended(c);
	c->stepping = 0;
	drain_to_exit(c);
	return 0;
}

/* the break-in threads still due must meet us before we go: without a
 * debugger their int3 would kill the process */
static void drain_breaks(win_control *c)
{
	for (int i = 0; i < 100 && c->breaks_due && !c->exited; i++) {
		vm_event ev;
		bool news;
		wc_continue(c);
		int rc = wc_next(c, 2000, &ev, &news);
		if (rc <= 0)
			break;
		if (news && ev.kind == VM_EV_SIGNAL)
			c->pass = true; /* the program's own exception: its handlers see it */
	}
}

/* a break-in thread whose breakpoint was the held event must be seen
 * to its end before we go: under Wine 8 a 32-bit process whose break-in
 * thread's exit was still to be reported at the detach is left hung
 * (seen in test_windbg's Ctrl-C test, WoW64). Our bytes are out by now:
 * a thread that met one of them is rewound (wc_next), a signal passed on */
static void drain_breakers(win_control *c)
{
	for (int i = 0; i < 20 && c->nbreakers && !c->exited; i++) {
		vm_event ev;
		bool news;
		if (wc_continue(c) < 0 || wc_next(c, 500, &ev, &news) <= 0)
			break;
		if (news && ev.kind == VM_EV_SIGNAL)
			c->pass = true;
	}
}

/* leave the process as it was, running on its own */
static void let_go(win_control *c)
{
	if (c->exited) {
		wc_continue(c);
		return;
	}
	if (!c->held && ctl_stop(&c->base) < 0)
		vm_clearerr(); /* restore what can be restored anyway */
	wc_step_done(c);
	c->pending = false;
	drain_breaks(c);
	wc_restore(c);
	wc_clear_debugregs(c, false);
	drain_breakers(c);
	wc_continue(c);
	DebugSetProcessKillOnExit(FALSE);
	DebugActiveProcessStop(c->pid);
}

static void free_control(win_control *c)
{
	if (g_ctl == c)
		g_ctl = NULL;
	for (size_t i = 0; i < c->nth; i++)
		CloseHandle(c->th[i].h);
	free(c->th);
	free(c->saved);
	free(c->prots);
	if (c->h)
		CloseHandle(c->h);
	free(c);
}

static int ctl_close(vm_control *vc)
{
	win_control *c = WC(vc);
	let_go(c);
	free_control(c);
	return 0;
}

typedef HANDLE(NTAPI *get_dbgobj_fn)(void);
typedef void(NTAPI *set_dbgobj_fn)(HANDLE);

static void *ntdll_proc(const char *name)
{
	HMODULE nt = GetModuleHandleW(L"ntdll.dll");
	return nt ? (void *)(uintptr_t)GetProcAddress(nt, name) : NULL;
}

/* From a console control handler or a fatal signal, on any thread: put
 * back what we changed and detach, the held event continued. That
 * thread takes over the debug object (the debug API's calls use the
 * calling thread's). */
void win_control_release_all(void)
{
	win_control *c = g_ctl;
	if (!c)
		return;
	g_ctl = NULL;
	set_dbgobj_fn set = (set_dbgobj_fn)(uintptr_t)ntdll_proc("DbgUiSetThreadDebugObject");
	if (set && c->dbgobj)
		set(c->dbgobj);
	wc_restore(c);
	wc_clear_debugregs(c, !c->held);
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].suspended)
			ResumeThread(c->th[i].h);
	if (c->held)
		ContinueDebugEvent(c->ev.dwProcessId, c->ev.dwThreadId, DBG_CONTINUE);
	DebugSetProcessKillOnExit(FALSE);
	DebugActiveProcessStop(c->pid);
}

/* DebugActiveProcess, then every event up to the attach's break-in */
static int attach(win_control *c)
{
	if (!DebugActiveProcess(c->pid)) {
		DWORD e = GetLastError();
		vm_seterr(e == ERROR_ACCESS_DENIED ? "process %lu: access denied (is another debugger attached?)"
						   : "cannot debug process %lu (error %lu)",
			  (unsigned long)c->pid, (unsigned long)e);
		return -1;
	}
	DebugSetProcessKillOnExit(FALSE);
	c->breaks_due = 1;
	for (;;) {
		vm_event ev;
		bool news;
		int rc = wc_next(c, ATTACH_WAIT_MS, &ev, &news);
		if (rc <= 0) {
			if (rc == 0)
				vm_seterr("process %lu did not stop within %d s", (unsigned long)c->pid,
					  ATTACH_WAIT_MS / 1000);
			wc_continue(c);
			DebugActiveProcessStop(c->pid);
			return -1;
		}
		if (!news)
			return 0; /* the break-in: frozen */
		if (ev.kind == VM_EV_EXIT) {
			vm_seterr("process %lu exited as it was attached", (unsigned long)c->pid);
			DebugActiveProcessStop(c->pid);
			return -1;
		}
		if (ev.kind == VM_EV_SIGNAL)
			c->pass = true;
		wc_continue(c);
	}
}

static const struct vm_control_ops wc_ops = {
	.close = ctl_close,
	.threads = ctl_threads,
	.stop = ctl_stop,
	.resume = ctl_resume,
	.step = ctl_step,
	.wait = wc_wait,
	.discard_signal = ctl_discard_signal,
	.get_regs = wc_get_regs,
	.set_regs = wc_set_regs,
	.get_fpregs = wc_get_fpregs,
	.set_fpregs = wc_set_fpregs,
	.get_xstate = wc_get_xstate,
	.user_rw = wc_user_rw,
	.get_debugreg = wc_get_debugreg,
	.set_debugreg = wc_set_debugreg,
	.read = wc_read,
	.write = wc_write,
	.protect = wc_protect,
	.pending = ctl_pending,
	.update_saved = wc_update_saved,
	.kill = ctl_kill,
	.update_saved_prot = wc_update_saved_prot,
	.forget = wc_forget,
	/* no system-call reports, kernel write-protection, fork following,
	 * injected system calls or published protections on Windows: those
	 * ops stay NULL and control.c answers "not supported" */
};

vm_control *win_control_open(vm_target *t)
{
	win_target *w = WT(t);
	if (w->self) {
		vm_seterr("vmatlas cannot debug itself");
		return NULL;
	}
	if (sizeof(void *) == 4 && w->info.bits != 32) {
		vm_seterr("process %lu is a 64-bit process: debug it with the 64-bit build (build/win64/vmatlas.exe)",
			  (unsigned long)w->pid);
		return NULL;
	}
	if (g_ctl) {
		vm_seterr("process %lu is debugged already", (unsigned long)g_ctl->pid);
		return NULL;
	}
	HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, w->pid);
	if (!h) {
		vm_seterr("process %lu: access denied for debugging (error %lu)", (unsigned long)w->pid,
			  (unsigned long)GetLastError());
		return NULL;
	}
	win_control *c = xcalloc(1, sizeof *c);
	c->base.ops = &wc_ops;
	c->w = w;
	c->x86 = w->info.bits == 32;
	c->h = h;
	c->pid = w->pid;
	c->saved = xcalloc(WC_MAX_SAVED, sizeof *c->saved);
	c->prots = xcalloc(WC_MAX_PROT, sizeof *c->prots);
	wc_find_breakin(c);
	if (w->spawned && w->held) {
		/* the program '--' started, frozen at its loader breakpoint */
		w->held = false;
		c->held = true;
		memset(&c->ev, 0, sizeof c->ev);
		c->ev.dwDebugEventCode = EXCEPTION_DEBUG_EVENT;
		c->ev.dwProcessId = w->held_pid;
		c->ev.dwThreadId = w->held_tid;
		wc_add_thread(c, w->held_tid);
	} else if (attach(c) < 0) {
		free_control(c);
		return NULL;
	}
	get_dbgobj_fn get = (get_dbgobj_fn)(uintptr_t)ntdll_proc("DbgUiGetThreadDebugObject");
	c->dbgobj = get ? get() : NULL;
	add_all_threads(c);
	if (!c->nth) {
		vm_seterr("no thread of process %lu can be opened", (unsigned long)c->pid);
		let_go(c);
		free_control(c);
		return NULL;
	}
	g_ctl = c;
	return &c->base;
}
