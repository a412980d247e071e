/* The live Linux process target: /proc/PID for regions and facts,
 * process_vm_readv (and /proc/PID/mem) for memory, ptrace for registers
 * and freezing. */
#include "linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "formats/elf_defs.h"
#include "formats/proc_parse.h"
#include "lxctl.h"
#include "ptrace.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"

#define LX(t) ((lx_proc *)(t))

int lx_read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t cap = 1 << 16, n = 0;
	char *b = xmalloc(cap);
	for (;;) {
		if (cap - n < 4096) {
			if (cap > SIZE_MAX / 2) {
				free(b);
				close(fd);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			b = xrealloc(b, cap);
		}
		ssize_t r = read(fd, b + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(b);
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

static bool read_stat(pid_t pid, pid_t tid, proc_stat *st)
{
	char path[64], *buf;
	size_t len;
	if (tid)
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (lx_read_file(path, &buf, &len) < 0)
		return false;
	bool ok = proc_parse_stat(buf, len, st);
	free(buf);
	return ok;
}

int lx_gone(lx_proc *p)
{
	vm_seterr("process %d exited while being read", (int)p->pid);
	return -1;
}

static bool alive(pid_t pid)
{
	char path[32];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Say exactly what is missing when /proc/PID refuses us. */
static void permission_error(pid_t pid, const char *what)
{
	char path[32];
	struct stat sb;
	uid_t owner = (uid_t)-1;
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if (stat(path, &sb) == 0)
		owner = sb.st_uid;
	int scope = -1;
	char *buf;
	size_t len;
	if (lx_read_file("/proc/sys/kernel/yama/ptrace_scope", &buf, &len) == 0) {
		scope = atoi(buf);
		free(buf);
	}
	if (owner != geteuid())
		vm_seterr("permission denied reading %s of process %d (owned by uid %u): "
			  "another user's process needs CAP_SYS_PTRACE (run as root)",
			  what, (int)pid, (unsigned)owner);
	else if (scope >= 1)
		vm_seterr("permission denied reading %s of process %d: kernel.yama.ptrace_scope=%d "
			  "allows this only for %s; run as root or lower ptrace_scope",
			  what, (int)pid, scope,
			  scope == 1 ? "descendants of vmatlas" : "CAP_SYS_PTRACE");
	else
		vm_seterr("permission denied reading %s of process %d: the process is not "
			  "dumpable (setuid or prctl(PR_SET_DUMPABLE, 0)); needs CAP_SYS_PTRACE",
			  what, (int)pid);
}

/* ---- info ---- */

static void fill_arch_from_exe(lx_proc *p)
{
	vm_target_info *in = &p->info;
	in->arch = lx_arch();
	in->bits = (int)(sizeof(void *) * 8);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)p->mm_pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat sb;
	if (fstat(fd, &sb) == 0) {
		vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
		elf_image e;
		if (elf_open(&e, &r, false, 0, 0) == 0) {
			in->bits = e.bits;
			in->arch = elf_machine_arch(e.machine);
			elf_close(&e);
		}
	}
	close(fd);
}

static int lx_info(vm_target *t, vm_target_info *out)
{
	lx_proc *p = LX(t);
	if (!p->have_info) {
		vm_target_info *in = &p->info;
		proc_stat st;
		if (!read_stat(p->pid, 0, &st))
			return lx_gone(p);
		proc_stat live; /* an exited main thread's stat hides the mm's fields */
		if (p->mm_pid != p->pid && read_stat(p->pid, p->mm_pid, &live)) {
			st.arg_start = live.arg_start, st.arg_end = live.arg_end;
			st.env_start = live.env_start, st.env_end = live.env_end;
			st.start_stack = live.start_stack;
		}
		in->kind = VM_TARGET_LINUX_PROCESS;
		in->pid = p->pid;
		in->name = xstrdup(st.comm);
		in->state = st.state;
		in->os = VM_OS_LINUX;
		in->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
		in->arg_start = st.arg_start;
		in->arg_end = st.arg_end;
		in->env_start = st.env_start;
		in->env_end = st.env_end;
		in->stack_start = st.start_stack;
		in->start_time = st.start_time;
		char path[64], exe[4096];
		snprintf(path, sizeof path, "/proc/%d/exe", (int)p->mm_pid);
		ssize_t n = readlink(path, exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = 0;
			in->exe = xstrdup(exe);
		}
		snprintf(path, sizeof path, "/proc/%d/cwd", (int)p->mm_pid);
		n = readlink(path, exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = 0;
			in->cwd = xstrdup(exe);
		}
		fill_arch_from_exe(p);
		in->user_top = vm_user_top(VM_OS_LINUX, in->bits, in->page_size);
		p->have_info = true;
	}
	*out = p->info;
	return 0;
}

/* ---- regions ---- */

/* smaps of a big process is tens of megabytes: parse it as it comes */
static int read_maps_file(const char *path, vm_region **out, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	enum { BUF = 1 << 20 };
	char *buf = xmalloc(BUF);
	size_t have = 0;
	proc_maps_parser ps = { NULL, 0, 0 };
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, BUF - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -1;
			break;
		}
		have += (size_t)r;
		ssize_t used = proc_maps_feed(&ps, buf, have, r == 0);
		if (used < 0) {
			rc = -2;
			break;
		}
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
		if (r == 0)
			break;
		if (have == BUF) { /* a line longer than the buffer */
			vm_seterr("%s: a line is too long", path);
			rc = -2;
			break;
		}
	}
	int e = errno;
	free(buf);
	close(fd);
	if (rc < 0) {
		proc_maps_parser_free(&ps);
		errno = e;
		return rc;
	}
	*out = ps.regs;
	*n = ps.n;
	return 0;
}

static int lx_regions(vm_target *t, unsigned flags, vm_region **out, size_t *n)
{
	lx_proc *p = LX(t);
	char path[64];
	const char *file = (flags & VM_REGIONS_STATS) ? "smaps" : "maps";
	snprintf(path, sizeof path, "/proc/%d/%s", (int)p->mm_pid, file);
	int rc = read_maps_file(path, out, n);
	if (rc == -2)
		return -1;
	if (rc == 0) {
		lx_bpm_overlay(p->pid, out, n);
		lx_patches_free(p->patches); /* read again with the map */
		p->patches = p->self ? NULL : lx_patches_load(p->pid);
	}
	if (rc == 0) {
		free(p->vma_lo);
		free(p->vma_hi);
		p->vma_lo = xmalloc((*n ? *n : 1) * sizeof *p->vma_lo);
		p->vma_hi = xmalloc((*n ? *n : 1) * sizeof *p->vma_hi);
		p->nvma = *n;
		for (size_t i = 0; i < *n; i++) {
			p->vma_lo[i] = (*out)[i].base;
			p->vma_hi[i] = (*out)[i].base + (*out)[i].size;
		}
	}
	if (rc < 0) {
		if (errno == EACCES || errno == EPERM)
			permission_error(p->pid, file);
		else if (errno == ENOENT || errno == ESRCH)
			return lx_gone(p);
		else
			vm_seterr_errno("reading %s", path);
		return -1;
	}
	if (*n == 0) {
		proc_stat st;
		if (!read_stat(p->pid, 0, &st))
			return lx_gone(p);
		if (st.state == 'Z' || st.state == 'X')
			vm_seterr("process %d (%s) became a zombie: its address space is gone",
				  (int)p->pid, st.comm);
		else
			vm_seterr("process %d (%s) has no memory mappings", (int)p->pid, st.comm);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* ---- memory ---- */

static ssize_t raw_read(vm_target *t, uint64_t addr, void *buf, size_t len)
{
	lx_proc *p = LX(t);
	if (len == 0)
		return 0;
	if (addr > UINTPTR_MAX || len > SSIZE_MAX)
		return 0;
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(p->mm_pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return n;
	if (n < 0) {
		if (errno == ESRCH && !alive(p->mm_pid))
			return lx_gone(p);
		if (errno == EPERM)
			vm_seterr("permission denied reading the memory of process %d "
				  "(needs the right to ptrace it: CAP_SYS_PTRACE, or Yama's ptrace_scope)",
				  (int)p->pid);
		n = 0;
	}
	/* process_vm_readv stops at pages the target itself cannot read
	 * (PROT_NONE, guard pages); /proc/PID/mem reads those too */
	int fd = atomic_load(&p->mem_fd);
	if (fd < 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", (int)p->mm_pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return n;
		/* another thread may have opened it first: use that one */
		int none = -1;
		if (!atomic_compare_exchange_strong(&p->mem_fd, &none, fd)) {
			close(fd);
			fd = none;
		}
	}
	size_t done = (size_t)n;
	while (done < len) {
		uint64_t at = addr + done;
		if (at > (uint64_t)INT64_MAX) /* pread cannot seek past 2^63 */
			break;
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)at);
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* what the program has there, never another debugger's int3 */
static ssize_t lx_read(vm_target *t, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = raw_read(t, addr, buf, len);
	if (n > 0)
		lx_unpatch(LX(t), addr, buf, (size_t)n);
	return n;
}

/* Batched reads: one process_vm_readv moves up to IOV_MAX pieces; it
 * stops at the first piece it cannot read, which we then read alone
 * (through /proc/PID/mem) before going on. */
static void lx_read_many(vm_target *t, vm_read_req *reqs, size_t n)
{
	lx_proc *p = LX(t);
	enum { BATCH = 1024 };
	struct iovec local[BATCH], remote[BATCH];
	size_t i = 0;
	while (i < n) {
		size_t k = 0;
		for (; k < BATCH && i + k < n; k++) {
			reqs[i + k].got = 0;
			local[k].iov_base = reqs[i + k].buf;
			local[k].iov_len = reqs[i + k].len;
			remote[k].iov_base = (void *)(uintptr_t)reqs[i + k].addr;
			remote[k].iov_len = reqs[i + k].len;
		}
		ssize_t got = process_vm_readv(p->mm_pid, local, k, remote, k, 0);
		size_t left = got > 0 ? (size_t)got : 0, j = 0;
		for (; j < k && left >= reqs[i + j].len; j++) {
			reqs[i + j].got = reqs[i + j].len;
			left -= reqs[i + j].len;
		}
		if (j < k) { /* piece j failed or was cut short */
			ssize_t one = raw_read(t, reqs[i + j].addr, reqs[i + j].buf, reqs[i + j].len);
			reqs[i + j].got = one > 0 ? (size_t)one : 0;
			j++;
		}
		i += j;
	}
	for (i = 0; i < n; i++)
		lx_unpatch(p, reqs[i].addr, reqs[i].buf, reqs[i].got);
}

/* ---- threads ---- */

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* the tids of the process, sorted */
int lx_list_tids(pid_t pid, pid_t **out, size_t *n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	pid_t *v = NULL;
	size_t nv = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t tid;
		if (de->d_name[0] == '.' || !parse_u64(de->d_name, &tid) || tid > INT32_MAX)
			continue;
		*ARRAY_PUSH(v, nv, cap) = (pid_t)tid;
	}
	closedir(d);
	if (nv > 1)
		qsort(v, nv, sizeof *v, cmp_pid);
	*out = v;
	*n = nv;
	return 0;
}

bool lx_thread_exited(pid_t pid, pid_t tid)
{
	proc_stat st;
	return read_stat(pid, tid, &st) && (st.state == 'Z' || st.state == 'X');
}

pid_t lx_tracer_of(pid_t pid, pid_t tid, char *comm, size_t n)
{
	char path[80], *buf;
	size_t len;
	if (comm && n)
		comm[0] = 0;
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (lx_read_file(path, &buf, &len) < 0)
		return 0;
	long tracer = 0;
	const char *at = strstr(buf, "\nTracerPid:");
	if (at)
		tracer = strtol(at + 11, NULL, 10);
	free(buf);
	if (tracer <= 0 || tracer > INT32_MAX)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/comm", tracer);
	if (comm && n && lx_read_file(path, &buf, &len) == 0) {
		snprintf(comm, n, "%.*s", (int)strcspn(buf, "\n"), buf);
		free(buf);
	}
	return (pid_t)tracer;
}

/* pc and sp of a thread blocked in the kernel, without stopping it */
static bool regs_from_syscall_file(pid_t pid, pid_t tid, vm_thread *th)
{
	char path[80], *buf;
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	if (lx_read_file(path, &buf, &len) < 0)
		return false;
	bool ok = proc_parse_syscall(buf, len, &th->sp, &th->pc);
	free(buf);
	if (ok)
		th->sp_valid = true;
	return ok;
}

/* The stack from just below sp (the red zone) to the end of its
 * mapping, in one read while the thread is stopped. */
static void copy_stack(lx_proc *p, vm_thread *th)
{
	if (!th->sp_valid || th->sp < 256)
		return;
	uint64_t from = th->sp - 128;
	size_t len = VM_STACK_COPY_MAX;
	/* no further than the mapping sp is in: reading on into neighbouring
	 * mappings copies (and faults in) memory that is no stack */
	size_t lo = 0, hi = p->nvma;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->vma_lo[mid] <= th->sp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && th->sp < p->vma_hi[lo - 1]) {
		if (from < p->vma_lo[lo - 1])
			from = p->vma_lo[lo - 1];
		if (p->vma_hi[lo - 1] - from < len)
			len = (size_t)(p->vma_hi[lo - 1] - from);
	}
	uint8_t *buf = xmalloc(len);
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)from, len };
	ssize_t n = process_vm_readv(p->mm_pid, &local, 1, &remote, 1, 0);
	if (n <= 0) {
		free(buf);
		return;
	}
	th->stack_copy = xrealloc(buf, (size_t)n);
	th->stack_copy_addr = from;
	th->stack_copy_len = (size_t)n;
}

static void read_thread_regs(lx_proc *p, pid_t tid, vm_thread *th, bool stacks)
{
	if (th->state == 'Z' || th->state == 'X')
		return; /* exited (the main thread after pthread_exit): no registers */
	if (p->self) {
		if (tid == (pid_t)syscall(SYS_gettid))
			lx_regs_self(th);
		else
			regs_from_syscall_file(p->pid, tid, th);
		return;
	}
	if (lx_is_held(tid)) {
		lx_regs_read(tid, th);
		if (stacks)
			copy_stack(p, th);
		return;
	}
	/* a thread in uninterruptible sleep would not stop: the syscall
	 * file tells its pc and sp without touching it */
	if (th->state != 'D' && lx_seize_stop(tid) == 0) {
		lx_regs_read(tid, th);
		if (stacks)
			copy_stack(p, th);
		lx_release(tid, 0);
		return;
	}
	regs_from_syscall_file(p->pid, tid, th);
	th->tracer = lx_tracer_of(p->pid, tid, NULL, 0);
}

static int lx_threads(vm_target *t, unsigned flags, vm_thread **out, size_t *n)
{
	lx_proc *p = LX(t);
	pid_t *tids;
	size_t nt;
	if (lx_list_tids(p->pid, &tids, &nt) < 0) {
		if (errno == EACCES)
			permission_error(p->pid, "task list");
		else
			lx_gone(p);
		return -1;
	}
	vm_thread *th = xcalloc(nt ? nt : 1, sizeof *th);
	size_t k = 0;
	for (size_t i = 0; i < nt; i++) {
		proc_stat st;
		if (!read_stat(p->pid, tids[i], &st))
			continue; /* exited meanwhile */
		vm_thread *x = &th[k++];
		x->tid = tids[i];
		x->name = xstrdup(st.comm);
		x->state = st.state;
		x->is_main = tids[i] == p->pid;
		if (!(flags & VM_THREADS_STATES))
			read_thread_regs(p, tids[i], x, flags & VM_THREADS_STACKS);
	}
	free(tids);
	*out = th;
	*n = k;
	return 0;
}

/* ---- pages, backing files ---- */

static int lx_pages_op(vm_target *t, uint64_t addr, uint64_t npages, vm_page_run **runs,
		       size_t *nruns, vm_page_counts *counts)
{
	lx_proc *p = LX(t);
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	return lx_pages(p->mm_pid, addr, npages, pg, runs, nruns, counts);
}

static int pagemap_fd(lx_proc *p)
{
	if (p->pagemap_fd < 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/pagemap", (int)p->mm_pid);
		p->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return p->pagemap_fd;
}

static void lx_pages_present(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out)
{
	lx_proc *p = LX(t);
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	pagemap_fd(p);
	for (size_t i = 0; i < n; i++) {
		uint64_t e, off = addrs[i] / pg * 8;
		out[i] = -1;
		if (p->pagemap_fd >= 0 && off <= (uint64_t)INT64_MAX &&
		    pread(p->pagemap_fd, &e, 8, (off_t)off) == 8)
			out[i] = (e >> 62) != 0; /* present or swapped */
	}
}

static int lx_present_range(vm_target *t, uint64_t addr, uint64_t npages, int8_t *out)
{
	lx_proc *p = LX(t);
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), e[1024];
	int fd = pagemap_fd(p);
	if (fd < 0)
		return -1;
	for (uint64_t i = 0; i < npages;) {
		uint64_t n = npages - i < 1024 ? npages - i : 1024, off = (addr / pg + i) * 8;
		ssize_t got = off <= (uint64_t)INT64_MAX - sizeof e ? pread(fd, e, n * 8, (off_t)off) : -1;
		if (got <= 0) {
			memset(out + i, -1, npages - i);
			return 0;
		}
		for (uint64_t k = 0; k < (uint64_t)got / 8; k++)
			out[i + k] = (e[k] >> 62) != 0; /* present or swapped */
		i += (uint64_t)got / 8;
	}
	return 0;
}

static int lx_open_backing(vm_target *t, const vm_region *r)
{
	lx_proc *p = LX(t);
	char path[4200];
	/* map_files gives the very inode that is mapped, even when the
	 * path was deleted or replaced since */
	snprintf(path, sizeof path, "/proc/%d/map_files/%llx-%llx", (int)p->mm_pid,
		 (unsigned long long)r->base, (unsigned long long)(r->base + r->size));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || !r->path || r->path[0] != '/' || (r->flags & VM_RF_DELETED))
		return fd;
	snprintf(path, sizeof path, "/proc/%d/root%s", (int)p->mm_pid, r->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* only the same inode will do */
	struct stat sb;
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_ino != r->lx.inode) {
		close(fd);
		return -1;
	}
	return fd;
}

static int lx_auxv(vm_target *t, vm_auxv **out, size_t *n)
{
	lx_proc *p = LX(t);
	vm_target_info in;
	if (lx_info(t, &in) < 0)
		return -1;
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/auxv", (int)p->mm_pid);
	if (lx_read_file(path, &buf, &len) < 0) {
		vm_seterr_errno("reading %s", path);
		return -1;
	}
	size_t w = in.bits == 32 ? 4 : 8, count = len / (2 * w);
	vm_auxv *v = xcalloc(count ? count : 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t type = 0, val = 0;
		memcpy(&type, buf + i * 2 * w, w); /* the target's byte order is ours */
		memcpy(&val, buf + i * 2 * w + w, w);
		if (type == 0)
			break;
		v[k].type = type;
		v[k].value = val;
		k++;
	}
	free(buf);
	*out = v;
	*n = k;
	return 0;
}

static void lx_keep_running(vm_target *t)
{
	LX(t)->keep = true;
}

static void lx_close(vm_target *t)
{
	lx_proc *p = LX(t);
	bool kill_it = p->spawned && !p->keep;
	if (p->ctl && kill_it)
		lxc_forget(p->ctl); /* nothing to put back in a process about to die */
	else if (p->ctl)
		lxc_close(p->ctl);
	if (p->spawned) {
		if (kill_it) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
		lx_spawned_remove(p->pid);
	}
	int fd = atomic_load(&p->mem_fd);
	if (fd >= 0)
		close(fd);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	free(p->vma_lo);
	free(p->vma_hi);
	lx_patches_free(p->patches);
	free(p->info.name);
	free(p->info.exe);
	free(p->info.cwd);
	free(p);
}

static unsigned lx_caps(vm_target *t)
{
	/* vmatlas cannot stop or trace itself; freeze says so itself */
	unsigned c = VM_CAP_LIVE | VM_CAP_FREEZE | VM_CAP_PAGES | VM_CAP_PRESENT | VM_CAP_AUXV |
		     VM_CAP_BACKING | VM_CAP_TRACK_WRITES;
	if (!LX(t)->self)
		c |= VM_CAP_CONTROL | VM_CAP_WRITE_MEM;
	return c;
}

static const struct vm_target_ops lx_ops = {
	.kind = VM_TARGET_LINUX_PROCESS,
	.caps = lx_caps,
	.info = lx_info,
	.regions = lx_regions,
	.read = lx_read,
	.read_many = lx_read_many,
	.threads = lx_threads,
	.pages = lx_pages_op,
	.auxv = lx_auxv,
	.pages_present = lx_pages_present,
	.present_range = lx_present_range,
	.open_backing = lx_open_backing,
	.freeze = lx_freeze,
	.thaw = lx_thaw,
	.keep_running = lx_keep_running,
	.control = lx_control_open,
	.close = lx_close,
};

/* a thread of pid that has not exited, 0 if none */
static pid_t live_thread(pid_t pid)
{
	pid_t *tids, found = 0;
	size_t nt;
	if (lx_list_tids(pid, &tids, &nt) < 0)
		return 0;
	for (size_t i = 0; i < nt && !found; i++) {
		proc_stat st;
		if (tids[i] != pid && read_stat(pid, tids[i], &st) && st.state != 'Z' && st.state != 'X')
			found = tids[i];
	}
	free(tids);
	return found;
}

vm_target *lx_open(pid_t pid, bool self)
{
	char path[64];
	proc_stat st;
	pid_t mm_pid = pid;
	if (!self && !read_stat(pid, 0, &st)) {
		vm_seterr("no such process: %d", (int)pid);
		return NULL;
	}
	if (!self) {
		if (st.flags & PF_KTHREAD_FLAG) {
			vm_seterr("process %d (%s) is a kernel thread: it has no user address space",
				  (int)pid, st.comm);
			return NULL;
		}
		if (st.state == 'Z' || st.state == 'X') {
			/* the main thread called pthread_exit while others run:
			 * the address space is theirs, read through one of them */
			mm_pid = live_thread(pid);
			if (!mm_pid) {
				vm_seterr("process %d (%s) is a zombie: it has exited and its address "
					  "space is gone (its parent has not reaped it)",
					  (int)pid, st.comm);
				return NULL;
			}
		}
		snprintf(path, sizeof path, "/proc/%d/maps", (int)mm_pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == EACCES || errno == EPERM)
				permission_error(pid, "maps");
			else
				vm_seterr("no such process: %d", (int)pid);
			return NULL;
		}
		close(fd);
	}
	lx_proc *p = xcalloc(1, sizeof *p);
	p->base.ops = &lx_ops;
	p->pid = pid;
	p->mm_pid = mm_pid;
	p->self = self;
	atomic_init(&p->mem_fd, -1);
	p->pagemap_fd = -1;
	if (!self)
		p->patches = lx_patches_load(pid);
	return &p->base;
}
