/* The threads of a live Windows process: Toolhelp32 lists them; each
 * one's TEB and start address come from NtQueryInformationThread, its
 * registers from GetThreadContext (Wow64GetThreadContext for a 32-bit
 * process) while it is suspended for that instant only, its name from
 * GetThreadDescription where the system has it, its state from the
 * system's process list (win_thread_states.c). */
#include "win.h"

#include <stdlib.h>
#include <string.h>
#include <tlhelp32.h>

#include "base/util.h"
#include "vmatlas/error.h"

/* ntdll's THREAD_BASIC_INFORMATION (not in every SDK's headers) */
typedef struct {
	LONG exit_status;
	PVOID teb;
	HANDLE client_pid, client_tid;
	ULONG_PTR affinity;
	LONG priority, base_priority;
} thread_basic;

#define THREAD_BASIC_INFO 0
#define THREAD_START_ADDRESS 9

typedef LONG(NTAPI *nt_query_thread_fn)(HANDLE, int, PVOID, ULONG, PULONG);
typedef HRESULT(WINAPI *get_description_fn)(HANDLE, PWSTR *);

static nt_query_thread_fn nt_query_thread(void)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	return ntdll ? (nt_query_thread_fn)(void (*)(void))GetProcAddress(ntdll, "NtQueryInformationThread") : NULL;
}

uint64_t win_thread_teb(HANDLE thread)
{
	nt_query_thread_fn query = nt_query_thread();
	thread_basic tb;
	memset(&tb, 0, sizeof tb);
	if (!query || query(thread, THREAD_BASIC_INFO, &tb, sizeof tb, NULL) < 0)
		return 0;
	return (uint64_t)(uintptr_t)tb.teb;
}

static void reg(vm_thread *th, const char *name, uint64_t v)
{
	if (th->nregs < VM_THREAD_MAX_REGS)
		th->regs[th->nregs++] = (vm_reg){ name, v };
}

#ifdef _WIN64
static void regs_from(vm_thread *th, const CONTEXT *c)
{
	const struct { const char *name; DWORD64 v; } r[] = {
		{ "rax", c->Rax }, { "rbx", c->Rbx }, { "rcx", c->Rcx }, { "rdx", c->Rdx }, { "rsi", c->Rsi },
		{ "rdi", c->Rdi }, { "rbp", c->Rbp }, { "rsp", c->Rsp }, { "r8", c->R8 },   { "r9", c->R9 },
		{ "r10", c->R10 }, { "r11", c->R11 }, { "r12", c->R12 }, { "r13", c->R13 }, { "r14", c->R14 },
		{ "r15", c->R15 }, { "rip", c->Rip },
	};
	for (size_t i = 0; i < ARRAY_LEN(r); i++)
		reg(th, r[i].name, r[i].v);
	reg(th, "eflags", c->EFlags);
	reg(th, "cs", c->SegCs);
	reg(th, "ds", c->SegDs);
	reg(th, "es", c->SegEs);
	reg(th, "fs", c->SegFs);
	reg(th, "gs", c->SegGs);
	reg(th, "ss", c->SegSs);
	th->pc = c->Rip;
	th->sp = c->Rsp;
	th->fp = c->Rbp;
	th->regs_valid = th->sp_valid = true;
}
#endif

/* a 32-bit context: the process's own on a 32-bit build, a WoW64 one on
 * a 64-bit build (the same layout) */
#ifdef _WIN64
typedef WOW64_CONTEXT ctx32;
#else
typedef CONTEXT ctx32;
#endif

static void regs_from32(vm_thread *th, const ctx32 *c)
{
	const struct { const char *name; DWORD v; } r[] = {
		{ "eax", c->Eax }, { "ebx", c->Ebx }, { "ecx", c->Ecx }, { "edx", c->Edx },
		{ "esi", c->Esi }, { "edi", c->Edi }, { "ebp", c->Ebp }, { "esp", c->Esp },
		{ "eip", c->Eip }, { "eflags", c->EFlags }, { "cs", c->SegCs }, { "ss", c->SegSs },
		{ "ds", c->SegDs }, { "es", c->SegEs }, { "fs", c->SegFs }, { "gs", c->SegGs },
	};
	for (size_t i = 0; i < ARRAY_LEN(r); i++)
		reg(th, r[i].name, r[i].v);
	th->pc = c->Eip;
	th->sp = c->Esp;
	th->fp = c->Ebp;
	th->regs_valid = th->sp_valid = true;
}

#ifndef _WIN64
/* the calling thread's own registers in the 32-bit build: i386's
 * RtlCaptureContext takes the caller's eip and esp from its ebp frame,
 * which code built without frame pointers does not keep (Wine's faulted
 * on ebp 0x38). The pc is in read_regs, the sp this call's. */
__attribute__((noinline)) static void capture_own32(CONTEXT *c)
{
	DWORD esp, ebp;
	__asm__ volatile("movl %%esp, %0\n\tmovl %%ebp, %1" : "=r"(esp), "=r"(ebp));
	c->Eip = (DWORD)(uintptr_t)__builtin_return_address(0);
	c->Esp = esp;
	c->Ebp = ebp;
}
#endif

/* the registers, the thread suspended only while they are read; the
 * calling thread of "self" reads its own */
static void read_regs(win_target *w, HANDLE h, DWORD tid, vm_thread *th)
{
	bool own = w->self && tid == GetCurrentThreadId();
	DWORD before = own ? 0 : SuspendThread(h);
	if (before == (DWORD)-1)
		return;
	if (before > 0)
		th->state = 'T'; /* held already: by --freeze, a debugger, or suspended */
	/* the 32-bit build is itself a WoW64 process (IsWow64Process says so of
	 * every 32-bit process on 64-bit Windows, and of each under Wine 8):
	 * GetThreadContext gives it the 32-bit context */
	if (win_wow64_seen(w)) {
#ifdef _WIN64
		WOW64_CONTEXT c;
		memset(&c, 0, sizeof c);
		c.ContextFlags = WOW64_CONTEXT_FULL;
		if (!own && Wow64GetThreadContext(h, &c))
			regs_from32(th, &c);
#endif
	} else {
		CONTEXT c;
		memset(&c, 0, sizeof c);
		c.ContextFlags = CONTEXT_FULL;
		if (own) {
#ifdef _WIN64
			RtlCaptureContext(&c);
#else
			capture_own32(&c);
#endif
		}
		if (own || GetThreadContext(h, &c)) {
#ifdef _WIN64
			regs_from(th, &c);
#else
			regs_from32(th, &c);
#endif
		}
	}
	if (!own)
		ResumeThread(h);
}

int win_threads(vm_target *t, unsigned flags, vm_thread **out, size_t *n)
{
	win_target *w = WT(t);
	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
	if (snap == INVALID_HANDLE_VALUE) {
		vm_seterr("cannot list the threads of process %lu (error %lu)", (unsigned long)w->pid,
			  (unsigned long)GetLastError());
		return -1;
	}
	HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
	nt_query_thread_fn query = nt_query_thread();
	get_description_fn describe =
		k32 ? (get_description_fn)(void (*)(void))GetProcAddress(k32, "GetThreadDescription") : NULL;
	/* before any of ours is suspended to read its registers */
	win_thread_state *states = NULL;
	size_t nstates = win_thread_states(w->pid, &states);
	vm_thread *v = NULL;
	size_t k = 0, cap = 0;
	THREADENTRY32 te;
	te.dwSize = sizeof te;
	for (BOOL ok = Thread32First(snap, &te); ok; ok = Thread32Next(snap, &te)) {
		if (te.th32OwnerProcessID != w->pid)
			continue;
		vm_thread *th = ARRAY_PUSH(v, k, cap);
		memset(th, 0, sizeof *th);
		th->tid = te.th32ThreadID;
		th->state = '?';
		for (size_t i = 0; i < nstates; i++)
			if (states[i].tid == te.th32ThreadID)
				th->state = states[i].state;
		th->is_main = k == 1; /* Toolhelp lists them oldest first */
		HANDLE h = OpenThread(THREAD_QUERY_INFORMATION | THREAD_GET_CONTEXT | THREAD_SUSPEND_RESUME, FALSE,
				      te.th32ThreadID);
		if (!h)
			h = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, te.th32ThreadID);
		if (!h)
			continue;
		uint64_t teb = win_thread_teb(h);
		if (teb)
			/* a WoW64 thread's 32-bit TEB follows its 64-bit one, as
			 * Windows lays them out; Wine 8 runs a 32-bit program as a
			 * 32-bit Linux process but keeps the same layout (a 64-bit
			 * TEB, unused, 0x2000 before the one at fs). The 32-bit
			 * build is told the 32-bit TEB itself. */
			th->tp = teb + (win_wow64_seen(w) ? 0x2000 : 0);
		PVOID start = NULL;
		if (query && query(h, THREAD_START_ADDRESS, &start, sizeof start, NULL) >= 0)
			th->start = (uint64_t)(uintptr_t)start;
		PWSTR desc = NULL;
		if (describe && SUCCEEDED(describe(h, &desc)) && desc) {
			if (*desc)
				th->name = win_utf8(desc);
			LocalFree(desc);
		}
		if (!(flags & VM_THREADS_STATES))
			read_regs(w, h, te.th32ThreadID, th);
		CloseHandle(h);
	}
	CloseHandle(snap);
	free(states);
	*out = v;
	*n = k;
	return 0;
}
