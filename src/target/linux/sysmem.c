/* What a system call does to user memory, read at its entry stop: the
 * buffers the kernel reads or writes (it copies without faulting, so a
 * page a memory breakpoint protected makes the call fail with EFAULT),
 * and the program's own changes of mappings (mprotect, munmap, mremap,
 * madvise, a MAP_FIXED mmap). x86-64 numbers; a call not listed touches
 * nothing here (ioctl, fcntl, setsockopt ... and the rarer calls). */
#include "lxctl.h"

#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>

#include "vmatlas/error.h"

#define MAX_IOV 64 /* iovec entries looked at per call */

#define R VM_SYSMEM_READ
#define W VM_SYSMEM_WRITE

typedef struct sysctx {
	lx_control *c;
	vm_sysmem *out;
	size_t n, cap;
} sysctx;

static void add(sysctx *x, vm_sysmem_kind kind, uint64_t addr, uint64_t len, bool counted)
{
	if (!len || x->n == x->cap)
		return;
	if (addr + len < addr)
		len = UINT64_MAX - addr; /* a wrapping length from the program */
	x->out[x->n++] = (vm_sysmem){ .kind = kind, .addr = addr, .len = len, .counted = counted };
}

static uint64_t rd64(sysctx *x, uint64_t addr)
{
	uint64_t v = 0;
	if (lxc_read_op(&x->c->base, addr, &v, sizeof v) != (ssize_t)sizeof v)
		return 0;
	return v;
}

/* an iovec array: the array itself is read, each buffer is kind */
static void iovecs(sysctx *x, uint64_t iov, uint64_t cnt, vm_sysmem_kind kind)
{
	if (cnt > MAX_IOV)
		cnt = MAX_IOV;
	add(x, R, iov, cnt * 16, false);
	for (uint64_t i = 0; i < cnt; i++)
		add(x, kind, rd64(x, iov + 16 * i), rd64(x, iov + 16 * i + 8), true);
}

/* struct msghdr: name, namelen, iov, iovlen, control, controllen, flags */
static void msghdr(sysctx *x, uint64_t m, vm_sysmem_kind kind)
{
	add(x, R, m, 56, false);
	uint64_t name = rd64(x, m), namelen = rd64(x, m + 8) & 0xffffffffu;
	uint64_t ctl = rd64(x, m + 32), ctllen = rd64(x, m + 40);
	add(x, kind, name, namelen, false);
	iovecs(x, rd64(x, m + 16), rd64(x, m + 24), kind);
	add(x, kind, ctl, ctllen, false);
	if (kind == W)
		add(x, W, m + 8, 48, false); /* the lengths and flags it updates */
}

/* a NUL-terminated string the kernel reads (a path): up to PATH_MAX */
static void string(sysctx *x, uint64_t p)
{
	char buf[256];
	for (uint64_t off = 0; p && off < 4096; off += sizeof buf) {
		ssize_t got = lxc_read_op(&x->c->base, p + off, buf, sizeof buf);
		if (got <= 0)
			break;
		const char *z = memchr(buf, 0, (size_t)got);
		if (z || got < (ssize_t)sizeof buf) {
			add(x, R, p, off + (z ? (uint64_t)(z - buf) + 1 : (uint64_t)got), false);
			return;
		}
	}
	add(x, R, p, 4096, false);
}

/* read and written in place (poll's fds, a futex word) */
static void both(sysctx *x, uint64_t a, uint64_t len)
{
	add(x, R, a, len, false);
	add(x, W, a, len, false);
}

/* a count of entries from the program, bounded (no product overflows) */
#define CAP(n) ((n) > (1u << 24) ? (uint64_t)(1u << 24) : (n))

/* the calls with a path and a fixed-size result */
static const char *more(sysctx *x, int64_t nr, const uint64_t *a)
{
	switch (nr) {
	case 12: /* brk: a lower break unmaps what was above it */
		if (a[0])
			add(x, VM_SYSMEM_RELEASE, (a[0] + 4095) & ~(uint64_t)4095, UINT64_MAX, false);
		return "brk";
	case 67: add(x, VM_SYSMEM_RELEASE, a[0], UINT64_MAX, false); return "shmdt";
	case 202: { /* futex: WAKE, REQUEUE and WAKE_BITSET do not read the word */
		uint64_t op = a[1] & 0x7f;
		if (op != 1 && op != 3 && op != 10)
			both(x, a[0], 4);
		if (op == 4 || op == 5 || op == 12)
			both(x, a[4], 4);
		return "futex";
	}
	case 35: add(x, R, a[0], 16, false); add(x, W, a[1], 16, false); return "nanosleep";
	case 230: add(x, R, a[2], 16, false); add(x, W, a[3], 16, false); return "clock_nanosleep";
	case 5: add(x, W, a[1], 144, false); return "fstat";
	case 4: string(x, a[0]); add(x, W, a[1], 144, false); return "stat";
	case 6: string(x, a[0]); add(x, W, a[1], 144, false); return "lstat";
	case 262: string(x, a[1]); add(x, W, a[2], 144, false); return "newfstatat";
	case 332: string(x, a[1]); add(x, W, a[4], 256, false); return "statx";
	case 217: add(x, W, a[1], a[2], true); return "getdents64";
	case 89: string(x, a[0]); add(x, W, a[1], a[2], true); return "readlink";
	case 267: string(x, a[1]); add(x, W, a[2], a[3], true); return "readlinkat";
	case 2: string(x, a[0]); return "open";
	case 257: string(x, a[1]); return "openat";
	case 21: string(x, a[0]); return "access";
	case 269: string(x, a[1]); return "faccessat";
	case 439: string(x, a[1]); return "faccessat2";
	case 87: string(x, a[0]); return "unlink";
	case 263: string(x, a[1]); return "unlinkat";
	case 83: string(x, a[0]); return "mkdir";
	case 258: string(x, a[1]); return "mkdirat";
	case 80: string(x, a[0]); return "chdir";
	case 59: string(x, a[0]); return "execve";
	case 7: both(x, a[0], CAP(a[1]) * 8); return "poll";
	case 271: both(x, a[0], CAP(a[1]) * 8); add(x, R, a[2], 16, false); return "ppoll";
	case 232: add(x, W, a[1], CAP(a[2]) * 12, false); return "epoll_wait";
	case 281: add(x, W, a[1], CAP(a[2]) * 12, false); return "epoll_pwait";
	case 22: add(x, W, a[0], 8, false); return "pipe";
	case 293: add(x, W, a[0], 8, false); return "pipe2";
	case 61: add(x, W, a[1], 4, false); add(x, W, a[3], 144, false); return "wait4";
	case 13: add(x, R, a[1], 32, false); add(x, W, a[2], 32, false); return "rt_sigaction";
	case 14: add(x, R, a[1], 8, false); add(x, W, a[2], 8, false); return "rt_sigprocmask";
	case 131: add(x, R, a[0], 24, false); add(x, W, a[1], 24, false); return "sigaltstack";
	case 63: add(x, W, a[0], 390, false); return "uname";
	case 228: add(x, W, a[1], 16, false); return "clock_gettime";
	case 96: add(x, W, a[0], 16, false); add(x, W, a[1], 8, false); return "gettimeofday";
	case 98: add(x, W, a[1], 144, false); return "getrusage";
	}
	return NULL;
}

static unsigned vm_prot(uint64_t p)
{
	return ((p & 1) ? VM_PROT_READ : 0) | ((p & 2) ? VM_PROT_WRITE : 0) | ((p & 4) ? VM_PROT_EXEC : 0);
}

static const char *decode(sysctx *x, int64_t nr, const uint64_t *a)
{
	switch (nr) {
	case 0: add(x, W, a[1], a[2], true); return "read";
	case 1: add(x, R, a[1], a[2], true); return "write";
	case 17: add(x, W, a[1], a[2], true); return "pread64";
	case 18: add(x, R, a[1], a[2], true); return "pwrite64";
	case 19: iovecs(x, a[1], a[2], W); return "readv";
	case 20: iovecs(x, a[1], a[2], R); return "writev";
	case 295: iovecs(x, a[1], a[2], W); return "preadv";
	case 296: iovecs(x, a[1], a[2], R); return "pwritev";
	case 327: iovecs(x, a[1], a[2], W); return "preadv2";
	case 328: iovecs(x, a[1], a[2], R); return "pwritev2";
	case 44: add(x, R, a[1], a[2], true); add(x, R, a[4], a[5] & 0xffffffffu, false); return "sendto";
	case 45: {
		add(x, W, a[1], a[2], true);
		if (a[5]) {
			uint64_t alen = rd64(x, a[5]) & 0xffffffffu;
			add(x, W, a[5], 4, false);
			add(x, W, a[4], alen, false);
		}
		return "recvfrom";
	}
	case 46: msghdr(x, a[1], R); return "sendmsg";
	case 47: msghdr(x, a[1], W); return "recvmsg";
	case 318: add(x, W, a[0], a[1], true); return "getrandom";
	case 79: add(x, W, a[0], a[1], true); return "getcwd";
	case 9:
		if (a[3] & 0x10) /* MAP_FIXED: whatever was there goes */
			add(x, VM_SYSMEM_UNMAP, a[0], a[1], false);
		return "mmap";
	case 10:
	case 329:
		add(x, VM_SYSMEM_PROTECT, a[0], a[1], false);
		if (x->n)
			x->out[x->n - 1].prot = vm_prot(a[2]);
		return nr == 10 ? "mprotect" : "pkey_mprotect";
	case 11: add(x, VM_SYSMEM_UNMAP, a[0], a[1], false); return "munmap";
	case 25:
		if (a[3] & 2) /* MREMAP_FIXED: the destination is unmapped first */
			add(x, VM_SYSMEM_UNMAP, a[4], a[2], false);
		add(x, VM_SYSMEM_MOVE, a[0], a[1], false);
		if (x->n && x->out[x->n - 1].kind == VM_SYSMEM_MOVE)
			x->out[x->n - 1].newlen = a[2];
		return "mremap";
	case 28:
		if (a[2] == 4 || a[2] == 8 || a[2] == 9) /* DONTNEED FREE REMOVE */
			add(x, VM_SYSMEM_DISCARD, a[0], a[1], false);
		return "madvise";
	case 15: {
		/* rt_sigreturn reads the signal frame the handler returns
		 * over: its fixed part below sp, and its FPU image */
		uint64_t fr = a[6] - 8;
		add(x, R, fr, 440, false);
		uint64_t fp = rd64(x, fr + 8 + 40 + 8 * 23), sw = fp ? rd64(x, fp + 464) : 0;
		uint64_t flen = (sw & 0xffffffffu) == 0x46505853u ? sw >> 32 : 512;
		if (fp && flen <= 65536)
			add(x, R, fp, flen, false);
		return "rt_sigreturn";
	}
	}
	return more(x, nr, a);
}

/* the memory of the call thread tid is at the entry of (regs: nr, the
 * six arguments and sp) */
static int sysmem_of(lx_control *c, pid_t tid, vm_sysmem *out, size_t cap, const char **name, int64_t *nr_out)
{
	struct __ptrace_syscall_info si;
	memset(&si, 0, sizeof si);
	if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof si, &si) <= 0 ||
	    si.op != PTRACE_SYSCALL_INFO_ENTRY) {
		vm_seterr("thread %d is not at the entry of a system call", (int)tid);
		return -1;
	}
	uint64_t a[7];
	for (int i = 0; i < 6; i++)
		a[i] = si.entry.args[i];
	a[6] = si.stack_pointer;
	sysctx x = { c, out, 0, cap };
	const char *n = decode(&x, (int64_t)si.entry.nr, a);
	if (name)
		*name = n ? n : "syscall";
	if (nr_out)
		*nr_out = (int64_t)si.entry.nr;
	return (int)x.n;
}

bool lxc_syscall_watched(lx_control *c, pid_t tid, int64_t *nr)
{
	vm_sysmem m[2 * MAX_IOV + 8];
	int n = sysmem_of(c, tid, m, sizeof m / sizeof m[0], NULL, nr);
	for (int i = 0; i < n; i++) {
		uint64_t hi = m[i].kind == VM_SYSMEM_MOVE && m[i].newlen > m[i].len ? m[i].newlen : m[i].len;
		for (size_t k = 0; k < c->nsysw; k++)
			if (m[i].addr < c->sysw[2 * k] + c->sysw[2 * k + 1] && c->sysw[2 * k] < m[i].addr + hi)
				return true;
	}
	return false;
}

int lxc_syscall_mem_op(vm_control *vc, int64_t tid, vm_sysmem *out, size_t cap, const char **name)
{
	lx_control *c = (lx_control *)vc;
	lxc_thread *t = lxc_stopped(c, tid);
	if (!t)
		return -1;
	return sysmem_of(c, t->tid, out, cap, name, NULL);
}
