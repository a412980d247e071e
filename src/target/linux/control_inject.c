/* System calls run inside a stopped thread of a controlled process (how
 * write tracking makes a userfaultfd in the target, how protections
 * change), made safe at every instant: vmatlas may die between any two
 * ptrace requests, and the kernel then lets the thread go with whatever
 * registers it has at that moment.
 *
 * So the thread is never given registers it could not come back from by
 * itself. Before anything else, a signal frame holding its registers,
 * signal mask and FPU state is written below its stack (where a signal
 * handler's frame would go), and it is pointed at `mov $15,%rax;
 * syscall` — the rt_sigreturn trampoline every glibc and musl process
 * has. Let go there, it returns to where it was. At the entry of that
 * rt_sigreturn, the call is swapped for the one wanted and the thread
 * is sent back to the trampoline after it: let go after the call, it
 * still returns to where it was. After the call vmatlas puts its
 * registers back directly (the frame is only the way home if vmatlas is
 * gone) and the bytes under the stack as they were. A system call the
 * thread was in is restarted as the kernel would have restarted it.
 * Signals that arrive meanwhile stay pending (every one blocked) until
 * the thread is home. x86-64 only. */
#include "lxctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "ptrace.h"
#include "sigframe.h"
#include "teststep.h"
#include "vmatlas/error.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/user.h>

/* mov $15,%rax; syscall — glibc's and musl's __restore_rt */
static const uint8_t trampoline[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
#define TRAMP_LEN sizeof trampoline
#define NR_RT_SIGRETURN 15
#define RED_ZONE 128

/* the first trampoline in the process's executable mappings */
static uint64_t scan_for_trampoline(pid_t pid)
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
			if (got < (ssize_t)TRAMP_LEN)
				break;
			uint8_t *p = memmem(buf, (size_t)got, trampoline, TRAMP_LEN);
			if (p)
				found = at + (uint64_t)(p - buf);
			at += (uint64_t)got - (TRAMP_LEN - 1); /* it may straddle two reads */
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

/* a thread with a shadow stack would fault in rt_sigreturn */
static bool has_shadow_stack(pid_t pid, pid_t tid)
{
	char path[96], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	const char *l = strstr(buf, "x86_Thread_features:");
	const char *e = l ? strchr(l, '\n') : NULL;
	const char *s = l ? strstr(l, "shstk") : NULL;
	return s && (!e || s < e);
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
	if (has_shadow_stack(c->pid, tid)) {
		vm_seterr("thread %d runs with a shadow stack: vmatlas cannot inject system calls into it safely",
			  (int)tid);
		return -1;
	}
	c->syscall_insn = scan_for_trampoline(tid);
	if (!c->syscall_insn) {
		vm_seterr("no rt_sigreturn trampoline (mov $15,%%rax; syscall) in the code of process %d: "
			  "vmatlas cannot inject system calls into it safely",
			  (int)c->pid);
		return -1;
	}
	return 0;
}

/* the registers the thread goes on with: a system call it was in (or
 * about to enter) set up to run again, as the kernel would restart it
 * when no signal handler runs */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#define NR_RESTART_SYSCALL 219

static void resumable(pid_t tid, struct user_regs_struct *r)
{
	struct __ptrace_syscall_info si;
	memset(&si, 0, sizeof si);
	ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof si, &si);
	int64_t nr = (int64_t)r->orig_rax, rv = (int64_t)r->rax;
	if (nr >= 0) {
		if (si.op == PTRACE_SYSCALL_INFO_ENTRY || rv == -ERESTARTSYS || rv == -ERESTARTNOINTR ||
		    rv == -ERESTARTNOHAND) {
			r->rax = (uint64_t)nr;
			r->rip -= 2;
		} else if (rv == -ERESTART_RESTARTBLOCK) {
			r->rax = NR_RESTART_SYSCALL;
			r->rip -= 2;
		}
	}
	r->orig_rax = (uint64_t)-1;
}

static void to_gregs(const struct user_regs_struct *r, lx_gregs *g)
{
	*g = (lx_gregs){ .r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11, .r12 = r->r12,
			 .r13 = r->r13, .r14 = r->r14, .r15 = r->r15, .rdi = r->rdi, .rsi = r->rsi,
			 .rbp = r->rbp, .rbx = r->rbx, .rdx = r->rdx, .rax = r->rax, .rcx = r->rcx,
			 .rsp = r->rsp, .rip = r->rip, .eflags = r->eflags, .cs = r->cs, .ss = r->ss };
}

#define XFEATURE_XTILEDATA 18 /* enabled per process (arch_prctl): not in a default frame */

/* the size of a signal frame's XSAVE image for features xf: the end of
 * the last of them in the standard layout (CPUID leaf 0xd) */
static uint32_t xsave_size(uint64_t xf)
{
	uint32_t end = 576, a, b, c, d;
	for (unsigned i = 2; i < 64; i++) {
		if (!(xf >> i & 1))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);
		if (a + b > end)
			end = a + b;
	}
	(void)c, (void)d;
	return end;
}

/* The FPU state as an XSAVE image, with the features it holds and its
 * size in a signal frame (*xsize 0: an FXSAVE image, no XSAVE here). */
static ssize_t read_fpu(pid_t tid, uint8_t *buf, size_t cap, uint64_t *xf, uint32_t *xsize)
{
	struct iovec iov = { buf, cap };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) == 0 && iov.iov_len >= 576) {
		memcpy(xf, buf + 464, 8); /* XCR0, where ptrace puts it */
		*xf &= ~(1ull << XFEATURE_XTILEDATA);
		*xsize = xsave_size(*xf);
		return (ssize_t)iov.iov_len;
	}
	*xf = 0;
	*xsize = 0;
	iov.iov_len = 512;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRFPREG, &iov) == 0)
		return (ssize_t)iov.iov_len;
	return -1;
}

static bool mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };
	ssize_t n = write ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
	if (n == (ssize_t)len)
		return true;
	/* a page without the access (a memory breakpoint's, under the
	 * stack): /proc/PID/mem goes through protections as a debugger's
	 * reads do (the path built by hand: this runs at signal time too) */
	char path[32] = "/proc/", digits[12];
	int nd = 0;
	for (unsigned v = (unsigned)pid; v || !nd; v /= 10)
		digits[nd++] = (char)('0' + v % 10);
	size_t k = 6;
	while (nd)
		path[k++] = digits[--nd];
	memcpy(path + k, "/mem", 5);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)len;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define STUB_WAIT_MS 10000

/* Resume with PTRACE_SYSCALL until the stub's own system-call stop
 * (op, at ip with stack pointer sp); the stops of a signal handler's
 * calls are passed over, signals are delivered. */
static int to_stub_stop(pid_t tid, int op, uint64_t ip, uint64_t sp, struct __ptrace_syscall_info *si)
{
	uint64_t end = mono_ms() + STUB_WAIT_MS;
	int sig = 0;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, tid, 0, (void *)(long)sig) < 0)
			return -1;
		sig = 0;
		int st = 0;
		pid_t w;
		for (unsigned spin = 0; (w = waitpid(tid, &st, __WALL | WNOHANG)) == 0 || (w < 0 && errno == EINTR);
		     spin++) {
			if (mono_ms() >= end) {
				/* a handler blocked in a call of its own: stop it and
				 * let the caller go; the thread finds its way back */
				int ignored;
				lx_ensure_stopped(tid, &ignored);
				errno = ETIMEDOUT;
				return -1;
			}
			struct timespec ts = { 0, spin < 200 ? 20000 : 1000000 };
			nanosleep(&ts, NULL);
		}
		if (w < 0)
			return -1;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			errno = ESRCH;
			return -1;
		}
		if (!WIFSTOPPED(st))
			continue;
		int s = WSTOPSIG(st), event = st >> 16;
		if (s == (SIGTRAP | 0x80)) {
			memset(si, 0, sizeof *si);
			if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof *si, si) <= 0)
				return -1;
			if (si->op == op && si->instruction_pointer == ip && si->stack_pointer == sp)
				return 0;
			continue;
		}
		if (event == 0)
			sig = s; /* a signal: delivered now, its handler returns to the stub */
		/* group stops and interrupts: go on */
	}
}

int lxc_syscall_raw(pid_t tid, uint64_t tramp, long nr, const uint64_t args[6], int64_t *ret, int *pending_sig)
{
	*pending_sig = 0; /* signals are delivered as they come */
	/* big buffers: static would not be reentrant, and this runs at
	 * signal time too (no heap) */
	struct user_regs_struct saved, r;
	uint8_t fp[LX_XSTATE_MAX];
	lx_frame f;
	uint8_t under[LX_FRAME_MAX];
	uint64_t mask = 0;
	if (getregs(tid, &saved) < 0)
		return -1;
	resumable(tid, &saved);
	lx_gregs back;
	to_gregs(&saved, &back);
	uint64_t xf;
	uint32_t xsize;
	ssize_t fplen = read_fpu(tid, fp, sizeof fp, &xf, &xsize);
	if (fplen < 0 || ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof mask, &mask) < 0)
		return -1;
	if (saved.rsp < RED_ZONE ||
	    lx_frame_build(&f, saved.rsp - RED_ZONE, &back, mask, fp, (size_t)fplen, xf, xsize) < 0) {
		errno = E2BIG;
		return -1;
	}
	/* below the red zone: memory a signal handler's frame may take too */
	if (!mem_io(tid, f.addr, under, f.len, false))
		return -1;
	if (!mem_io(tid, f.addr, f.bytes, f.len, true)) {
		int e = errno;
		mem_io(tid, f.addr, under, f.len, true);
		errno = e;
		return -1;
	}
	lx_test_step();

	/* from here on, let go, the thread returns to `saved` by itself */
	r = saved;
	r.rip = tramp;
	r.rsp = f.sp;
	int rc = -1;
	struct __ptrace_syscall_info si;
	if (setregs(tid, &r) < 0) {
		int e = errno;
		mem_io(tid, f.addr, under, f.len, true);
		errno = e;
		return -1;
	}
	/* signals wait (pending, with their siginfo) until the thread is
	 * home: a handler run now could find memory a breakpoint protected
	 * or lifted. Let go from here on, rt_sigreturn puts the mask back. */
	uint64_t block = ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
	ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof block, &block);
	lx_test_step();
	if (to_stub_stop(tid, PTRACE_SYSCALL_INFO_ENTRY, tramp + TRAMP_LEN, f.sp, &si) < 0)
		return -1;
	lx_test_step();
	if (getregs(tid, &r) < 0)
		return -1;
	/* the call instead of rt_sigreturn, and the trampoline after it */
	r.orig_rax = (uint64_t)nr;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	r.rip = tramp;
	if (setregs(tid, &r) < 0)
		return -1;
	lx_test_step();
	if (to_stub_stop(tid, PTRACE_SYSCALL_INFO_EXIT, tramp, f.sp, &si) < 0)
		return -1;
	lx_test_step();
	*ret = si.exit.rval;
	/* home directly: rt_sigreturn would also cancel a restart_syscall
	 * (the mask first: let go in between, the frame still has it) */
	ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof mask, &mask);
	if (setregs(tid, &saved) == 0) {
		rc = 0;
		mem_io(tid, f.addr, under, f.len, true);
	}
	return rc;
}

int lxc_syscall(lx_control *c, pid_t tid, long nr, const uint64_t args[6], int64_t *ret)
{
	lxc_thread *t = lxc_stopped(c, tid);
	if (!t || lxc_find_syscall_insn(c, tid) < 0)
		return -1;
	int ignored;
	t->regs_ok = false; /* put back after, but not on every failure */
	int rc = lxc_syscall_raw(tid, c->syscall_insn, nr, args, ret, &ignored);
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

int lxc_syscall_raw(pid_t tid, uint64_t tramp, long nr, const uint64_t args[6], int64_t *ret, int *pending_sig)
{
	(void)tid, (void)tramp, (void)nr, (void)args, (void)ret, (void)pending_sig;
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
