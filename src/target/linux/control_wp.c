/* Write-protection by the kernel for memory breakpoints on writes: a
 * userfaultfd made inside the target (injected userfaultfd(), taken out
 * with pidfd_getfd, the target's copy closed again) with
 * UFFD_FEATURE_SIGBUS, so that a write to a protected page raises SIGBUS
 * in the writing thread (a ptrace stop like any fault) instead of waiting
 * for an answer. Protecting, lifting and dropping are then ioctls from
 * vmatlas: no injected mprotect. The descriptor is vmatlas's only: when
 * it is closed (lxc_restore, or vmatlas's death) the kernel forgets every
 * registration and protection, so nothing is left behind in the target. */
#include "lxctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "vmatlas/error.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1ull << 13)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* the handshake: writes to protected pages as SIGBUS; unpopulated pages
 * protected too where the kernel can (6.4) */
static int handshake(int fd)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_SIGBUS | UFFD_FEATURE_WP_UNPOPULATED };
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		/* an older kernel refuses the feature it does not know (and
		 * lets the handshake be tried again) */
		api = (struct uffdio_api){ .api = UFFD_API, .features = UFFD_FEATURE_SIGBUS };
		if (ioctl(fd, UFFDIO_API, &api) < 0) {
			vm_seterr_errno("the userfaultfd handshake (UFFD_FEATURE_SIGBUS)");
			return -1;
		}
	}
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		vm_seterr("this kernel has no userfaultfd write-protection (UFFD_FEATURE_PAGEFAULT_FLAG_WP, Linux "
			  "5.7 or later on anonymous memory): use page protection (bpm w without --uffd)");
		return -1;
	}
	return 0;
}

static int make_uffd(lx_control *c, pid_t tid)
{
	int64_t fd = -1, cret = -1;
	uint64_t args[6] = { O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY };
	if (lxc_syscall(c, tid, SYS_userfaultfd, args, &fd) < 0)
		return -1;
	if (fd < 0) {
		vm_seterr("userfaultfd() inside process %d failed: %s%s", (int)c->pid, strerror((int)-fd),
			  fd == -ENOSYS ? " (a kernel without CONFIG_USERFAULTFD)"
			  : fd == -EPERM ? " (a seccomp filter, or vm.unprivileged_userfaultfd)"
					 : "");
		return -1;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	int mine = pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0) : -1;
	if (mine < 0)
		vm_seterr_errno("taking the userfaultfd out of process %d (pidfd_getfd)", (int)c->pid);
	if (pidfd >= 0)
		close(pidfd);
	/* the target's descriptor table as it was */
	uint64_t cargs[6] = { (uint64_t)fd };
	if (lxc_syscall(c, tid, SYS_close, cargs, &cret) < 0 || cret < 0) {
		if (mine >= 0)
			close(mine);
		vm_seterr("closing the userfaultfd in process %d again failed", (int)c->pid);
		return -1;
	}
	if (mine >= 0 && handshake(mine) < 0) {
		close(mine);
		return -1;
	}
	return mine;
}

int lxc_write_protect_op(vm_control *vc, int64_t tid, uint64_t addr, uint64_t len, int how)
{
	lx_control *c = (lx_control *)vc;
	if (atomic_load(&c->uffd) < 0) {
		if (how != VM_WP_ON)
			return 0;
		lxc_thread *t = lxc_stopped(c, tid);
		if (!t || lxc_find_syscall_insn(c, t->tid) < 0)
			return -1;
		int fd = make_uffd(c, t->tid);
		if (fd < 0)
			return -1;
		atomic_store(&c->uffd, fd);
	}
	int fd = atomic_load(&c->uffd);
	struct uffdio_range r = { addr, len };
	if (how == VM_WP_DROP) {
		if (ioctl(fd, UFFDIO_UNREGISTER, &r) < 0 && errno != EINVAL && errno != ENOMEM) {
			vm_seterr_errno("userfaultfd: unregistering 0x%llx", (unsigned long long)addr);
			return -1;
		}
		return 0;
	}
	if (how == VM_WP_ON) {
		struct uffdio_register reg = { .range = r, .mode = UFFDIO_REGISTER_MODE_WP };
		if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
			vm_seterr_errno("userfaultfd: registering 0x%llx+0x%llx for write-protection%s",
					(unsigned long long)addr, (unsigned long long)len,
					errno == EINVAL ? " (anonymous, shmem or hugetlb memory only on this kernel)"
							: "");
			return -1;
		}
	}
	struct uffdio_writeprotect wp = { .range = r, .mode = how == VM_WP_ON ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };
	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0) {
		vm_seterr_errno("userfaultfd: %s 0x%llx", how == VM_WP_ON ? "write-protecting" : "lifting",
				(unsigned long long)addr);
		return -1;
	}
	return 0;
}

void lxc_wp_close(lx_control *c)
{
	int fd = atomic_exchange(&c->uffd, -1);
	if (fd >= 0)
		close(fd);
}
