/* System calls run inside a stopped thread of a controlled process (how
 * write tracking makes a userfaultfd in the target's own address space,
 * and how protections change): its registers are saved, pointed at a
 * `syscall` instruction already in its code, stepped through the call
 * with PTRACE_SYSCALL, and restored, with an interrupted system call set
 * up to restart exactly as the kernel would have done. x86-64 only. */
#include "lxctl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "ptrace.h"
#include "vmatlas/error.h"

#ifndef NT_PRSTATUS
#define NT_PRSTATUS 1
#endif

#if defined(__x86_64__)
#include <sys/user.h>

static bool is_syscall_insn(pid_t pid, uint64_t addr)
{
	uint8_t b[2];
	struct iovec l = { b, 2 }, r = { (void *)(uintptr_t)addr, 2 };
	return process_vm_readv(pid, &l, 1, &r, 1, 0) == 2 && b[0] == 0x0f && b[1] == 0x05;
}

/* the first `syscall` (0f 05) in the process's executable mappings */
static uint64_t scan_for_syscall(pid_t pid)
{
	char path[64], line[4608];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t cap = 1u << 20;
	uint8_t *buf = xmalloc(cap);
	uint64_t found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long long lo, hi;
		char perms[5];
		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3 || perms[0] != 'r' || perms[2] != 'x')
			continue;
		for (uint64_t at = lo; at < hi && !found;) {
			size_t n = hi - at < cap ? (size_t)(hi - at) : cap;
			struct iovec l = { buf, n }, r = { (void *)(uintptr_t)at, n };
			ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
			if (got < 2)
				break;
			uint8_t *p = memmem(buf, (size_t)got, "\x0f\x05", 2);
			if (p)
				found = at + (uint64_t)(p - buf);
			at += (uint64_t)got - 1; /* the pair may straddle two reads */
		}
	}
	free(buf);
	fclose(f);
	return found;
}

static int getregs(pid_t tid, struct user_regs_struct *r)
{
	struct iovec iov = { r, sizeof *r };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -1;
	if (iov.iov_len != sizeof *r) {
		errno = ENOEXEC; /* a 32-bit process */
		return -1;
	}
	return 0;
}

static int setregs(pid_t tid, struct user_regs_struct *r)
{
	struct iovec iov = { r, sizeof *r };
	return (int)ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov);
}

int lxc_find_syscall_insn(lx_control *c, pid_t tid)
{
	if (c->syscall_insn)
		return 0;
	struct user_regs_struct r;
	if (getregs(tid, &r) < 0) {
		if (errno == ENOEXEC)
			vm_seterr("thread %d is a 32-bit thread: system calls are injected into 64-bit processes only",
				  (int)tid);
		else
			vm_seterr_errno("reading the registers of thread %d", (int)tid);
		return -1;
	}
	/* a thread stopped in a system call sits just after its instruction */
	if (r.rip >= 2 && is_syscall_insn(tid, r.rip - 2))
		c->syscall_insn = r.rip - 2;
	else
		c->syscall_insn = scan_for_syscall(tid);
	if (!c->syscall_insn) {
		vm_seterr("no system call instruction found in the code of process %d", (int)c->pid);
		return -1;
	}
	return 0;
}

/* resume with PTRACE_SYSCALL until the next system-call stop; other
 * stops (a signal arriving, a group stop, an interrupt) are noted and
 * passed over */
static int to_syscall_stop(pid_t tid, int *pending_sig)
{
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
			return -1;
		int st;
		pid_t r;
		while ((r = waitpid(tid, &st, __WALL)) < 0 && errno == EINTR)
			;
		if (r < 0)
			return -1;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			errno = ESRCH;
			return -1;
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st);
		if (sig == (SIGTRAP | 0x80))
			return 0;
		if ((st >> 16) == 0 && sig != SIGTRAP)
			*pending_sig = sig; /* delivered when we let go */
	}
}

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#define NR_RESTART_SYSCALL 219

int lxc_syscall_raw(pid_t tid, uint64_t insn, long nr, const uint64_t args[6], int64_t *ret, int *pending_sig)
{
	struct user_regs_struct saved, r;
	if (getregs(tid, &saved) < 0)
		return -1;
	r = saved;
	r.rip = insn;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1; /* not in a system call: nothing to restart */
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	int rc = 0;
	if (setregs(tid, &r) < 0 || to_syscall_stop(tid, pending_sig) < 0 /* entry */ ||
	    to_syscall_stop(tid, pending_sig) < 0 /* exit */ || getregs(tid, &r) < 0)
		rc = -1;
	else
		*ret = (int64_t)r.rax;
	int e = errno;
	/* The thread was stopped on its way out of an interrupted call; the
	 * kernel restarts such a call only on the path we took it off, so
	 * restart it here the way it would have. */
	if ((int64_t)saved.orig_rax >= 0) {
		int64_t rv = (int64_t)saved.rax;
		if (rv == -ERESTARTSYS || rv == -ERESTARTNOINTR || rv == -ERESTARTNOHAND) {
			saved.rax = saved.orig_rax;
			saved.rip -= 2;
		} else if (rv == -ERESTART_RESTARTBLOCK) {
			saved.rax = NR_RESTART_SYSCALL;
			saved.rip -= 2;
		}
	}
	if (setregs(tid, &saved) < 0 && rc == 0) {
		e = errno;
		rc = -1;
	}
	errno = e;
	return rc;
}

int lxc_syscall(lx_control *c, pid_t tid, long nr, const uint64_t args[6], int64_t *ret)
{
	lxc_thread *t = lxc_stopped(c, tid);
	if (!t || lxc_find_syscall_insn(c, tid) < 0)
		return -1;
	int sig = 0;
	int rc = lxc_syscall_raw(tid, c->syscall_insn, nr, args, ret, &sig);
	if (sig && !t->sig) {
		t->sig = sig; /* delivered when it runs again */
		lx_hold_set_sig(tid, sig);
	}
	if (rc < 0)
		vm_seterr_errno("running system call %ld in thread %d", nr, (int)tid);
	return rc;
}

#else

int lxc_find_syscall_insn(lx_control *c, pid_t tid)
{
	(void)c;
	vm_seterr("injecting system calls is implemented for x86-64 only (thread %d)", (int)tid);
	return -1;
}

int lxc_syscall_raw(pid_t tid, uint64_t insn, long nr, const uint64_t args[6], int64_t *ret, int *pending_sig)
{
	(void)tid, (void)insn, (void)nr, (void)args, (void)ret, (void)pending_sig;
	errno = ENOSYS;
	return -1;
}

int lxc_syscall(lx_control *c, pid_t tid, long nr, const uint64_t args[6], int64_t *ret)
{
	(void)nr, (void)args, (void)ret;
	return lxc_find_syscall_insn(c, tid);
}

#endif

int lxc_syscall_op(vm_control *vc, int64_t tid, long nr, const uint64_t args[6], int64_t *ret)
{
	lx_control *c = (lx_control *)vc;
	if (tid <= 0 || tid > INT32_MAX) {
		vm_seterr("no thread %lld", (long long)tid);
		return -1;
	}
	return lxc_syscall(c, (pid_t)tid, nr, args, ret);
}
