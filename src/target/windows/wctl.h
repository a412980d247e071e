/* Execution control of a live Windows process on the Win32 debug API,
 * private to src/target/windows/win_control*.c. All-stop comes from the
 * debug API itself: while a debug event is held (not yet continued) the
 * whole process is frozen. */
#ifndef VMATLAS_TARGET_WINDOWS_WCTL_H
#define VMATLAS_TARGET_WINDOWS_WCTL_H

#include "win.h"

/* bounds of the restore journals (int3 bytes, page protections) */
#define WC_MAX_SAVED 4096
#define WC_MAX_PROT 1024

typedef struct wc_thread {
	DWORD tid;
	HANDLE h;
	bool suspended; /* SuspendThread'ed by us for another's step */
} wc_thread;

typedef struct wc_saved {
	uint64_t addr;
	uint8_t byte; /* the original byte, put back on close */
} wc_saved;

typedef struct wc_prot {
	uint64_t page;
	DWORD orig; /* the exact PAGE_* value VirtualQueryEx gave */
} wc_prot;

/* A thread's context in the debuggee's own layout: the x64 CONTEXT, or
 * the i386 one (WOW64_CONTEXT, which is the 32-bit build's CONTEXT) for a
 * 32-bit debuggee; the parts asked for are the WC_* below. */
typedef struct wc_ctx {
	bool x86;
	union {
#ifdef _WIN64
		CONTEXT x64;
#endif
		WOW64_CONTEXT x86;
	} u;
} wc_ctx;

#define WC_CONTROL  0x1u /* pc, sp, flags */
#define WC_INTEGER  0x2u
#define WC_SEGMENTS 0x4u
#define WC_FLOAT    0x8u /* the FXSAVE image */
#define WC_DEBUG    0x10u

typedef struct win_control {
	vm_control base;
	win_target *w;
	bool x86;          /* an i386 debuggee: its 32-bit context (WoW64 in the
			    * 64-bit build) */
	HANDLE h;          /* the process, with every right */
	DWORD pid;
	HANDLE dbgobj;     /* the debug object (for a detach from another thread) */
	wc_thread *th;
	size_t nth, cap;
	/* the event held: the process is frozen until it is continued */
	bool held;
	DEBUG_EVENT ev;
	bool pass;         /* continue it with DBG_EXCEPTION_NOT_HANDLED */
	bool pending;      /* it is to be reported by the next wait */
	vm_event pending_ev;
	DWORD stepping;    /* the thread single-stepped (TF), 0: none */
	bool exited;
	/* DebugBreakProcess threads (ours, and the attach's): never reported */
	DWORD breakers[8];
	size_t nbreakers;
	unsigned breaks_due; /* their breakpoints still to come */
	uint64_t remote_breakin; /* ntdll!DbgUiRemoteBreakin */
	uint64_t remote_breakin32; /* a WoW64 process's own 32-bit one */
	/* the journals: written by the main thread, read at a fatal signal
	 * (a console control handler's thread) */
	wc_saved *saved;
	volatile LONG nsaved;
	wc_prot *prots;
	volatile LONG nprots;
	bool dr_used;      /* some debug register was set */
	/* the DLLs loaded while attached: their ranges, for their unload */
	struct { uint64_t base, size; } dlls[256];
	size_t ndlls;
} win_control;

#define WC(c) ((win_control *)(c))

/* win_control.c */
wc_thread *wc_find(win_control *c, DWORD tid);
wc_thread *wc_add_thread(win_control *c, DWORD tid);
void wc_remove_thread(win_control *c, DWORD tid);
/* continue the held event; 0, -1 with the error set */
int wc_continue(win_control *c);
/* the step is over (or another event came first): TF off, the other
 * threads back under the debug API's freeze alone */
void wc_step_done(win_control *c);

/* win_control_event.c */
int wc_wait(vm_control *vc, int timeout_ms, vm_event *ev);
/* wait for the next debug event to hold: 1 held, 0 time out, -1 error */
int wc_next(win_control *c, DWORD ms, vm_event *out, bool *news);

/* win_control_breakin.c: where DebugBreakProcess's threads start */
void wc_find_breakin(win_control *c);
bool wc_is_breakin_start(const win_control *c, uint64_t start);

/* win_control_regs.c: the parts (WC_*) of a held thread's context */
int wc_get_context(win_control *c, DWORD tid, wc_ctx *ctx, unsigned parts);
int wc_set_context(win_control *c, DWORD tid, wc_ctx *ctx);
/* the same on a thread handle, the process not necessarily held */
bool wc_ctx_get(win_control *c, HANDLE h, wc_ctx *ctx, unsigned parts);
bool wc_ctx_set(HANDLE h, wc_ctx *ctx);
uint64_t wc_ctx_pc(const wc_ctx *x);
void wc_ctx_set_pc(wc_ctx *x, uint64_t pc);
DWORD *wc_ctx_eflags(wc_ctx *x);
/* debug register i (0-3, 6, 7) */
uint64_t wc_ctx_dr(const wc_ctx *x, int i);
void wc_ctx_set_dr(wc_ctx *x, int i, uint64_t v);
/* only the debug registers are set by the next wc_ctx_set */
void wc_ctx_only_debug(wc_ctx *x);
int wc_get_regs(vm_control *vc, int64_t tid, vm_regs *r);
int wc_set_regs(vm_control *vc, int64_t tid, const vm_regs *r);
int wc_get_fpregs(vm_control *vc, int64_t tid, vm_fpregs *f);
int wc_set_fpregs(vm_control *vc, int64_t tid, const vm_fpregs *f);
ssize_t wc_get_xstate(vm_control *vc, int64_t tid, void *buf, size_t cap);
int wc_get_debugreg(vm_control *vc, int64_t tid, int i, uint64_t *v);
int wc_set_debugreg(vm_control *vc, int64_t tid, int i, uint64_t v);

/* win_control_mem.c */
ssize_t wc_read(vm_control *vc, uint64_t addr, void *buf, size_t len);
int wc_write(vm_control *vc, uint64_t addr, const void *buf, size_t len, unsigned flags);
ssize_t wc_user_rw(vm_control *vc, uint64_t addr, void *buf, size_t len, bool write);
void wc_update_saved(vm_control *vc, uint64_t addr, const void *buf, size_t len);
int wc_protect(vm_control *vc, uint64_t addr, uint64_t len, unsigned prot, unsigned flags);
void wc_update_saved_prot(vm_control *vc, uint64_t addr, uint64_t len, int prot);
/* forget what the journals hold in [addr, addr+len) (a DLL unloaded:
 * nothing of ours to put back there) */
void wc_forget_range(win_control *c, uint64_t addr, uint64_t len);
void wc_forget(vm_control *vc, uint64_t addr, uint64_t len);
/* a byte we wrote (an int3) that holds no int3 any more */
bool wc_int3_gone(win_control *c, uint64_t addr);
/* put back every journaled byte and protection (from any thread) */
void wc_restore(win_control *c);
/* clear Dr0-3 and Dr7 of every thread (from any thread) */
void wc_clear_debugregs(win_control *c, bool suspend);

#endif
