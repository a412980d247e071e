/* Registers of x86-64 threads (and i386 threads under an x86-64 kernel). */
#include "ptrace.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <signal.h>

#include "vmatlas/error.h"

#if defined(__x86_64__)
#include <asm/ldt.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

vm_arch lx_arch(void)
{
	return VM_ARCH_X86_64;
}

static void put(vm_thread *th, const char *name, uint64_t v)
{
	if (th->nregs < VM_THREAD_MAX_REGS) {
		th->regs[th->nregs].name = name;
		th->regs[th->nregs].value = v;
		th->nregs++;
	}
}

/* the i386 user_regs_struct, as the kernel gives it for 32-bit tasks */
struct i386_regs {
	uint32_t ebx, ecx, edx, esi, edi, ebp, eax, xds, xes, xfs, xgs, orig_eax, eip, xcs,
		eflags, esp, xss;
};

int lx_regs_read(pid_t tid, vm_thread *th)
{
	union {
		struct user_regs_struct r64;
		struct i386_regs r32;
	} u;
	struct iovec iov = { &u, sizeof u };
	memset(&u, 0, sizeof u);
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0) {
		vm_seterr_errno("reading the registers of thread %d", (int)tid);
		return -1;
	}
	th->nregs = 0;
	if (iov.iov_len == sizeof(struct i386_regs)) {
		const struct i386_regs *r = &u.r32;
		static const char *names[] = { "ebx", "ecx", "edx", "esi", "edi", "ebp",
					       "eax", "ds", "es", "fs", "gs", "orig_eax",
					       "eip", "cs", "eflags", "esp", "ss" };
		const uint32_t *v = (const uint32_t *)r;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			put(th, names[i], v[i]);
		th->pc = r->eip;
		th->sp = r->esp;
		th->fp = r->ebp;
		/* the i386 thread pointer is the base of the TLS descriptor
		 * that %gs selects */
		struct user_desc desc;
		memset(&desc, 0, sizeof desc);
		th->tp = 0;
		if (ptrace(PTRACE_GET_THREAD_AREA, tid, (void *)(uintptr_t)(r->xgs >> 3), &desc) == 0) {
			th->tp = desc.base_addr;
			put(th, "gs_base", desc.base_addr);
		}
	} else {
		const struct user_regs_struct *r = &u.r64;
		put(th, "rax", r->rax);
		put(th, "rbx", r->rbx);
		put(th, "rcx", r->rcx);
		put(th, "rdx", r->rdx);
		put(th, "rsi", r->rsi);
		put(th, "rdi", r->rdi);
		put(th, "rbp", r->rbp);
		put(th, "rsp", r->rsp);
		put(th, "r8", r->r8);
		put(th, "r9", r->r9);
		put(th, "r10", r->r10);
		put(th, "r11", r->r11);
		put(th, "r12", r->r12);
		put(th, "r13", r->r13);
		put(th, "r14", r->r14);
		put(th, "r15", r->r15);
		put(th, "rip", r->rip);
		put(th, "eflags", r->eflags);
		put(th, "cs", r->cs);
		put(th, "ss", r->ss);
		put(th, "ds", r->ds);
		put(th, "es", r->es);
		put(th, "fs", r->fs);
		put(th, "gs", r->gs);
		put(th, "fs_base", r->fs_base);
		put(th, "gs_base", r->gs_base);
		put(th, "orig_rax", r->orig_rax);
		th->pc = r->rip;
		th->sp = r->rsp;
		th->fp = r->rbp;
		th->tp = r->fs_base;
	}
	th->regs_valid = true;
	th->sp_valid = true;
	return 0;
}

__attribute__((noinline)) void lx_regs_self(vm_thread *th)
{
	uint64_t sp, bp, fsb = 0;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	__asm__ volatile("mov %%rbp, %0" : "=r"(bp));
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fsb);
	th->nregs = 0;
	th->pc = (uint64_t)(uintptr_t)__builtin_return_address(0);
	th->sp = sp;
	th->fp = bp;
	th->tp = fsb;
	put(th, "rip", th->pc);
	put(th, "rsp", sp);
	put(th, "rbp", bp);
	put(th, "fs_base", fsb);
	th->regs_valid = true;
	th->sp_valid = true;
}

#else

vm_arch lx_arch(void)
{
#if defined(__aarch64__)
	return VM_ARCH_AARCH64;
#elif defined(__i386__)
	return VM_ARCH_I386;
#else
	return VM_ARCH_UNKNOWN;
#endif
}

int lx_regs_read(pid_t tid, vm_thread *th)
{
	(void)th;
	vm_seterr("reading registers of thread %d: not supported on this architecture", (int)tid);
	errno = ENOSYS;
	return -1;
}

void lx_regs_self(vm_thread *th)
{
	int local;
	th->sp = (uint64_t)(uintptr_t)&local;
	th->pc = (uint64_t)(uintptr_t)__builtin_return_address(0);
	th->sp_valid = true;
}

#endif

/* Point a stopped thread (64- or 32-bit) at addr. */
#if defined(__x86_64__)
int lx_set_pc(pid_t tid, uint64_t addr)
{
	union {
		struct user_regs_struct r64;
		struct i386_regs r32;
	} u;
	struct iovec iov = { &u, sizeof u };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0) {
		vm_seterr_errno("reading the registers of thread %d", (int)tid);
		return -1;
	}
	if (iov.iov_len == sizeof(struct i386_regs))
		u.r32.eip = (uint32_t)addr;
	else
		u.r64.rip = addr;
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0) {
		vm_seterr_errno("setting the pc of thread %d", (int)tid);
		return -1;
	}
	return 0;
}
#else
int lx_set_pc(pid_t tid, uint64_t addr)
{
	(void)addr;
	vm_seterr("setting the pc of thread %d: not supported on this architecture", (int)tid);
	return -1;
}
#endif
