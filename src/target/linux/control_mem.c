/* Memory of a controlled process: reads and writes through
 * /proc/PID/mem (whatever the protection, as a debugger must), page
 * protection by an injected mprotect, and the journal that puts both
 * back. */
#include "lxctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptrace.h"
#include "vmatlas/error.h"

static int mem_fd(lx_control *c)
{
	if (c->mem_fd < 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", (int)c->pid);
		c->mem_fd = open(path, O_RDWR | O_CLOEXEC);
		if (c->mem_fd < 0)
			vm_seterr_errno("opening %s", path);
	}
	return c->mem_fd;
}

ssize_t lxc_read_op(vm_control *vc, uint64_t addr, void *buf, size_t len)
{
	lx_control *c = (lx_control *)vc;
	if (mem_fd(c) < 0)
		return -1;
	size_t done = 0;
	while (done < len && addr + done <= (uint64_t)INT64_MAX) {
		ssize_t r = pread(c->mem_fd, (char *)buf + done, len - done, (off_t)(addr + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* process_vm_readv/writev: unlike /proc/PID/mem (FOLL_FORCE), they
 * stop at what the program's own protections forbid */
ssize_t lxc_user_rw_op(vm_control *vc, uint64_t addr, void *buf, size_t len, bool write)
{
	lx_control *c = (lx_control *)vc;
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };
	ssize_t n = write ? process_vm_writev(c->pid, &l, 1, &r, 1, 0) : process_vm_readv(c->pid, &l, 1, &r, 1, 0);
	if (n < 0)
		vm_seterr_errno("%s %zu bytes at 0x%llx in process %d", write ? "writing" : "reading", len,
				(unsigned long long)addr, (int)c->pid);
	return n;
}

static int write_all(lx_control *c, uint64_t addr, const void *buf, size_t len)
{
	if (addr > (uint64_t)INT64_MAX - len) {
		vm_seterr("cannot write at 0x%llx", (unsigned long long)addr);
		return -1;
	}
	for (size_t done = 0; done < len;) {
		ssize_t r = pwrite(c->mem_fd, (const char *)buf + done, len - done, (off_t)(addr + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			vm_seterr_errno("writing %zu bytes at 0x%llx in process %d", len - done,
					(unsigned long long)(addr + done), (int)c->pid);
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

int lxc_write(lx_control *c, uint64_t addr, const void *buf, size_t len, unsigned flags)
{
	if (mem_fd(c) < 0)
		return -1;
	if (flags & VM_CTL_RESTORE) {
		/* note what is there first, in pieces the signal path can put
		 * back in reverse order */
		size_t need = (len + LXC_SAVED_BYTES - 1) / LXC_SAVED_BYTES;
		int n = atomic_load(&c->nsaved);
		if ((size_t)n + need > LXC_MAX_SAVED) {
			vm_seterr("too many changes to memory to undo (at most %d pieces of %d bytes)",
				  LXC_MAX_SAVED, LXC_SAVED_BYTES);
			return -1;
		}
		for (size_t off = 0; off < len; off += LXC_SAVED_BYTES, n++) {
			lxc_saved *s = &c->saved[n];
			s->addr = addr + off;
			s->len = (uint8_t)(len - off < LXC_SAVED_BYTES ? len - off : LXC_SAVED_BYTES);
			if (lxc_read_op(&c->base, s->addr, s->bytes, s->len) != s->len) {
				vm_seterr("cannot read the %u bytes at 0x%llx to keep them", s->len,
					  (unsigned long long)s->addr);
				return -1;
			}
			memcpy(s->cur, s->bytes, s->len);
			atomic_store(&c->nsaved, n + 1);
		}
	}
	if (write_all(c, addr, buf, len) < 0)
		return -1;
	lxc_patch_note(c, addr, buf, len);
	lxc_patch_publish(c, false);
	return 0;
}

void lxc_update_saved_op(vm_control *vc, uint64_t addr, const void *buf, size_t len)
{
	lx_control *c = (lx_control *)vc;
	int n = atomic_load(&c->nsaved);
	for (int i = 0; i < n; i++) {
		lxc_saved *s = &c->saved[i];
		for (size_t k = 0; k < s->len; k++)
			if (s->addr + k >= addr && s->addr + k - addr < len)
				s->bytes[k] = ((const uint8_t *)buf)[s->addr + k - addr];
	}
	lxc_patch_publish(c, true);
}

int lxc_write_op(vm_control *vc, uint64_t addr, const void *buf, size_t len, unsigned flags)
{
	return lxc_write((lx_control *)vc, addr, buf, len, flags);
}

static int to_prot(unsigned p)
{
	return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
	       ((p & VM_PROT_EXEC) ? PROT_EXEC : 0);
}

/* the protections [lo, hi) has now, one piece per mapping, into c->prots */
static int note_prots(lx_control *c, uint64_t lo, uint64_t hi)
{
	char path[64], line[4608];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)c->pid);
	FILE *f = fopen(path, "re");
	if (!f) {
		vm_seterr_errno("reading %s", path);
		return -1;
	}
	int n = atomic_load(&c->nprots), rc = 0;
	uint64_t covered = lo;
	while (fgets(line, sizeof line, f)) {
		unsigned long long a, b;
		char perms[5];
		if (sscanf(line, "%llx-%llx %4s", &a, &b, perms) != 3 || b <= lo || a >= hi)
			continue;
		if (a > covered || n == LXC_MAX_PROT) {
			vm_seterr(n == LXC_MAX_PROT ? "too many protection changes to undo"
						    : "0x%llx is not mapped in process %d",
				  (unsigned long long)covered, (int)c->pid);
			rc = -1;
			break;
		}
		uint64_t from = a > lo ? a : lo, to = b < hi ? b : hi;
		c->prots[n] = (lxc_prot){ from, to - from,
					  (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
						  (perms[2] == 'x' ? PROT_EXEC : 0) };
		n++;
		covered = to;
	}
	fclose(f);
	if (rc == 0 && covered < hi) {
		vm_seterr("0x%llx is not mapped in process %d", (unsigned long long)covered, (int)c->pid);
		rc = -1;
	}
	if (rc == 0)
		atomic_store(&c->nprots, n);
	return rc;
}

int lxc_protect_op(vm_control *vc, uint64_t addr, uint64_t len, unsigned prot, unsigned flags)
{
	lx_control *c = (lx_control *)vc;
	if (prot & VM_PROT_GUARD) {
		vm_seterr("Linux has no guard pages (PAGE_GUARD is Windows')");
		return -1;
	}
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t lo = addr / pg * pg, hi = (addr + len + pg - 1) / pg * pg;
	/* a thread out of any system call: one stopped in the middle of one
	 * (a clone's event stop) would come back from the injected call
	 * with that call's result lost (clone3 seen failing: glibc clones
	 * again) */
	pid_t tid = 0, any = 0;
	for (size_t i = 0; i < c->nth && !tid && vc->protect_tid; i++)
		if (c->th[i].state == LXT_STOPPED && c->th[i].tid == vc->protect_tid)
			tid = c->th[i].tid;
	for (size_t i = 0; i < c->nth && !tid; i++) {
		if (c->th[i].state != LXT_STOPPED)
			continue;
		if (!any)
			any = c->th[i].tid;
#if defined(__x86_64__)
		struct user_regs_struct ur;
		struct iovec iov = { &ur, sizeof ur };
		if (ptrace(PTRACE_GETREGSET, c->th[i].tid, (void *)1 /* NT_PRSTATUS */, &iov) == 0 &&
		    (int64_t)ur.orig_rax < 0)
			tid = c->th[i].tid;
#endif
	}
	if (!tid)
		tid = any;
	if (!tid) {
		vm_seterr("no thread of process %d is stopped", (int)c->pid);
		return -1;
	}
	int before = atomic_load(&c->nprots);
	if ((flags & VM_CTL_RESTORE) && note_prots(c, lo, hi) < 0)
		return -1;
	uint64_t args[6] = { lo, hi - lo, (uint64_t)to_prot(prot) };
	int64_t ret;
	if (lxc_syscall(c, tid, SYS_mprotect, args, &ret) < 0 || ret < 0) {
		if (ret < 0)
			vm_seterr("mprotect(0x%llx, 0x%llx) in process %d: %s", (unsigned long long)lo,
				  (unsigned long long)(hi - lo), (int)c->pid, strerror((int)-ret));
		atomic_store(&c->nprots, before);
		return -1;
	}
	return 0;
}

/* the journal holds pieces of one page or less (bpm protects page by
 * page): a piece inside the range takes the new protection, or is
 * dropped (an address with no protection to put back: -1) */
void lxc_update_saved_prot_op(vm_control *vc, uint64_t addr, uint64_t len, int prot)
{
	lx_control *c = (lx_control *)vc;
	int n = atomic_load(&c->nprots);
	for (int i = 0; i < n; i++) {
		lxc_prot *p = &c->prots[i];
		if (p->addr >= addr && p->addr - addr < len && p->len <= len - (p->addr - addr))
			p->prot = prot < 0 ? -1 : to_prot((unsigned)prot);
	}
}

/* an unmapped range: its pieces of the journal shrink to what lies
 * outside it (a piece is 16 bytes at most, a range whole pages: a piece
 * keeps its head or its tail), its protections are not put back */
void lxc_forget_op(vm_control *vc, uint64_t addr, uint64_t len)
{
	lx_control *c = (lx_control *)vc;
	int n = atomic_load(&c->nsaved);
	for (int i = 0; i < n; i++) {
		lxc_saved *s = &c->saved[i];
		uint64_t lo = s->addr, hi = s->addr + s->len;
		if (hi <= addr || lo - addr >= len || !s->len)
			continue;
		if (lo < addr) {
			s->len = (uint8_t)(addr - lo); /* the head before the range */
		} else if (hi - addr > len) {
			uint8_t skip = (uint8_t)(addr + len - lo), keep = (uint8_t)(hi - (addr + len));
			s->len = 0; /* while it moves, a signal's restore writes none of it */
			memmove(s->bytes, s->bytes + skip, keep);
			memmove(s->cur, s->cur + skip, keep);
			s->addr = addr + len;
			s->len = keep;
		} else {
			s->len = 0;
		}
	}
	lxc_update_saved_prot_op(vc, addr, len, -1);
	lxc_patch_publish(c, true);
}

void lxc_restore_keep(lx_control *c, pid_t tid)
{
	lxc_wp_close(c); /* the kernel drops its write-protections */
	for (int i = atomic_load(&c->nsaved) - 1; i >= 0 && c->mem_fd >= 0; i--) {
		const lxc_saved *s = &c->saved[i];
		if (pwrite(c->mem_fd, s->bytes, s->len, (off_t)s->addr) < 0)
			continue; /* unmapped since: nothing to put back */
	}
	for (int i = atomic_load(&c->nprots) - 1; i >= 0 && tid > 0 && c->syscall_insn; i--) {
		const lxc_prot *p = &c->prots[i];
		if (p->prot < 0)
			continue;
		uint64_t args[6] = { p->addr, p->len, (uint64_t)p->prot };
		int64_t ret;
		int sig = 0;
		lxc_syscall_raw(tid, c->syscall_insn, SYS_mprotect, args, &ret, &sig);
		if (sig)
			lx_hold_set_sig(tid, sig);
	}
}

void lxc_restore(lx_control *c, pid_t tid)
{
	lxc_restore_keep(c, tid);
	atomic_store(&c->nsaved, 0);
	atomic_store(&c->nprots, 0);
}

void lxc_release_child(lx_control *c, pid_t child)
{
	int st;
	while (waitpid(child, &st, __WALL) < 0)
		if (errno != EINTR)
			return;
	lxc_release_stopped_child(c, child);
}

void lxc_release_stopped_child(lx_control *c, pid_t child)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)child);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	for (int i = atomic_load(&c->nsaved) - 1; i >= 0 && fd >= 0; i--) {
		const lxc_saved *s = &c->saved[i];
		if (pwrite(fd, s->bytes, s->len, (off_t)s->addr) < 0)
			continue;
	}
	if (fd >= 0)
		close(fd);
	/* debug registers are not inherited; changed protections are: the
	 * child gets the original ones back (a memory breakpoint's pages) */
	for (int i = atomic_load(&c->nprots) - 1; i >= 0 && c->syscall_insn; i--) {
		const lxc_prot *p = &c->prots[i];
		if (p->prot < 0)
			continue;
		uint64_t args[6] = { p->addr, p->len, (uint64_t)p->prot };
		int64_t ret;
		int sig = 0;
		if (lxc_syscall_raw(child, c->syscall_insn, SYS_mprotect, args, &ret, &sig) < 0)
			break;
	}
	ptrace(PTRACE_DETACH, child, 0, 0);
}
