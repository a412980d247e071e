/* Registers of a thread of a controlled Windows process, in its own
 * layout (wc_ctx): the x64 CONTEXT as vm_regs, its FltSave as the FXSAVE
 * image; an i386 debuggee's WOW64_CONTEXT (Wow64GetThreadContext in the
 * 64-bit build; the 32-bit build's own CONTEXT has that layout), its
 * registers in the low halves of vm_regs as Linux's ptrace gives an i386
 * process's, ExtendedRegisters as the FXSAVE image. The AVX state through
 * CONTEXT_XSTATE where the system has it (an XSAVE image in the standard
 * format, as Linux gives it), Dr0-Dr7 through the debug registers' part.
 * The process is frozen by a held debug event whenever these are called
 * (wc_ctx_get/set: by the caller's own means). */
#include "wctl.h"

#include <string.h>

#include "vmatlas/error.h"

#ifndef _WIN64
_Static_assert(sizeof(CONTEXT) == sizeof(WOW64_CONTEXT), "the i386 CONTEXT is WOW64_CONTEXT's layout");
#endif

/* ---- a context in either layout ---- */

/* the CONTEXT_* flags of the parts: WOW64_CONTEXT_* (CONTEXT_i386 | n),
 * or the x64 CONTEXT_* (CONTEXT_AMD64 0x100000 | n; spelled out, as the
 * 32-bit build's headers name the i386 ones so) */
static DWORD native_flags(bool x86, unsigned parts)
{
	static const struct { unsigned part; DWORD x86; DWORD x64; } map[] = {
		{ WC_CONTROL, WOW64_CONTEXT_CONTROL, 0x100001 },
		{ WC_INTEGER, WOW64_CONTEXT_INTEGER, 0x100002 },
		{ WC_SEGMENTS, WOW64_CONTEXT_SEGMENTS, 0x100004 },
		{ WC_FLOAT, WOW64_CONTEXT_EXTENDED_REGISTERS, 0x100008 },
		{ WC_DEBUG, WOW64_CONTEXT_DEBUG_REGISTERS, 0x100010 },
	};
	DWORD f = 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (parts & map[i].part)
			f |= x86 ? map[i].x86 : map[i].x64;
	return f;
}

bool wc_ctx_get(win_control *c, HANDLE h, wc_ctx *x, unsigned parts)
{
	memset(x, 0, sizeof *x);
	x->x86 = c->x86;
#ifdef _WIN64
	if (!x->x86) {
		x->u.x64.ContextFlags = native_flags(false, parts);
		return GetThreadContext(h, &x->u.x64);
	}
	x->u.x86.ContextFlags = native_flags(true, parts);
	return Wow64GetThreadContext(h, &x->u.x86);
#else
	x->u.x86.ContextFlags = native_flags(true, parts);
	return GetThreadContext(h, (CONTEXT *)&x->u.x86);
#endif
}

bool wc_ctx_set(HANDLE h, wc_ctx *x)
{
#ifdef _WIN64
	return x->x86 ? Wow64SetThreadContext(h, &x->u.x86) : SetThreadContext(h, &x->u.x64);
#else
	return SetThreadContext(h, (CONTEXT *)&x->u.x86);
#endif
}

uint64_t wc_ctx_pc(const wc_ctx *x)
{
#ifdef _WIN64
	if (!x->x86)
		return x->u.x64.Rip;
#endif
	return x->u.x86.Eip;
}

void wc_ctx_set_pc(wc_ctx *x, uint64_t pc)
{
#ifdef _WIN64
	if (!x->x86) {
		x->u.x64.Rip = pc;
		return;
	}
#endif
	x->u.x86.Eip = (DWORD)pc;
}

DWORD *wc_ctx_eflags(wc_ctx *x)
{
#ifdef _WIN64
	if (!x->x86)
		return &x->u.x64.EFlags;
#endif
	return &x->u.x86.EFlags;
}

uint64_t wc_ctx_dr(const wc_ctx *x, int i)
{
#ifdef _WIN64
	if (!x->x86) {
		const CONTEXT *k = &x->u.x64;
		const DWORD64 dr[8] = { k->Dr0, k->Dr1, k->Dr2, k->Dr3, 0, 0, k->Dr6, k->Dr7 };
		return dr[i & 7];
	}
#endif
	const WOW64_CONTEXT *k = &x->u.x86;
	const DWORD dr[8] = { k->Dr0, k->Dr1, k->Dr2, k->Dr3, 0, 0, k->Dr6, k->Dr7 };
	return dr[i & 7];
}

void wc_ctx_set_dr(wc_ctx *x, int i, uint64_t v)
{
#ifdef _WIN64
	if (!x->x86) {
		CONTEXT *k = &x->u.x64;
		DWORD64 *dr[8] = { &k->Dr0, &k->Dr1, &k->Dr2, &k->Dr3, NULL, NULL, &k->Dr6, &k->Dr7 };
		if (dr[i & 7])
			*dr[i & 7] = v;
		return;
	}
#endif
	WOW64_CONTEXT *k = &x->u.x86;
	DWORD *dr[8] = { &k->Dr0, &k->Dr1, &k->Dr2, &k->Dr3, NULL, NULL, &k->Dr6, &k->Dr7 };
	if (dr[i & 7])
		*dr[i & 7] = (DWORD)v;
}

void wc_ctx_only_debug(wc_ctx *x)
{
#ifdef _WIN64
	if (!x->x86) {
		x->u.x64.ContextFlags = native_flags(false, WC_DEBUG);
		return;
	}
#endif
	x->u.x86.ContextFlags = native_flags(true, WC_DEBUG);
}

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

int wc_get_context(win_control *c, DWORD tid, wc_ctx *ctx, unsigned parts)
{
	wc_thread *t = held_thread(c, tid);
	if (!t)
		return -1;
	if (!wc_ctx_get(c, t->h, ctx, parts)) {
		vm_seterr("cannot read the registers of thread %lu (error %lu)", (unsigned long)tid,
			  (unsigned long)GetLastError());
		return -1;
	}
	return 0;
}

int wc_set_context(win_control *c, DWORD tid, wc_ctx *ctx)
{
	wc_thread *t = held_thread(c, tid);
	if (!t)
		return -1;
	if (!wc_ctx_set(t->h, ctx)) {
		vm_seterr("cannot set the registers of thread %lu (error %lu)", (unsigned long)tid,
			  (unsigned long)GetLastError());
		return -1;
	}
	return 0;
}

/* the TEB: gs_base on x64; fs_base on i386 (a WoW64 thread's 32-bit TEB
 * follows its 64-bit one) */
static uint64_t teb_of(win_control *c, DWORD tid)
{
	wc_thread *t = wc_find(c, tid);
	uint64_t teb = t ? win_thread_teb(t->h) : 0;
	return teb && c->x86 && sizeof(void *) == 8 ? teb + 0x2000 : teb;
}

int wc_get_regs(vm_control *vc, int64_t tid, vm_regs *r)
{
	win_control *c = WC(vc);
	wc_ctx k;
	if (wc_get_context(c, (DWORD)tid, &k, WC_CONTROL | WC_INTEGER | WC_SEGMENTS) < 0)
		return -1;
	if (k.x86) {
		/* the i386 registers in the low halves, as Linux's ptrace
		 * gives a 32-bit process's */
		const WOW64_CONTEXT *x = &k.u.x86;
		*r = (vm_regs){
			.rax = x->Eax, .rbx = x->Ebx, .rcx = x->Ecx, .rdx = x->Edx, .rsi = x->Esi, .rdi = x->Edi,
			.rbp = x->Ebp, .rsp = x->Esp, .rip = x->Eip, .rflags = x->EFlags,
			.cs = x->SegCs, .ss = x->SegSs, .ds = x->SegDs, .es = x->SegEs, .fs = x->SegFs, .gs = x->SegGs,
			.fs_base = teb_of(c, (DWORD)tid), .gs_base = 0, .orig_rax = UINT64_MAX,
		};
		return 0;
	}
#ifdef _WIN64
	const CONTEXT *x = &k.u.x64;
	*r = (vm_regs){
		.rax = x->Rax, .rbx = x->Rbx, .rcx = x->Rcx, .rdx = x->Rdx, .rsi = x->Rsi, .rdi = x->Rdi,
		.rbp = x->Rbp, .rsp = x->Rsp, .r8 = x->R8, .r9 = x->R9, .r10 = x->R10, .r11 = x->R11,
		.r12 = x->R12, .r13 = x->R13, .r14 = x->R14, .r15 = x->R15, .rip = x->Rip, .rflags = x->EFlags,
		.cs = x->SegCs, .ss = x->SegSs, .ds = x->SegDs, .es = x->SegEs, .fs = x->SegFs, .gs = x->SegGs,
		.fs_base = 0, .gs_base = teb_of(c, (DWORD)tid), .orig_rax = UINT64_MAX,
	};
#endif
	return 0;
}

int wc_set_regs(vm_control *vc, int64_t tid, const vm_regs *r)
{
	win_control *c = WC(vc);
	wc_ctx k;
	if (wc_get_context(c, (DWORD)tid, &k, WC_CONTROL | WC_INTEGER) < 0)
		return -1;
	/* segments and their bases are the system's: not set */
	if (k.x86) {
		WOW64_CONTEXT *x = &k.u.x86;
		x->Eax = (DWORD)r->rax, x->Ebx = (DWORD)r->rbx, x->Ecx = (DWORD)r->rcx, x->Edx = (DWORD)r->rdx;
		x->Esi = (DWORD)r->rsi, x->Edi = (DWORD)r->rdi, x->Ebp = (DWORD)r->rbp, x->Esp = (DWORD)r->rsp;
		x->Eip = (DWORD)r->rip, x->EFlags = (DWORD)r->rflags;
		return wc_set_context(c, (DWORD)tid, &k);
	}
#ifdef _WIN64
	CONTEXT *x = &k.u.x64;
	x->Rax = r->rax, x->Rbx = r->rbx, x->Rcx = r->rcx, x->Rdx = r->rdx, x->Rsi = r->rsi, x->Rdi = r->rdi;
	x->Rbp = r->rbp, x->Rsp = r->rsp, x->R8 = r->r8, x->R9 = r->r9, x->R10 = r->r10, x->R11 = r->r11;
	x->R12 = r->r12, x->R13 = r->r13, x->R14 = r->r14, x->R15 = r->r15, x->Rip = r->rip;
	x->EFlags = (DWORD)r->rflags;
#endif
	return wc_set_context(c, (DWORD)tid, &k);
}

/* the FXSAVE image: x64 FltSave, i386 ExtendedRegisters */
static uint8_t *fxsave_of(wc_ctx *k)
{
#ifdef _WIN64
	if (!k->x86) {
		_Static_assert(sizeof k->u.x64.FltSave == 512, "FltSave is the FXSAVE image");
		return (uint8_t *)&k->u.x64.FltSave;
	}
#endif
	_Static_assert(sizeof k->u.x86.ExtendedRegisters == 512, "ExtendedRegisters is the FXSAVE image");
	return k->u.x86.ExtendedRegisters;
}

int wc_get_fpregs(vm_control *vc, int64_t tid, vm_fpregs *f)
{
	wc_ctx k;
	if (wc_get_context(WC(vc), (DWORD)tid, &k, WC_FLOAT) < 0)
		return -1;
	memcpy(f->fxsave, fxsave_of(&k), sizeof f->fxsave);
	return 0;
}

int wc_set_fpregs(vm_control *vc, int64_t tid, const vm_fpregs *f)
{
	wc_ctx k;
	if (wc_get_context(WC(vc), (DWORD)tid, &k, WC_FLOAT) < 0)
		return -1;
	memcpy(fxsave_of(&k), f->fxsave, sizeof f->fxsave);
	return wc_set_context(WC(vc), (DWORD)tid, &k);
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
/* CONTEXT_XSTATE and the FXSAVE part, not in every mingw-w64's winnt.h */
#ifdef _WIN64
#define XSTATE_FLAGS (0x100000 | 0x40 | 0x8) /* AMD64: XSTATE, FLOATING_POINT */
#else
#define XSTATE_FLAGS (0x10000 | 0x40 | 0x20) /* i386: XSTATE, EXTENDED_REGISTERS */
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
	DWORD flags = XSTATE_FLAGS;
	init(NULL, flags, NULL, &need);
	if (!need || need > (1u << 20)) {
		vm_seterr("this system gives no AVX state of a thread (CONTEXT_XSTATE)");
		return -1;
	}
	void *mem = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, need);
	PCONTEXT x = NULL;
	ssize_t rc = -1;
	if (!mem || !init(mem, flags, &x, &need) || !set_mask(x, XSTATE_MASK_AVX_) || !GetThreadContext(t->h, x)) {
		/* Wow64GetThreadContext has no XSTATE part: a WoW64 thread's
		 * is asked for as the 64-bit context Windows keeps for it */
		vm_seterr(c->x86 && sizeof(void *) == 8
				  ? "cannot read the AVX state of 32-bit (WoW64) thread %lld (error %lu): "
				    "the 32-bit build can"
				  : "cannot read the AVX state of thread %lld (error %lu)",
			  (long long)tid, (unsigned long)GetLastError());
		goto out;
	}
	DWORD64 live = 0;
	get_mask(x, &live);
	DWORD len = 0;
	uint8_t *ymmh = locate(x, 2, &len);
	uint8_t *o = buf;
	memset(o, 0, XSAVE_AVX + 256);
#ifdef _WIN64
	memcpy(o, &x->FltSave, 512);
#else
	memcpy(o, x->ExtendedRegisters, 512);
#endif
	/* ymm0-15 on x64, ymm0-7 on i386: the upper halves */
	DWORD ylen = c->x86 ? 128 : 256;
	memcpy(o + XSAVE_XCR0, &features, 8);
	live &= 3 | XSTATE_MASK_AVX_;
	if (!ymmh || len < ylen)
		live &= ~XSTATE_MASK_AVX_;
	else
		memcpy(o + XSAVE_AVX, ymmh, ylen);
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
	wc_ctx x;
	if (wc_get_context(WC(vc), (DWORD)tid, &x, WC_DEBUG) < 0)
		return -1;
	*v = wc_ctx_dr(&x, i);
	return 0;
}

int wc_set_debugreg(vm_control *vc, int64_t tid, int i, uint64_t v)
{
	win_control *c = WC(vc);
	wc_ctx x;
	if (wc_get_context(c, (DWORD)tid, &x, WC_DEBUG) < 0)
		return -1;
	wc_ctx_set_dr(&x, i, v);
	wc_ctx_only_debug(&x);
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
		wc_ctx x;
		bool set = false;
		if (wc_ctx_get(c, h, &x, WC_DEBUG))
			for (int k = 0; k < 8; k++)
				set |= wc_ctx_dr(&x, k) != 0 && k != 6;
		if (set) {
			for (int k = 0; k < 8; k++)
				wc_ctx_set_dr(&x, k, 0);
			wc_ctx_only_debug(&x);
			wc_ctx_set(h, &x);
		}
		if (suspend)
			ResumeThread(h);
	}
}
