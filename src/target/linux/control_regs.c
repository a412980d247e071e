/* Registers of a controlled thread: general purpose (NT_PRSTATUS), x87
 * and SSE (NT_PRFPREG), the XSAVE image (NT_X86_XSTATE), and the debug
 * registers in struct user. x86-64 threads; an i386 thread's general
 * registers in the x86-64 layout. */
#include "lxctl.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "ptrace.h"
#include "vmatlas/error.h"

#if defined(__x86_64__)
#include <sys/user.h>

static int getset(pid_t tid, int req, int note, void *buf, size_t len, const char *what)
{
	struct iovec iov = { buf, len };
	if (ptrace(req, tid, (void *)(long)note, &iov) < 0) {
		vm_seterr_errno("%s the %s of thread %d", req == PTRACE_GETREGSET ? "reading" : "writing", what,
				(int)tid);
		return -1;
	}
	if (req == PTRACE_GETREGSET && iov.iov_len != len) {
		vm_seterr("thread %d is not a 64-bit thread: its %s are not x86-64 ones", (int)tid, what);
		return -1;
	}
	return 0;
}

static void from_user(const struct user_regs_struct *u, vm_regs *r)
{
	*r = (vm_regs){ u->rax, u->rbx, u->rcx, u->rdx, u->rsi, u->rdi, u->rbp, u->rsp,
			u->r8, u->r9, u->r10, u->r11, u->r12, u->r13, u->r14, u->r15,
			u->rip, u->eflags, u->cs, u->ss, u->ds, u->es, u->fs, u->gs,
			u->fs_base, u->gs_base, u->orig_rax };
}

static void to_user(const vm_regs *r, struct user_regs_struct *u)
{
	u->rax = r->rax, u->rbx = r->rbx, u->rcx = r->rcx, u->rdx = r->rdx;
	u->rsi = r->rsi, u->rdi = r->rdi, u->rbp = r->rbp, u->rsp = r->rsp;
	u->r8 = r->r8, u->r9 = r->r9, u->r10 = r->r10, u->r11 = r->r11;
	u->r12 = r->r12, u->r13 = r->r13, u->r14 = r->r14, u->r15 = r->r15;
	u->rip = r->rip, u->eflags = r->rflags, u->cs = r->cs, u->ss = r->ss;
	u->ds = r->ds, u->es = r->es, u->fs = r->fs, u->gs = r->gs;
	u->fs_base = r->fs_base, u->gs_base = r->gs_base, u->orig_rax = r->orig_rax;
}

/* An i386 thread: PTRACE_GETREGS/SETREGS give its registers in the
 * tracer's (x86-64) layout, eax in rax, eip in rip, the top halves 0;
 * the regset calls would give the i386 one. */
static bool is_i386(pid_t tid)
{
	struct user_regs_struct u;
	struct iovec iov = { &u, sizeof u };
	return ptrace(PTRACE_GETREGSET, tid, (void *)(long)NT_PRSTATUS, &iov) == 0 && iov.iov_len != sizeof u;
}

static int compat_regs(pid_t tid, int req, struct user_regs_struct *u)
{
	if (ptrace(req, tid, 0, u) < 0) {
		vm_seterr_errno("%s the registers of thread %d", req == PTRACE_GETREGS ? "reading" : "writing", (int)tid);
		return -1;
	}
	return 0;
}

int lxc_get_regs(vm_control *vc, int64_t tid, vm_regs *r)
{
	lxc_thread *t = lxc_stopped((lx_control *)vc, tid);
	struct user_regs_struct u;
	struct iovec iov = { &u, sizeof u };
	if (!t)
		return -1;
	if (t->regs_ok) {
		*r = t->regs;
		return 0;
	}
	if (ptrace(PTRACE_GETREGSET, t->tid, (void *)(long)NT_PRSTATUS, &iov) < 0) {
		vm_seterr_errno("reading the registers of thread %d", (int)t->tid);
		return -1;
	}
	t->i386 = iov.iov_len != sizeof u;
	if (t->i386 && compat_regs(t->tid, PTRACE_GETREGS, &u) < 0)
		return -1;
	from_user(&u, r);
	t->regs = *r;
	t->regs_ok = true;
	return 0;
}

int lxc_set_regs(vm_control *vc, int64_t tid, const vm_regs *r)
{
	lxc_thread *t = lxc_stopped((lx_control *)vc, tid);
	struct user_regs_struct u;
	if (!t)
		return -1;
	to_user(r, &u);
	if (t->i386 < 0)
		t->i386 = is_i386(t->tid);
	t->regs_ok = false;
	int rc = t->i386 ? compat_regs(t->tid, PTRACE_SETREGS, &u)
			 : getset(t->tid, PTRACE_SETREGSET, NT_PRSTATUS, &u, sizeof u, "registers");
	/* what the kernel keeps may differ a little (segments, flags
	 * bits): read again when asked */
	return rc;
}

int lxc_get_fpregs(vm_control *vc, int64_t tid, vm_fpregs *f)
{
	lxc_thread *t = lxc_stopped((lx_control *)vc, tid);
	_Static_assert(sizeof(struct user_fpregs_struct) == sizeof f->fxsave, "the FXSAVE image");
	return t ? getset(t->tid, PTRACE_GETREGSET, NT_PRFPREG, f->fxsave, sizeof f->fxsave, "FP registers") : -1;
}

int lxc_set_fpregs(vm_control *vc, int64_t tid, const vm_fpregs *f)
{
	lxc_thread *t = lxc_stopped((lx_control *)vc, tid);
	vm_fpregs copy = *f; /* the iovec is not const */
	return t ? getset(t->tid, PTRACE_SETREGSET, NT_PRFPREG, copy.fxsave, sizeof copy.fxsave, "FP registers")
		 : -1;
}

ssize_t lxc_get_xstate(vm_control *vc, int64_t tid, void *buf, size_t cap)
{
	lxc_thread *t = lxc_stopped((lx_control *)vc, tid);
	if (!t)
		return -1;
	struct iovec iov = { buf, cap };
	if (ptrace(PTRACE_GETREGSET, t->tid, (void *)(long)NT_X86_XSTATE, &iov) < 0) {
		vm_seterr_errno("reading the XSAVE state of thread %d", (int)t->tid);
		return -1;
	}
	return (ssize_t)iov.iov_len;
}

int lxc_set_xstate(vm_control *vc, int64_t tid, const void *buf, size_t len)
{
	lxc_thread *t = lxc_stopped((lx_control *)vc, tid);
	if (!t)
		return -1;
	struct iovec iov = { (void *)(uintptr_t)buf, len }; /* not written: SETREGSET reads it */
	if (ptrace(PTRACE_SETREGSET, t->tid, (void *)(long)NT_X86_XSTATE, &iov) < 0) {
		vm_seterr_errno("writing the XSAVE state of thread %d", (int)t->tid);
		return -1;
	}
	return 0;
}

int lxc_get_debugreg(vm_control *vc, int64_t tid, int i, uint64_t *v)
{
	lxc_thread *t = lxc_stopped((lx_control *)vc, tid);
	if (!t)
		return -1;
	errno = 0;
	long x = ptrace(PTRACE_PEEKUSER, t->tid, (void *)LX_DR_OFFSET(i), 0);
	if (errno) {
		vm_seterr_errno("reading DR%d of thread %d", i, (int)t->tid);
		return -1;
	}
	*v = (uint64_t)x;
	return 0;
}

int lxc_set_debugreg(vm_control *vc, int64_t tid, int i, uint64_t v)
{
	lx_control *c = (lx_control *)vc;
	lxc_thread *t = lxc_stopped(c, tid);
	if (!t)
		return -1;
	if (i != 6) {
		c->debugregs_used = true;
		lx_debugregs_used(); /* a fatal signal clears DR7 too */
	}
	if (ptrace(PTRACE_POKEUSER, t->tid, (void *)LX_DR_OFFSET(i), (void *)(uintptr_t)v) < 0) {
		vm_seterr_errno("setting DR%d of thread %d to 0x%llx", i, (int)t->tid, (unsigned long long)v);
		return -1;
	}
	return 0;
}

#else

static int unsupported(void)
{
	vm_seterr("execution control is implemented for x86-64 only");
	return -1;
}

int lxc_get_regs(vm_control *vc, int64_t tid, vm_regs *r)
{
	(void)vc, (void)tid, (void)r;
	return unsupported();
}

int lxc_set_regs(vm_control *vc, int64_t tid, const vm_regs *r)
{
	(void)vc, (void)tid, (void)r;
	return unsupported();
}

int lxc_get_fpregs(vm_control *vc, int64_t tid, vm_fpregs *f)
{
	(void)vc, (void)tid, (void)f;
	return unsupported();
}

int lxc_set_fpregs(vm_control *vc, int64_t tid, const vm_fpregs *f)
{
	(void)vc, (void)tid, (void)f;
	return unsupported();
}

ssize_t lxc_get_xstate(vm_control *vc, int64_t tid, void *buf, size_t cap)
{
	(void)vc, (void)tid, (void)buf, (void)cap;
	return unsupported();
}

int lxc_set_xstate(vm_control *vc, int64_t tid, const void *buf, size_t len)
{
	(void)vc, (void)tid, (void)buf, (void)len;
	return unsupported();
}

int lxc_get_debugreg(vm_control *vc, int64_t tid, int i, uint64_t *v)
{
	(void)vc, (void)tid, (void)i, (void)v;
	return unsupported();
}

int lxc_set_debugreg(vm_control *vc, int64_t tid, int i, uint64_t v)
{
	(void)vc, (void)tid, (void)i, (void)v;
	return unsupported();
}

#endif
