/* Execution control of a live target: the debugger's engine. One handle
 * holds every thread of the process (all-stop: when one thread stops for
 * an event, the others are stopped too). The interface fits ptrace on
 * Linux and the Win32 debug API (WaitForDebugEvent, Get/SetThreadContext,
 * VirtualProtectEx, DebugActiveProcessStop) alike; registers are x86-64.
 *
 * Whatever the handle changed with VM_CTL_RESTORE (breakpoint bytes,
 * page protections) and every debug register is put back when it is
 * closed, and also when vmatlas dies of a signal (after
 * vm_install_cleanup_handlers), so the target is never left stopped or
 * patched. */
#ifndef VMATLAS_CONTROL_H
#define VMATLAS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "target.h"

typedef struct vm_control vm_control;

/* general-purpose registers, flags and segments of one x86-64 thread */
typedef struct vm_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t cs, ss, ds, es, fs, gs, fs_base, gs_base;
	uint64_t orig_rax; /* Linux: the system call it is in (-1: none) */
} vm_regs;

/* the x87/SSE state in the FXSAVE layout (Linux NT_PRFPREG, Windows
 * CONTEXT.FltSave are both this 512-byte image) */
typedef struct vm_fpregs {
	uint8_t fxsave[512];
} vm_fpregs;

#define VM_RFLAGS_TF 0x100u /* trap flag: single step */

/* debug registers: DR0-3 addresses, DR6 status, DR7 control */
#define VM_DR7_ENABLE(i)   (1ull << ((i) * 2))         /* local enable of DRi */
#define VM_DR7_RW(i, rw)   ((uint64_t)(rw) << (16 + (i) * 4))
#define VM_DR7_LEN(i, len) ((uint64_t)(len) << (18 + (i) * 4))
#define VM_DR_RW_EXEC  0u /* len must be 0 (1 byte) */
#define VM_DR_RW_WRITE 1u
#define VM_DR_RW_RW    3u
#define VM_DR_LEN_1 0u
#define VM_DR_LEN_2 1u
#define VM_DR_LEN_8 2u
#define VM_DR_LEN_4 3u
#define VM_DR6_HIT(i) (1ull << (i))  /* DRi matched */
#define VM_DR6_BS     (1ull << 14)   /* single step */

typedef enum vm_event_kind {
	VM_EV_NONE,          /* vm_control_wait timed out */
	VM_EV_BREAKPOINT,    /* a breakpoint instruction (int3) was run; addr is its address */
	VM_EV_STEP,          /* vm_control_step finished; addr is the new pc */
	VM_EV_WATCH,         /* a debug register matched; dr6 says which */
	VM_EV_SIGNAL,        /* a signal (Windows: an exception) for the thread */
	VM_EV_THREAD_START,  /* tid is the new thread */
	VM_EV_THREAD_EXIT,
	VM_EV_EXEC,          /* the process runs a new program */
	VM_EV_EXIT,          /* the process ended: code, or signal */
	VM_EV_FORK,          /* addr: the child, let go with every VM_CTL_RESTORE
			      * byte put back in it; code 1 vfork (memory shared
			      * with the parent until code 2, vfork done); code 3
			      * a fork followed (vm_control_follow_fork): the
			      * handle holds the child now, stopped, with every
			      * change kept, and the parent was let go as on close */
	VM_EV_SYSCALL,       /* the entry of a system call that touches a range
			      * of vm_control_watch_syscalls; code: its number.
			      * Resumed, it runs (stepped: it runs to its end).
			      * addr 1: the exit of one vm_control_syscall_exit
			      * asked for (rax its result) */
	VM_EV_MODULES,       /* the loader's module list changed (Windows: a DLL
			      * loaded or unloaded; Linux tells it by the
			      * dynamic linker's r_brk, a breakpoint) */
} vm_event_kind;

typedef struct vm_event {
	vm_event_kind kind;
	int64_t tid;     /* the thread it concerns */
	uint64_t addr;   /* see the kinds; SIGNAL: the fault address */
	uint64_t dr6;    /* WATCH (and STEP): the debug status */
	int signal;      /* SIGNAL: its number, delivered on resume unless
			  * discarded; EXIT: the one that killed it */
	int code;        /* SIGNAL: si_code; EXIT: the exit status */
	uint32_t exception; /* SIGNAL on Windows: the exception's code (NTSTATUS) */
	unsigned access; /* SIGNAL of a memory access: VM_PROT_READ/WRITE/EXEC
			  * when the OS says which (Windows), 0 when not */
} vm_event;

/* flags for writes and protection changes */
#define VM_CTL_RESTORE 0x1u /* undo when the handle closes (breakpoints) */

/* Take control of a live target (VM_CAP_CONTROL): every thread is held
 * stopped when it returns. A spawned target is taken over stopped at its
 * entry point. One handle per target at a time. */
vm_control *vm_control_open(vm_target *t);
/* Put back everything changed with VM_CTL_RESTORE and the debug
 * registers, deliver pending signals, and let every thread run free. */
int vm_control_close(vm_control *c);

/* the threads held, in the order they were found */
int vm_control_threads(vm_control *c, int64_t **tids, size_t *n);
/* stop every running thread / let every thread run */
int vm_control_stop(vm_control *c);
int vm_control_resume(vm_control *c);
/* run one instruction of tid (the others stay stopped); its
 * VM_EV_STEP comes from vm_control_wait */
int vm_control_step(vm_control *c, int64_t tid);
/* the next event, every thread stopped again; timeout_ms < 0 waits for
 * ever; VM_EV_NONE when the time ran out (threads keep running) */
int vm_control_wait(vm_control *c, int timeout_ms, vm_event *ev);
/* an event is waiting to be reported (met while stopping the others):
 * vm_control_wait returns it at once; resume leaves its thread stopped */
bool vm_control_pending(vm_control *c);
/* kill the process and collect every thread's end (the handle is then
 * only good for vm_control_close) */
int vm_control_kill(vm_control *c);
/* what a fork (not a vfork) does from now on: the child let go (false,
 * the default) or followed (true: VM_EV_FORK code 3) */
void vm_control_follow_fork(vm_control *c, bool child);
/* do not deliver the signal tid stopped with */
void vm_control_discard_signal(vm_control *c, int64_t tid);

/* registers of a stopped thread */
int vm_control_get_regs(vm_control *c, int64_t tid, vm_regs *r);
int vm_control_set_regs(vm_control *c, int64_t tid, const vm_regs *r);
int vm_control_get_fpregs(vm_control *c, int64_t tid, vm_fpregs *f);
int vm_control_set_fpregs(vm_control *c, int64_t tid, const vm_fpregs *f);
/* the XSAVE image (AVX and later state); its length, -1 on failure */
ssize_t vm_control_get_xstate(vm_control *c, int64_t tid, void *buf, size_t cap);
/* put an XSAVE image, as vm_control_get_xstate gave it, back */
int vm_control_set_xstate(vm_control *c, int64_t tid, const void *buf, size_t len);
/* debug register i (0-3, 6, 7) */
int vm_control_get_debugreg(vm_control *c, int64_t tid, int i, uint64_t *v);
int vm_control_set_debugreg(vm_control *c, int64_t tid, int i, uint64_t v);

/* memory, whatever its protection */
ssize_t vm_control_read(vm_control *c, uint64_t addr, void *buf, size_t len);
int vm_control_write(vm_control *c, uint64_t addr, const void *buf, size_t len, unsigned flags);
/* memory as the program itself may touch it: its page protections
 * apply (a read of a PROT_NONE page, a write to a read-only one fail);
 * the bytes done, -1 when none could be */
ssize_t vm_control_user_rw(vm_control *c, uint64_t addr, void *buf, size_t len, bool write);
/* what closing puts back at [addr, addr+len), where VM_CTL_RESTORE
 * writes were made, is buf from now on (a change meant to stay, made
 * under a breakpoint's byte) */
void vm_control_update_saved(vm_control *c, uint64_t addr, const void *buf, size_t len);
/* set the protection (VM_PROT_READ/WRITE/EXEC) of the pages under
 * [addr, addr+len) */
int vm_control_protect(vm_control *c, uint64_t addr, uint64_t len, unsigned prot, unsigned flags);
/* the same, the change made by stopped thread tid (one out of any
 * system call: the thread a fault stopped) */
int vm_control_protect_by(vm_control *c, int64_t tid, uint64_t addr, uint64_t len, unsigned prot, unsigned flags);
/* Write-protection by the kernel (Linux: userfaultfd, made inside the
 * target by stopped thread tid the first time): a write to a protected
 * page stops its thread with SIGBUS (si_code 2, the address) and is not
 * done. VM_WP_ON protects [addr, addr+len) (page-aligned), VM_WP_LIFT
 * lets writes through again, VM_WP_DROP forgets the range. All of it
 * ends with the handle (or vmatlas's death): nothing stays behind. */
#define VM_WP_ON 1
#define VM_WP_LIFT 0
#define VM_WP_DROP 2
int vm_control_write_protect(vm_control *c, int64_t tid, uint64_t addr, uint64_t len, int how);
/* Tell other vmatlas processes the original protection of the pages
 * whose protection this handle changed (memory breakpoints), so that
 * their maps show and use those (Linux: /tmp/vmatlas-UID/bpm-PID,
 * checked by the reader against /proc/PID/maps). n 0: no page any more.
 * Closing the handle, or vmatlas's death by a signal, takes it back. */
typedef struct vm_prot_page {
	uint64_t addr;
	unsigned orig, applied; /* VM_PROT_READ/WRITE/EXEC */
} vm_prot_page;
int vm_control_publish_prots(vm_control *c, const vm_prot_page *v, size_t n);
/* run system call nr inside stopped thread tid (its registers are put
 * back after); *ret is the call's result, a negative errno on failure */
int vm_control_syscall(vm_control *c, int64_t tid, long nr, const uint64_t args[6], int64_t *ret);

/* What a system call does to memory, as seen at its entry (the kernel
 * touches user memory without faulting: a memory breakpoint's page would
 * make it fail with EFAULT, and the program's own mprotect/munmap/mremap
 * change what the breakpoints stand on). */
typedef enum vm_sysmem_kind {
	VM_SYSMEM_READ = 1, /* the kernel reads [addr, addr+len) */
	VM_SYSMEM_WRITE,    /* ... writes it */
	VM_SYSMEM_PROTECT,  /* mprotect: prot is the new protection */
	VM_SYSMEM_UNMAP,    /* munmap, or a MAP_FIXED mmap over it */
	VM_SYSMEM_MOVE,     /* mremap: moves to the call's result, newlen long */
	VM_SYSMEM_DISCARD,  /* madvise DONTNEED/FREE/REMOVE: the data goes */
	VM_SYSMEM_RELEASE,  /* brk, shmdt: what is not mapped after the call went */
} vm_sysmem_kind;

typedef struct vm_sysmem {
	vm_sysmem_kind kind;
	uint64_t addr, len;
	uint64_t newlen;    /* MOVE */
	unsigned prot;      /* PROTECT: VM_PROT_* */
	bool counted;       /* READ/WRITE: the call's result is the bytes done
			     * over the counted ranges, in their order */
} vm_sysmem;

/* Stop at the entry of every system call whose memory (vm_sysmem)
 * touches one of ranges[0..n) (pairs addr, len) with VM_EV_SYSCALL; n 0
 * ends it. The other calls run on without reporting. */
int vm_control_watch_syscalls(vm_control *c, const uint64_t *ranges, size_t n);
/* the memory the system call thread tid stopped at the entry of (its
 * VM_EV_SYSCALL) touches: up to cap ranges into out, the count (-1 when
 * tid is not at such an entry); *name its name ("read") */
int vm_control_syscall_mem(vm_control *c, int64_t tid, vm_sysmem *out, size_t cap, const char **name);
/* report the exit of the system call tid is stopped at the entry of
 * (VM_EV_SYSCALL, addr 1) when it runs on (resumed, not stepped) */
int vm_control_syscall_exit(vm_control *c, int64_t tid);
/* let tid alone (the others held) run on to the exit of the system call
 * it is at the entry of, or about to make (VM_EV_SYSCALL, addr 1); again
 * after a stop with no news on the way (an all-stop of the others): on
 * to that exit; nothing when it runs or its event waits to be reported */
int vm_control_run_syscall(vm_control *c, int64_t tid);
/* does the process catch signal sig (a handler): 1 yes, 0 no, -1 unknown */
int vm_control_sig_handled(vm_control *c, int sig);
/* what closing puts back at [addr, addr+len) as a protection noted with
 * VM_CTL_RESTORE is prot from now on (the program changed it itself);
 * prot < 0: nothing (the memory was unmapped) */
void vm_control_update_saved_prot(vm_control *c, uint64_t addr, uint64_t len, int prot);
/* [addr, addr+len) was unmapped (a library unloaded): closing puts
 * nothing back there, neither bytes nor protections (what is mapped
 * there later is not ours to touch) */
void vm_control_forget(vm_control *c, uint64_t addr, uint64_t len);

#endif
