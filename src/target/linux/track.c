/* Write tracking on Linux: soft-dirty bits where the kernel keeps them,
 * otherwise userfaultfd asynchronous write-protect read back with
 * PAGEMAP_SCAN (see include/vmatlas/track.h for the scheme). */
#include "vmatlas/track.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "base/util.h"
#include "lxctl.h"
#include "formats/proc_parse.h"
#include "ptrace.h"
#include "teststep.h"
#include "track_holder.h"
#include "vmatlas/error.h"

/* from Linux 6.7 headers, which Debian 12 does not have */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1ull << 15)
#endif
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
		category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define PM_SOFT_DIRTY (1ull << 55)

/* ---- what the kernel offers ---- */

static bool probe_soft_dirty(char *why, size_t n)
{
	/* a page we write is soft-dirty at once where the kernel keeps the bit */
	long pg = sysconf(_SC_PAGESIZE);
	volatile char *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(why, n, "could not be probed (mmap: %s)", strerror(errno));
		return false;
	}
	p[0] = 1;
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && pread(fd, &e, 8, (off_t)((uintptr_t)p / (uintptr_t)pg * 8)) == 8;
	if (fd >= 0)
		close(fd);
	munmap((void *)p, (size_t)pg);
	if (!ok)
		snprintf(why, n, "could not be probed (/proc/self/pagemap unreadable)");
	else if (!(e & PM_SOFT_DIRTY))
		snprintf(why, n, "no: the kernel keeps no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY is off)");
	else
		snprintf(why, n, "yes: clear_refs and pagemap bit 55");
	return ok && (e & PM_SOFT_DIRTY);
}

static int uffd_api(int fd)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	return ioctl(fd, UFFDIO_API, &api);
}

static bool probe_uffd(char *why, size_t n)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0) {
		snprintf(why, n, "no: userfaultfd() fails here (%s)%s", strerror(errno),
			 errno == ENOSYS ? ": the kernel is built without it" : "");
		return false;
	}
	bool api = uffd_api(fd) == 0;
	int e = errno;
	close(fd);
	if (!api) {
		snprintf(why, n, "no: the kernel has no UFFD_FEATURE_WP_ASYNC (Linux 6.7 or later has it; %s)",
			 strerror(e));
		return false;
	}
	/* PAGEMAP_SCAN came with it, but ask: a scan of one page of our own */
	static char page[1];
	struct page_region vec[1];
	struct pm_scan_arg a = { .size = sizeof a, .start = (uintptr_t)page & ~(uintptr_t)4095,
				 .end = ((uintptr_t)page & ~(uintptr_t)4095) + 4096, .vec = (uintptr_t)vec,
				 .vec_len = 1, .category_anyof_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN };
	int pfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long r = pfd >= 0 ? ioctl(pfd, PAGEMAP_SCAN, &a) : -1;
	e = errno;
	if (pfd >= 0)
		close(pfd);
	if (r < 0) {
		snprintf(why, n, "no: the PAGEMAP_SCAN ioctl is missing (%s)", strerror(e));
		return false;
	}
	snprintf(why, n, "yes: userfaultfd asynchronous write-protect with PAGEMAP_SCAN");
	return true;
}

void vm_track_probe(vm_track_caps *c)
{
	memset(c, 0, sizeof *c);
	c->soft_dirty = probe_soft_dirty(c->soft_dirty_why, sizeof c->soft_dirty_why);
	c->uffd_wp_async = probe_uffd(c->uffd_why, sizeof c->uffd_why);
}

/* ---- processes, by pid and start time ---- */

static bool stat_of(int64_t pid, proc_stat *st)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n > 0 && proc_parse_stat(buf, (size_t)n, st);
}

/* is pid still the process that started at start_time? */
static bool same_process(int64_t pid, uint64_t start_time, const char *comm)
{
	proc_stat st;
	if (pid <= 0 || !stat_of(pid, &st) || st.state == 'Z' || st.state == 'X')
		return false;
	return (!start_time || st.start_time == start_time) && (!comm || !strcmp(st.comm, comm));
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- soft-dirty ---- */

static int start_soft_dirty(const vm_track_range *want, size_t nwant, vm_track_state *st)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%lld/clear_refs", (long long)st->pid);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "4", 1) != 1) {
		vm_seterr_errno("clearing the soft-dirty bits (%s)", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	size_t cap = 0;
	for (size_t i = 0; i < nwant; i++) {
		vm_track_range *r = ARRAY_PUSH(st->ranges, st->n, cap);
		r->addr = want[i].addr;
		r->size = want[i].size;
		r->err = 0;
	}
	return 0;
}

static void add_written(vm_track_range **v, size_t *n, size_t *cap, uint64_t lo, uint64_t hi)
{
	if (*n && (*v)[*n - 1].addr + (*v)[*n - 1].size == lo) {
		(*v)[*n - 1].size += hi - lo;
		return;
	}
	vm_track_range *r = ARRAY_PUSH(*v, *n, *cap);
	r->addr = lo;
	r->size = hi - lo;
	r->err = 0;
}

static int written_soft_dirty(int pfd, const vm_track_state *st, vm_track_range **out, size_t *n, size_t *cap)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), e[512];
	for (size_t i = 0; i < st->n; i++) {
		uint64_t base = st->ranges[i].addr, np = st->ranges[i].size / pg;
		for (uint64_t k = 0; k < np;) {
			uint64_t want = np - k < 512 ? np - k : 512;
			ssize_t got = pread(pfd, e, want * 8, (off_t)((base / pg + k) * 8));
			if (got <= 0)
				break;
			for (uint64_t j = 0; j < (uint64_t)got / 8; j++)
				if (e[j] & PM_SOFT_DIRTY)
					add_written(out, n, cap, base + (k + j) * pg, base + (k + j + 1) * pg);
			k += (uint64_t)got / 8;
		}
	}
	return 0;
}

/* ---- userfaultfd write-protect ---- */

/* A userfaultfd made inside the target and duplicated into vmatlas; the
 * holder gets it as soon as vmatlas has it, and hears when the target's
 * own copy is closed again (until then, it closes that copy itself if
 * vmatlas dies). */
static int steal_uffd(pid_t pid, lx_holder *h)
{
	pid_t tid = pid;
	lx_control *c = lxc_attach_thread(pid, tid);
	if (!c) {
		vm_seterr_errno("stopping process %d to make a userfaultfd in it", (int)pid);
		lx_holder_target_closed(h); /* nothing was made: nothing to clean up */
		return -1;
	}
	lx_test_step();
	int64_t fd = -1, cret = -1;
	uint64_t args[6] = { O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY };
	int rc = lxc_syscall(c, tid, SYS_userfaultfd, args, &fd);
	int mine = -1;
	bool closed = false;
	if (rc == 0 && fd < 0) {
		vm_seterr("userfaultfd() inside process %d failed: %s%s", (int)pid, strerror((int)-fd),
			  fd == -EPERM ? " (a seccomp filter, or vm.unprivileged_userfaultfd)" : "");
		closed = true; /* nothing was made */
	} else if (rc == 0) {
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		mine = pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0) : -1;
		if (mine < 0)
			vm_seterr_errno("taking the userfaultfd out of process %d (pidfd_getfd)", (int)pid);
		if (pidfd >= 0)
			close(pidfd);
		lx_test_step();
		if (mine >= 0 && lx_holder_give(h, mine) < 0) {
			vm_seterr("the holder process %d is gone", (int)h->pid);
			close(mine);
			mine = -1;
		}
		lx_test_step();
		/* its descriptor table as it was */
		uint64_t cargs[6] = { (uint64_t)fd };
		closed = lxc_syscall(c, tid, SYS_close, cargs, &cret) == 0 && cret == 0;
		lx_test_step();
	}
	if (lxc_close(c) < 0 && mine >= 0) {
		vm_seterr_errno("letting process %d go", (int)pid);
		close(mine);
		mine = -1;
	}
	if (!closed && mine >= 0) {
		vm_seterr("closing the userfaultfd in process %d again failed: %s", (int)pid,
			  cret < 0 ? strerror((int)-cret) : "the call could not be made");
		close(mine); /* the holder closes it there as it goes */
		mine = -1;
	} else if (closed && lx_holder_target_closed(h) < 0 && mine >= 0) {
		vm_seterr("the holder process %d is gone", (int)h->pid);
		close(mine);
		mine = -1;
	}
	return mine;
}

static void register_ranges(int ufd, const vm_track_range *want, size_t nwant, vm_track_state *st)
{
	size_t cap = 0, scap = 0;
	for (size_t i = 0; i < nwant; i++) {
		const vm_track_range *r = &want[i];
		struct uffdio_register reg = { .range = { r->addr, r->size }, .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = { .range = { r->addr, r->size }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
		int err = 0;
		if (ioctl(ufd, UFFDIO_REGISTER, &reg) < 0) {
			err = errno;
		} else if (ioctl(ufd, UFFDIO_WRITEPROTECT, &wp) < 0) {
			err = errno;
			struct uffdio_range ur = { r->addr, r->size };
			ioctl(ufd, UFFDIO_UNREGISTER, &ur);
		}
		vm_track_range *x = err ? ARRAY_PUSH(st->skipped, st->nskipped, scap) : ARRAY_PUSH(st->ranges, st->n, cap);
		x->addr = r->addr;
		x->size = r->size;
		x->err = err;
	}
}

static int start_uffd(const vm_track_range *want, size_t nwant, vm_track_state *st, const char *path)
{
	/* Ctrl-C should not cut a start short (every step can be undone,
	 * but a start is quick and better whole) */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	int rc = -1;
	lx_holder h = { .pid = -1, .link = -1 };
	if (lx_holder_clear_orphans((pid_t)st->pid) < 0 || lx_holder_spawn((pid_t)st->pid, path, &h) < 0)
		goto out;
	lx_test_step();
	st->holder = h.pid;
	st->holder_start = h.start_time;
	int ufd = steal_uffd((pid_t)st->pid, &h);
	if (ufd >= 0) {
		if (uffd_api(ufd) < 0) {
			vm_seterr_errno("enabling asynchronous write-protect on the userfaultfd");
		} else {
			register_ranges(ufd, want, nwant, st);
			lx_test_step();
			if (!st->n && !st->nskipped)
				vm_seterr("process %lld has no writable memory to track", (long long)st->pid);
			else if (!st->n)
				vm_seterr("the kernel would track none of the writable regions (first: %s)",
					  strerror(st->skipped[0].err));
			else if (vm_track_state_write(st, path) == 0) {
				lx_test_step();
				rc = lx_holder_handover(&h);
				if (rc < 0)
					unlink(path);
			}
		}
		close(ufd); /* the holder has its own; without one, tracking ends here */
	}
out:
	if (rc < 0)
		lx_holder_abort(&h); /* it undoes what is left, and the protection goes with it */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int written_uffd(int pfd, const vm_track_state *st, vm_track_range **out, size_t *n, size_t *cap)
{
	struct page_region vec[256];
	for (size_t i = 0; i < st->n; i++) {
		uint64_t at = st->ranges[i].addr, end = st->ranges[i].addr + st->ranges[i].size;
		while (at < end) {
			/* only pages still under our protection: a region mapped
			 * there since is not ours to report */
			struct pm_scan_arg a = { .size = sizeof a, .start = at, .end = end, .vec = (uintptr_t)vec,
						 .vec_len = 256, .category_mask = PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED,
						 .return_mask = PAGE_IS_WRITTEN };
			long got = ioctl(pfd, PAGEMAP_SCAN, &a);
			if (got < 0) {
				if (errno == EINTR)
					continue;
				vm_seterr_errno("reading the written pages (PAGEMAP_SCAN)");
				return -1;
			}
			for (long k = 0; k < got; k++)
				add_written(out, n, cap, vec[k].start, vec[k].end);
			if (a.walk_end <= at)
				break;
			at = a.walk_end;
		}
	}
	return 0;
}

/* ---- the interface ---- */

int vm_track_start(vm_target *t, const vm_track_range *want, size_t nwant, vm_track_method method,
		   const char *path, vm_track_state *out)
{
	memset(out, 0, sizeof *out);
	vm_target_info in;
	if (vm_target_info_get(t, &in) < 0)
		return -1;
	if (!(vm_target_caps(t) & VM_CAP_TRACK_WRITES)) {
		vm_seterr("write tracking needs a live Linux process, not a %s", vm_target_kind_name(in.kind));
		return -1;
	}
	if (in.pid == getpid()) {
		vm_seterr("vmatlas does not track its own writes");
		return -1;
	}
	vm_track_caps c;
	vm_track_probe(&c);
	if (method == VM_TRACK_AUTO)
		method = c.soft_dirty ? VM_TRACK_SOFT_DIRTY : c.uffd_wp_async ? VM_TRACK_UFFD_WP : VM_TRACK_AUTO;
	if (method == VM_TRACK_AUTO || (method == VM_TRACK_SOFT_DIRTY && !c.soft_dirty) ||
	    (method == VM_TRACK_UFFD_WP && !c.uffd_wp_async)) {
		vm_seterr("this kernel cannot track writes: soft-dirty %s; userfaultfd write-protect %s",
			  c.soft_dirty_why, c.uffd_why);
		return -1;
	}
	out->method = method;
	out->pid = in.pid;
	out->start_time = in.start_time;
	out->started_ms = now_ms();
	int rc = method == VM_TRACK_UFFD_WP ? start_uffd(want, nwant, out, path)
		 : start_soft_dirty(want, nwant, out) < 0 ? -1 : vm_track_state_write(out, path);
	if (rc < 0) {
		char why[512];
		snprintf(why, sizeof why, "%s", vm_error());
		vm_track_state_free(out);
		vm_seterr("%s", why);
	}
	return rc;
}

/* is the tracking still in force? */
static int check_alive(const vm_track_state *st)
{
	if (!same_process(st->pid, st->start_time, NULL)) {
		vm_seterr("process %lld has exited: nothing is tracked any more", (long long)st->pid);
		return -1;
	}
	if (st->method == VM_TRACK_UFFD_WP && !same_process(st->holder, st->holder_start, LX_HOLDER_NAME)) {
		vm_seterr("the tracking of process %lld has ended: its holder process (%lld) is gone",
			  (long long)st->pid, (long long)st->holder);
		return -1;
	}
	return 0;
}

int vm_track_written(const vm_track_state *st, vm_track_range **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (check_alive(st) < 0)
		return -1;
	char path[64];
	snprintf(path, sizeof path, "/proc/%lld/pagemap", (long long)st->pid);
	int pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0) {
		vm_seterr_errno("opening %s", path);
		return -1;
	}
	size_t cap = 0;
	int rc = st->method == VM_TRACK_SOFT_DIRTY ? written_soft_dirty(pfd, st, out, n, &cap)
						   : written_uffd(pfd, st, out, n, &cap);
	close(pfd);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static bool wait_exit(int pidfd, int ms)
{
	struct pollfd p = { pidfd, POLLIN, 0 };
	int r;
	while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return r > 0;
}

int vm_track_end(const vm_track_state *st)
{
	if (st->method != VM_TRACK_UFFD_WP)
		return 0; /* soft-dirty leaves nothing behind */
	/* the pidfd first, then the check: a pid reused meanwhile is not signalled */
	int hfd = (int)syscall(SYS_pidfd_open, (pid_t)st->holder, 0);
	if (hfd < 0 || !same_process(st->holder, st->holder_start, LX_HOLDER_NAME)) {
		if (hfd >= 0)
			close(hfd);
		return 0; /* a gone holder took it all with it */
	}
	int rc = 0;
	if (syscall(SYS_pidfd_send_signal, hfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH) {
		vm_seterr_errno("ending the holder process %lld", (long long)st->holder);
		rc = -1;
	} else if (!wait_exit(hfd, 5000)) {
		/* the write protection goes when its last descriptor does:
		 * make sure it does */
		syscall(SYS_pidfd_send_signal, hfd, SIGKILL, NULL, 0);
		if (!wait_exit(hfd, 5000)) {
			vm_seterr("the holder process %lld did not exit", (long long)st->holder);
			rc = -1;
		}
	}
	close(hfd);
	return rc;
}
