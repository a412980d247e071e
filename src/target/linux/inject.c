/* Running system calls inside a stopped thread of another process (the
 * way write tracking gets a userfaultfd made in the target's own address
 * space): its registers are saved, pointed at a `syscall` instruction
 * already in its code, stepped through the call with PTRACE_SYSCALL, and
 * restored, with an interrupted system call set up to restart exactly as
 * the kernel would have done. x86-64 only. */
#include "inject.h"

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

struct lx_inject {
	pid_t tid;
	struct user_regs_struct saved;
	uint64_t insn;    /* address of a `syscall` instruction */
	int pending_sig;  /* a signal that arrived meanwhile, delivered on release */
};

static bool is_syscall_insn(pid_t pid, uint64_t addr)
{
	uint8_t b[2];
	struct iovec l = { b, 2 }, r = { (void *)(uintptr_t)addr, 2 };
	return process_vm_readv(pid, &l, 1, &r, 1, 0) == 2 && b[0] == 0x0f && b[1] == 0x05;
}

/* the first `syscall` (0f 05) in the process's executable mappings */
static uint64_t find_syscall_insn(pid_t pid)
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

lx_inject *lx_inject_begin(pid_t tid)
{
	lx_inject *in = xcalloc(1, sizeof *in);
	in->tid = tid;
	if (getregs(tid, &in->saved) < 0) {
		if (errno == ENOEXEC)
			vm_seterr("thread %d is a 32-bit thread: system calls are injected into 64-bit processes only",
				  (int)tid);
		else
			vm_seterr_errno("reading the registers of thread %d", (int)tid);
		free(in);
		return NULL;
	}
	/* a thread stopped in a system call sits just after its instruction */
	if (in->saved.rip >= 2 && is_syscall_insn(tid, in->saved.rip - 2))
		in->insn = in->saved.rip - 2;
	else
		in->insn = find_syscall_insn(tid);
	if (!in->insn) {
		vm_seterr("no system call instruction found in the code of process %d", (int)tid);
		free(in);
		return NULL;
	}
	if (ptrace(PTRACE_SETOPTIONS, tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0) {
		vm_seterr_errno("setting ptrace options on thread %d", (int)tid);
		free(in);
		return NULL;
	}
	return in;
}

/* resume with PTRACE_SYSCALL until the next system-call stop; other
 * stops (a signal arriving, a group stop) are noted and passed over */
static int to_syscall_stop(lx_inject *in)
{
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, in->tid, 0, 0) < 0)
			return -1;
		int st;
		pid_t r;
		while ((r = waitpid(in->tid, &st, __WALL)) < 0 && errno == EINTR)
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
			in->pending_sig = sig; /* delivered when we let go */
	}
}

int lx_inject_syscall(lx_inject *in, long nr, const uint64_t args[6], int64_t *ret)
{
	struct user_regs_struct r = in->saved;
	r.rip = in->insn;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1; /* not in a system call: nothing to restart */
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	if (setregs(in->tid, &r) < 0 || to_syscall_stop(in) < 0 /* entry */ ||
	    to_syscall_stop(in) < 0 /* exit */ || getregs(in->tid, &r) < 0) {
		vm_seterr_errno("running system call %ld in thread %d", nr, (int)in->tid);
		return -1;
	}
	*ret = (int64_t)r.rax;
	return 0;
}

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#define NR_RESTART_SYSCALL 219

int lx_inject_end(lx_inject *in)
{
	if (!in)
		return 0;
	struct user_regs_struct r = in->saved;
	/* The thread was stopped on its way out of an interrupted call; the
	 * kernel restarts such a call only on the path we took it off, so
	 * restart it here the way it would have. */
	if ((int64_t)r.orig_rax >= 0) {
		int64_t rv = (int64_t)r.rax;
		if (rv == -ERESTARTSYS || rv == -ERESTARTNOINTR || rv == -ERESTARTNOHAND) {
			r.rax = r.orig_rax;
			r.rip -= 2;
		} else if (rv == -ERESTART_RESTARTBLOCK) {
			r.rax = NR_RESTART_SYSCALL;
			r.rip -= 2;
		}
	}
	int rc = setregs(in->tid, &r);
	if (rc < 0)
		vm_seterr_errno("restoring the registers of thread %d", (int)in->tid);
	lx_release(in->tid, in->pending_sig);
	free(in);
	return rc;
}

#else

lx_inject *lx_inject_begin(pid_t tid)
{
	vm_seterr("injecting system calls is implemented for x86-64 only (thread %d)", (int)tid);
	return NULL;
}

int lx_inject_syscall(lx_inject *in, long nr, const uint64_t args[6], int64_t *ret)
{
	(void)in, (void)nr, (void)args, (void)ret;
	return -1;
}

int lx_inject_end(lx_inject *in)
{
	(void)in;
	return 0;
}

#endif
