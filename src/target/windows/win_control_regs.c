/* Registers of a thread of a controlled Windows process: the CONTEXT
 * (CONTEXT_FULL) as vm_regs, its FltSave as the FXSAVE image, the AVX
 * state through CONTEXT_XSTATE where the system has it (an XSAVE image
 * in the standard format, as Linux gives it), Dr0-Dr7 through
 * CONTEXT_DEBUG_REGISTERS. The process is frozen by a held debug event
 * whenever these are called. */
#include "wctl.h"

#include <string.h>

#include "vmatlas/error.h"

#ifdef _WIN64

static wc_thread *held_thread(win_control *c, int64_t tid)
{
	wc_thread *t = tid > 0 && tid <= UINT32_MAX ? wc_find(c, (DWORD)tid) : NULL;
	if (!t)
		vm_seterr("thread %lld is not one of process %lu", (long long)tid, (unsigned long)c->pid);
	else if (!c->held) {
		vm_seterr("thread %lld is running: stop it first", (long long)tid);
		t = NULL;
	}
	return t;
}

int wc_get_context(win_control *c, DWORD tid, CONTEXT *ctx, DWORD flags)
{
	wc_thread *t = held_thread(c, tid);
	if (!t)
		return -1;
	memset(ctx, 0, sizeof *ctx);
	ctx->ContextFlags = flags;
	if (!GetThreadContext(t->h, ctx)) {
		vm_seterr("cannot read the registers of thread %lu (error %lu)", (unsigned long)tid,
			  (unsigned long)GetLastError());
		return -1;
	}
	return 0;
}

int wc_set_context(win_control *c, DWORD tid, CONTEXT *ctx)
{
	wc_thread *t = held_thread(c, tid);
	if (!t)
		return -1;
	if (!SetThreadContext(t->h, ctx)) {
		vm_seterr("cannot set the registers of thread %lu (error %lu)", (unsigned long)tid,
			  (unsigned long)GetLastError());
		return -1;
	}
	return 0;
}

/* the TEB is gs_base on x64 */
static uint64_t teb_of(win_control *c, DWORD tid)
{
	wc_thread *t = wc_find(c, tid);
	return t ? win_thread_teb(t->h) : 0;
}

int wc_get_regs(vm_control *vc, int64_t tid, vm_regs *r)
{
	win_control *c = WC(vc);
	CONTEXT x;
	if (wc_get_context(c, (DWORD)tid, &x, CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS) < 0)
		return -1;
	*r = (vm_regs){
		.rax = x.Rax, .rbx = x.Rbx, .rcx = x.Rcx, .rdx = x.Rdx, .rsi = x.Rsi, .rdi = x.Rdi,
		.rbp = x.Rbp, .rsp = x.Rsp, .r8 = x.R8, .r9 = x.R9, .r10 = x.R10, .r11 = x.R11,
		.r12 = x.R12, .r13 = x.R13, .r14 = x.R14, .r15 = x.R15, .rip = x.Rip, .rflags = x.EFlags,
		.cs = x.SegCs, .ss = x.SegSs, .ds = x.SegDs, .es = x.SegEs, .fs = x.SegFs, .gs = x.SegGs,
		.fs_base = 0, .gs_base = teb_of(c, (DWORD)tid), .orig_rax = UINT64_MAX,
	};
	return 0;
}

int wc_set_regs(vm_control *vc, int64_t tid, const vm_regs *r)
{
	win_control *c = WC(vc);
	CONTEXT x;
	if (wc_get_context(c, (DWORD)tid, &x, CONTEXT_CONTROL | CONTEXT_INTEGER) < 0)
		return -1;
	x.Rax = r->rax, x.Rbx = r->rbx, x.Rcx = r->rcx, x.Rdx = r->rdx, x.Rsi = r->rsi, x.Rdi = r->rdi;
	x.Rbp = r->rbp, x.Rsp = r->rsp, x.R8 = r->r8, x.R9 = r->r9, x.R10 = r->r10, x.R11 = r->r11;
	x.R12 = r->r12, x.R13 = r->r13, x.R14 = r->r14, x.R15 = r->r15, x.Rip = r->rip;
	x.EFlags = (DWORD)r->rflags;
	/* segments and their bases are the system's: not set */
	return wc_set_context(c, (DWORD)tid, &x);
}

int wc_get_fpregs(vm_control *vc, int64_t tid, vm_fpregs *f)
{
	CONTEXT x;
	if (wc_get_context(WC(vc), (DWORD)tid, &x, CONTEXT_FLOATING_POINT) < 0)
		return -1;
	_Static_assert(sizeof x.FltSave == sizeof f->fxsave, "FltSave is the FXSAVE image");
	memcpy(f->fxsave, &x.FltSave, sizeof f->fxsave);
	return 0;
}

int wc_set_fpregs(vm_control *vc, int64_t tid, const vm_fpregs *f)
{
	CONTEXT x;
	if (wc_get_context(WC(vc), (DWORD)tid, &x, CONTEXT_FLOATING_POINT) < 0)
		return -1;
	memcpy(&x.FltSave, f->fxsave, sizeof f->fxsave);
	x.ContextFlags = CONTEXT_FLOATING_POINT;
	return wc_set_context(WC(vc), (DWORD)tid, &x);
}

/* ---- the AVX state: CONTEXT_XSTATE (Windows 7 SP1 and later) ---- */

typedef BOOL(WINAPI *init_context_fn)(PVOID, DWORD, PCONTEXT *, PDWORD);
typedef BOOL(WINAPI *set_mask_fn)(PCONTEXT, DWORD64);
typedef BOOL(WINAPI *get_mask_fn)(PCONTEXT, PDWORD64);
typedef PVOID(WINAPI *locate_fn)(PCONTEXT, DWORD, PDWORD);
typedef DWORD64(WINAPI *enabled_fn)(void);

#define XSAVE_XCR0 464   /* where Linux puts XCR0 (the debug layer reads it there) */
#define XSAVE_HEADER 512 /* XSTATE_BV */
#define XSAVE_AVX 576    /* the AVX component in the standard format */
#define XSTATE_MASK_AVX_ (1ull << 2)
#ifndef CONTEXT_XSTATE /* not in every mingw-w64's winnt.h */
#define CONTEXT_XSTATE (CONTEXT_AMD64 | 0x40)
#endif

static void *k32(const char *name)
{
	HMODULE k = GetModuleHandleW(L"kernel32.dll");
	return k ? (void *)(uintptr_t)GetProcAddress(k, name) : NULL;
}

ssize_t wc_get_xstate(vm_control *vc, int64_t tid, void *buf, size_t cap)
{
	win_control *c = WC(vc);
	init_context_fn init = (init_context_fn)(uintptr_t)k32("InitializeContext");
	set_mask_fn set_mask = (set_mask_fn)(uintptr_t)k32("SetXStateFeaturesMask");
	get_mask_fn get_mask = (get_mask_fn)(uintptr_t)k32("GetXStateFeaturesMask");
	locate_fn locate = (locate_fn)(uintptr_t)k32("LocateXStateFeature");
	enabled_fn enabled = (enabled_fn)(uintptr_t)k32("GetEnabledXStateFeatures");
	DWORD64 features = enabled ? enabled() : 0;
	if (!init || !set_mask || !get_mask || !locate || !(features & XSTATE_MASK_AVX_)) {
		vm_seterr("this system gives no AVX state of a thread (CONTEXT_XSTATE)");
		return -1;
	}
	if (cap < XSAVE_AVX + 256) {
		vm_seterr("no room for the XSAVE image");
		return -1;
	}
	wc_thread *t = held_thread(c, tid);
	if (!t)
		return -1;
	DWORD need = 0;
	DWORD flags = CONTEXT_FLOATING_POINT | CONTEXT_XSTATE;
	init(NULL, flags, NULL, &need);
	if (!need || need > (1u << 20)) {
		vm_seterr("this system gives no AVX state of a thread (CONTEXT_XSTATE)");
		return -1;
	}
	void *mem = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, need);
	PCONTEXT x = NULL;
	ssize_t rc = -1;
	if (!mem || !init(mem, flags, &x, &need) || !set_mask(x, XSTATE_MASK_AVX_) || !GetThreadContext(t->h, x)) {
		vm_seterr("cannot read the AVX state of thread %lld (error %lu)", (long long)tid,
			  (unsigned long)GetLastError());
		goto out;
	}
	DWORD64 live = 0;
	get_mask(x, &live);
	DWORD len = 0;
	uint8_t *ymmh = locate(x, 2, &len);
	uint8_t *o = buf;
	memset(o, 0, XSAVE_AVX + 256);
	memcpy(o, &x->FltSave, 512);
	memcpy(o + XSAVE_XCR0, &features, 8);
	live &= 3 | XSTATE_MASK_AVX_;
	if (!ymmh || len < 256)
		live &= ~XSTATE_MASK_AVX_;
	else
		memcpy(o + XSAVE_AVX, ymmh, 256);
	live |= 3; /* the legacy area is always filled in */
	memcpy(o + XSAVE_HEADER, &live, 8);
	rc = XSAVE_AVX + 256;
out:
	if (mem)
		HeapFree(GetProcessHeap(), 0, mem);
	return rc;
}

/* ---- debug registers ---- */

int wc_get_debugreg(vm_control *vc, int64_t tid, int i, uint64_t *v)
{
	CONTEXT x;
	if (wc_get_context(WC(vc), (DWORD)tid, &x, CONTEXT_DEBUG_REGISTERS) < 0)
		return -1;
	const DWORD64 dr[8] = { x.Dr0, x.Dr1, x.Dr2, x.Dr3, 0, 0, x.Dr6, x.Dr7 };
	*v = dr[i];
	return 0;
}

int wc_set_debugreg(vm_control *vc, int64_t tid, int i, uint64_t v)
{
	win_control *c = WC(vc);
	CONTEXT x;
	if (wc_get_context(c, (DWORD)tid, &x, CONTEXT_DEBUG_REGISTERS) < 0)
		return -1;
	DWORD64 *dr[8] = { &x.Dr0, &x.Dr1, &x.Dr2, &x.Dr3, NULL, NULL, &x.Dr6, &x.Dr7 };
	*dr[i] = v;
	x.ContextFlags = CONTEXT_DEBUG_REGISTERS;
	if (wc_set_context(c, (DWORD)tid, &x) < 0)
		return -1;
	if (v && i != 6)
		c->dr_used = true;
	return 0;
}

/* every thread's Dr0-3 and Dr7 to zero; suspend: the process is not
 * frozen by a held event (a fatal signal's cleanup) */
void wc_clear_debugregs(win_control *c, bool suspend)
{
	if (!c->dr_used)
		return;
	for (size_t i = 0; i < c->nth; i++) {
		HANDLE h = c->th[i].h;
		if (suspend && SuspendThread(h) == (DWORD)-1)
			continue;
		CONTEXT x;
		memset(&x, 0, sizeof x);
		x.ContextFlags = CONTEXT_DEBUG_REGISTERS;
		if (GetThreadContext(h, &x) && (x.Dr7 || x.Dr0 || x.Dr1 || x.Dr2 || x.Dr3)) {
			x.Dr0 = x.Dr1 = x.Dr2 = x.Dr3 = x.Dr6 = x.Dr7 = 0;
			x.ContextFlags = CONTEXT_DEBUG_REGISTERS;
			SetThreadContext(h, &x);
		}
		if (suspend)
			ResumeThread(h);
	}
}

#endif
