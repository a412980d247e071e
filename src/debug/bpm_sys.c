/* Memory breakpoints and the kernel (bpm.c has the pages and the
 * faults). While pages are protected, the control reports the entry of
 * every system call whose memory touches one of them:
 *  - a buffer the kernel reads or writes (read, write, readv, recvmsg,
 *    rt_sigreturn's frame ...): the kernel copies without faulting, so
 *    the call would fail with EFAULT. The pages under the buffers get
 *    their original protection, the thread alone runs the call (every
 *    other thread held), the pages are protected again; an access of a
 *    watched kind that the call's result says it made to a watched range
 *    is a hit by that call;
 *    A call still running after BLOCK_MS waits for something (a thread
 *    held?): its pages are protected again and it goes on with the
 *    others; if it then fails with EFAULT it is made again alone;
 *  - the program's own mprotect (the new protection becomes the pages'
 *    original, the breakpoints' one goes on top), munmap, a MAP_FIXED
 *    mmap, a lower brk (the pages are forgotten, breakpoints there
 *    removed with a notice), mremap (the pages are lifted first so that
 *    the mapping is one again, then follow it; what is cut off goes).
 * Signals: a handler's frame may go onto a protected page (a stack or an
 * alternate stack there); the kernel would kill the thread. So a signal
 * with a handler is delivered by one step with the protected pages
 * lifted: the thread stops at the handler's first instruction, and the
 * pages are protected again before anything runs. */
#include "dbg.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define PAGE 4096u
#define MAX_MEM 160
#define MAX_LATER 16

static bool overlaps(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

void dbg_bpm_watch_syscalls(vm_dbg *d)
{
	if (!d->alive)
		return;
	/* the pages protected, and those a userfaultfd write-protects */
	size_t all = d->npages + d->bx.nwp;
	uint64_t *r = all ? xcalloc(2 * all, sizeof *r) : NULL;
	size_t n = 0;
	for (size_t i = 0; i < d->npages; i++) {
		r[2 * n] = d->pages[i].addr;
		r[2 * n + 1] = PAGE;
		n++;
	}
	for (size_t i = 0; i < d->bx.nwp; i++) {
		r[2 * n] = d->bx.wp[i].addr;
		r[2 * n + 1] = PAGE;
		n++;
	}
	vm_control_watch_syscalls(d->c, r, n);
	free(r);
}

/* tid runs alone until its step ends (events of other threads met on the
 * way are kept in later[] for after); *other: something else came */
static int step_alone(vm_dbg *d, int64_t tid, vm_event *sev, vm_event *later, size_t *nlater, bool *other)
{
	*other = false;
	for (;;) {
		bool queued = vm_control_pending(d->c);
		if ((!queued && vm_control_step(d->c, tid) < 0) || vm_control_wait(d->c, -1, sev) < 0)
			return -1;
		if (queued && sev->tid != tid && sev->kind != VM_EV_EXIT && *nlater < MAX_LATER) {
			later[(*nlater)++] = *sev;
			continue;
		}
		*other = !(sev->kind == VM_EV_STEP && sev->tid == tid);
		return 0;
	}
}

static int handle_later(vm_dbg *d, vm_event *later, size_t nlater, const vm_event *sev, bool other, bool *stop)
{
	for (size_t i = 0; i < nlater && d->alive; i++)
		if (dbg_handle(d, &later[i], stop) < 0)
			return -1;
	if (other && dbg_handle(d, sev, stop) < 0)
		return -1;
	return 0;
}

/* the lifted pages are at their original protection now: sync puts the
 * breakpoints' back */
static void lift(vm_dbg *d, int64_t by, uint64_t addr, uint64_t len, bool *any)
{
	for (size_t i = 0; i < d->npages; i++) {
		dbg_page *p = &d->pages[i];
		if (p->cur == p->orig || !overlaps(p->addr, PAGE, addr, len))
			continue;
		if (vm_control_protect_by(d->c, by, p->addr, PAGE, p->orig, 0) == 0)
			p->cur = p->orig;
		*any = true;
	}
}

static void notice(vm_dbg *d, int64_t tid, uint64_t pc, int id, const char *text)
{
	vm_dbg_event e;
	dbg_event_at(d, &e, VM_DBG_EV_LOG, tid, pc);
	e.bp = id;
	e.text = text;
	dbg_emit(d, &e);
}

/* [a, a+n) unmapped: its pages forgotten, its memory breakpoints gone */
static void unmapped(vm_dbg *d, int64_t tid, uint64_t pc, uint64_t a, uint64_t n)
{
	dbg_data_bps_gone(d, tid, pc, a, n, false, "its memory was unmapped");
}

/* mremap [a, a+len) -> [to, to+newlen): the pages (lifted: at their
 * original protection) and breakpoints follow; what is cut off goes */
static void moved(vm_dbg *d, int64_t tid, uint64_t pc, uint64_t a, uint64_t len, uint64_t to, uint64_t newlen)
{
	uint64_t keep = newlen < len ? newlen : len;
	if (keep < len)
		unmapped(d, tid, pc, a + keep, len - keep);
	if (to == a)
		return;
	for (size_t i = 0; i < d->npages; i++) {
		dbg_page *p = &d->pages[i];
		if (!overlaps(p->addr, PAGE, a, keep))
			continue;
		vm_control_update_saved_prot(d->c, p->addr, PAGE, -1);
		p->addr = to + (p->addr - a);
		p->cur = p->orig;
		p->journaled = false;
	}
	for (size_t i = 0; i < d->nbps; i++) {
		dbg_bp *b = &d->bps[i];
		if (b->kind != VM_BP_MEM || !overlaps(b->addr, b->mlen, a, keep))
			continue;
		b->addr = to + (b->addr - a);
		char *t = xasprintf("bpm %d moved to 0x%llx: its memory was remapped", b->id,
				    (unsigned long long)b->addr);
		notice(d, tid, pc, b->id, t);
		free(t);
	}
}

/* the pages of [a, a+n) that cannot be read any more were unmapped */
static void released(vm_dbg *d, int64_t tid, uint64_t pc, uint64_t a, uint64_t n)
{
	for (size_t i = 0; i < d->npages;) {
		uint8_t byte;
		uint64_t pg = d->pages[i].addr;
		if (overlaps(pg, PAGE, a, n) && vm_control_read(d->c, pg, &byte, 1) != 1) {
			unmapped(d, tid, pc, pg, PAGE);
			i = 0; /* the table changed under us */
		} else {
			i++;
		}
	}
}

static void reprotected(vm_dbg *d, uint64_t a, uint64_t n, unsigned prot)
{
	for (size_t i = 0; i < d->npages; i++) {
		dbg_page *p = &d->pages[i];
		if (!overlaps(p->addr, PAGE, a, n))
			continue;
		p->orig = p->cur = prot;
		vm_control_update_saved_prot(d->c, p->addr, PAGE, (int)prot);
	}
}

/* the first enabled page breakpoint a done access of its kind touches */
static dbg_bp *syscall_hit(vm_dbg *d, const vm_sysmem *m, size_t n, int64_t rv, uint64_t *addr, uint64_t *len,
			   int *access)
{
	for (size_t i = 0; i < d->nbps; i++) {
		dbg_bp *b = &d->bps[i];
		if (b->kind != VM_BP_MEM || !b->enabled)
			continue;
		uint64_t left = rv < 0 ? 0 : (uint64_t)rv;
		for (size_t k = 0; k < n; k++) {
			if (m[k].kind != VM_SYSMEM_READ && m[k].kind != VM_SYSMEM_WRITE)
				continue;
			uint64_t done = m[k].len;
			if (m[k].counted) {
				done = left < m[k].len ? left : m[k].len;
				left -= done;
			}
			int acc = m[k].kind == VM_SYSMEM_READ ? VM_BPM_READ : VM_BPM_WRITE;
			if (rv < 0 || !(acc & b->access) || !overlaps(m[k].addr, done, b->addr, b->mlen))
				continue;
			*addr = m[k].addr > b->addr ? m[k].addr : b->addr;
			uint64_t end = m[k].addr + done < b->addr + b->mlen ? m[k].addr + done : b->addr + b->mlen;
			*len = end - *addr;
			*access = acc;
			return b;
		}
	}
	return NULL;
}

#define EFAULT_ 14
#define BLOCK_MS 200 /* a call not done by then waits for something */

static bool restarting(int64_t rv)
{
	return rv <= -512 && rv >= -516; /* ERESTARTSYS ... ERESTART_RESTARTBLOCK */
}

/* tid alone runs its call to the exit (*rv its result): 0; 1 when it
 * still runs after BLOCK_MS (it waits in the kernel); 2 when it stopped
 * before its end (a signal: it restarts); -1 */
static int run_alone(vm_dbg *d, int64_t tid, int64_t *rv, vm_event *sev, vm_event *later, size_t *nlater,
		     bool *other)
{
	*other = false;
	/* the events already queued first: popping one stops every running
	 * thread (all-stop), tid in its call too, with no news of its own */
	while (vm_control_pending(d->c) && *nlater < MAX_LATER) {
		if (vm_control_wait(d->c, 0, sev) < 0)
			return -1;
		if (sev->tid == tid || sev->kind == VM_EV_EXIT || sev->kind == VM_EV_NONE) {
			*other = sev->kind != VM_EV_NONE;
			return 0;
		}
		later[(*nlater)++] = *sev;
	}
	if (vm_control_run_syscall(d->c, tid) < 0)
		return -1;
	for (;;) {
		if (vm_control_wait(d->c, BLOCK_MS, sev) < 0)
			return -1;
		if (sev->kind == VM_EV_NONE)
			return 1;
		if (sev->tid != tid && sev->kind != VM_EV_EXIT && *nlater < MAX_LATER) {
			/* another thread's news (a new thread of tid's clone):
			 * tid, stopped with the others, goes on to its exit */
			later[(*nlater)++] = *sev;
			if (vm_control_run_syscall(d->c, tid) < 0)
				return -1;
			continue;
		}
		if (sev->kind != VM_EV_SYSCALL || sev->tid != tid || sev->addr != 1) {
			*other = true;
			return 0;
		}
		vm_regs r;
		if (vm_control_get_regs(d->c, tid, &r) < 0)
			return -1;
		*rv = (int64_t)r.rax;
		return restarting(*rv) ? 2 : 0;
	}
}

static void blocked_forget(vm_dbg *d)
{
	free(d->blk_mem);
	d->blk_mem = NULL;
	d->blk_n = 0;
	d->blk_tid = 0;
	d->blk_lifted = false;
}

/* a page under the call's buffers still at its original protection
 * where a breakpoint wants another (no thread could protect it) */
static bool still_lifted(vm_dbg *d, const vm_sysmem *m, size_t n)
{
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < d->npages; i++) {
			const dbg_page *p = &d->pages[i];
			if ((m[k].kind == VM_SYSMEM_READ || m[k].kind == VM_SYSMEM_WRITE) &&
			    overlaps(p->addr, PAGE, m[k].addr, m[k].len) && p->cur == p->orig &&
			    dbg_bpm_need(d, p) != p->orig)
				return true;
		}
	return false;
}

/* what the call did, once it has run: its changes of mappings, the
 * protections again, and a hit when it touched a watched range on a
 * lifted page (any) */
static int finish_call(vm_dbg *d, int64_t tid, uint64_t pc, const vm_sysmem *m, size_t n, const char *name,
		       int64_t rv, bool any, const uint8_t *old, uint64_t old_at, int nold, bool *stop)
{
	bool ok = rv >= 0 || rv < -4095;
	for (size_t k = 0; k < n && ok; k++) {
		if (m[k].kind == VM_SYSMEM_PROTECT && rv == 0)
			reprotected(d, m[k].addr, m[k].len, m[k].prot);
		else if (m[k].kind == VM_SYSMEM_UNMAP && (!strcmp(name, "munmap") ? rv == 0 : true))
			unmapped(d, tid, pc, m[k].addr, m[k].len);
		else if (m[k].kind == VM_SYSMEM_MOVE)
			moved(d, tid, pc, m[k].addr, m[k].len, (uint64_t)rv, m[k].newlen);
		else if (m[k].kind == VM_SYSMEM_RELEASE)
			released(d, tid, pc, m[k].addr, m[k].len);
	}
	dbg_bpm_sync(d);
	if (!any || *stop)
		return 0;
	uint64_t addr = 0, len = 0;
	int access = 0;
	dbg_bp *hit = syscall_hit(d, m, n, rv, &addr, &len, &access);
	if (!hit)
		return 0;
	d->cur = tid;
	d->regs_ok = false;
	vm_dbg_event e;
	dbg_event_at(d, &e, VM_DBG_EV_WATCH, tid, pc);
	e.access = access;
	e.by_pages = true;
	snprintf(e.insn, sizeof e.insn, "syscall (%s)", name);
	if (access == VM_BPM_WRITE && nold && old_at <= addr && addr - old_at < (uint64_t)nold) {
		size_t off = (size_t)(addr - old_at);
		e.nbytes = (int)((uint64_t)nold - off < len ? (uint64_t)nold - off : len);
		memcpy(e.old_bytes, old + off, (size_t)e.nbytes);
		if (vm_dbg_read(d, addr, e.new_bytes, (size_t)e.nbytes) != e.nbytes)
			e.nbytes = 0;
	}
	if (dbg_bp_stops(d, hit, tid, pc, &e))
		dbg_bpm_stop(d, hit, &e, addr, len, stop);
	return 0;
}

/* the events met meanwhile; a stop for one of them stops the thread
 * still in its call too (all-stop: its call restarts after) */
static int waiting_later(vm_dbg *d, int rc, vm_event *later, size_t nlater, const vm_event *sev, bool other,
			 bool *stop)
{
	if (handle_later(d, later, nlater, sev, other, stop) < 0)
		return -1;
	if (rc == 1 && *stop && d->alive)
		vm_control_stop(d->c);
	return 0;
}

/* The call m[0..n) of tid (at its entry, or rewound onto its `syscall`)
 * run alone with the pages under its buffers lifted, then what it did. */
static int run_call(vm_dbg *d, int64_t tid, uint64_t pc, const vm_sysmem *m, size_t n, const char *name,
		    bool *stop)
{
	/* the bytes a write may change, before (the first 32 of the first
	 * watched range a WRITE buffer touches) */
	uint8_t old[32];
	uint64_t old_at = 0;
	int nold = 0;
	for (size_t k = 0; k < n && !nold; k++)
		for (size_t i = 0; i < d->nbps && !nold && m[k].kind == VM_SYSMEM_WRITE; i++) {
			const dbg_bp *b = &d->bps[i];
			if (b->kind == VM_BP_MEM && (b->access & VM_BPM_WRITE) &&
			    overlaps(m[k].addr, m[k].len, b->addr, b->mlen)) {
				old_at = m[k].addr > b->addr ? m[k].addr : b->addr;
				nold = (int)vm_dbg_read(d, old_at, old, sizeof old);
				if (nold < 0)
					nold = 0;
			}
		}

	bool any = false;
	for (size_t k = 0; k < n; k++)
		if (m[k].kind == VM_SYSMEM_READ || m[k].kind == VM_SYSMEM_WRITE || m[k].kind == VM_SYSMEM_MOVE)
			lift(d, tid, m[k].addr, m[k].len, &any);
	/* a userfaultfd's write-protection: the kernel's writes fail there */
	for (size_t k = 0; k < n && d->bx.nwp; k++)
		if (m[k].kind == VM_SYSMEM_WRITE && dbg_uffd_touches(d, m[k].addr, m[k].len)) {
			dbg_uffd_range(d, tid, m[k].addr, m[k].len, VM_WP_LIFT);
			any = true;
		}
	vm_event sev, later[MAX_LATER];
	size_t nlater = 0;
	bool other = false;
	int64_t rv = -1;
	int rc = run_alone(d, tid, &rv, &sev, later, &nlater, &other);
	d->regs_ok = false;
	for (size_t k = 0; k < n && d->bx.nwp && d->alive && !(other && sev.kind == VM_EV_EXIT); k++)
		if (m[k].kind == VM_SYSMEM_WRITE)
			dbg_uffd_range(d, tid, m[k].addr, m[k].len, VM_WP_ON);
	if (rc < 0) {
		dbg_bpm_sync(d);
		return -1;
	}
	if (other && sev.kind == VM_EV_EXIT)
		return handle_later(d, later, nlater, &sev, other, stop);
	if (rc > 0 && any) {
		/* It waits in the kernel (for a thread held?), or a signal
		 * stopped it: the pages protected again by another thread,
		 * the call goes on (or restarts) with everything else
		 * running; an EFAULT then (it met the pages) makes it again
		 * alone. With no other thread to protect them, they stay
		 * lifted until its end (nothing else runs meanwhile). */
		blocked_forget(d);
		d->blk_tid = tid;
		d->blk_pc = pc;
		d->blk_name = name;
		d->blk_mem = xcalloc(n, sizeof *m);
		memcpy(d->blk_mem, m, n * sizeof *m);
		d->blk_n = n;
		memcpy(d->blk_old, old, sizeof old);
		d->blk_old_at = old_at;
		d->blk_nold = nold;
		dbg_bpm_sync(d);
		d->blk_lifted = still_lifted(d, m, n);
		return waiting_later(d, rc, later, nlater, &sev, other, stop);
	}
	if (rc == 1) /* nothing lifted: it may wait as long as it likes */
		return waiting_later(d, rc, later, nlater, &sev, other, stop);
	if (other) {
		dbg_bpm_sync(d);
		return handle_later(d, later, nlater, &sev, other, stop);
	}
	if (finish_call(d, tid, pc, m, n, name, rv, any, old, old_at, nold, stop) < 0)
		return -1;
	return handle_later(d, later, nlater, &sev, other, stop);
}

/* the exit of a call that waited: EFAULT (it met a protected page) is
 * made again alone with the pages lifted; a restart comes back at its
 * entry; anything else stands (a hit if the pages had stayed lifted) */
static int blocked_exit(vm_dbg *d, int64_t tid, bool *stop)
{
	vm_regs r;
	if (tid != d->blk_tid || vm_control_get_regs(d->c, tid, &r) < 0)
		return 0;
	int64_t rv = (int64_t)r.rax;
	if (restarting(rv))
		return 0;
	vm_sysmem *m = d->blk_mem;
	size_t n = d->blk_n;
	uint64_t pc = d->blk_pc;
	const char *name = d->blk_name;
	bool lifted = d->blk_lifted;
	uint8_t old[32];
	memcpy(old, d->blk_old, sizeof old);
	uint64_t old_at = d->blk_old_at;
	int nold = d->blk_nold;
	d->blk_mem = NULL;
	blocked_forget(d);
	int rc = 0;
	if (rv == -EFAULT_ && !lifted) {
		r.rax = r.orig_rax;
		r.rip -= 2;
		rc = vm_control_set_regs(d->c, tid, &r) < 0 ? -1 : run_call(d, tid, pc, m, n, name, stop);
	} else {
		rc = finish_call(d, tid, pc, m, n, name, rv, lifted, old, old_at, nold, stop);
	}
	free(m);
	return rc;
}

int dbg_bpm_syscall(vm_dbg *d, const vm_event *ev, bool *stop)
{
	int64_t tid = ev->tid;
	if (ev->addr == 1)
		return blocked_exit(d, tid, stop);
	if (tid == d->blk_tid) {
		/* the call that blocked, again: it runs with the others */
		vm_control_syscall_exit(d->c, tid);
		return 0;
	}
	vm_sysmem m[MAX_MEM];
	const char *name = "syscall";
	int nm = vm_control_syscall_mem(d->c, tid, m, MAX_MEM, &name);
	vm_regs r;
	if (nm <= 0 || vm_control_get_regs(d->c, tid, &r) < 0)
		return 0; /* it runs as it is */
	return run_call(d, tid, r.rip - 2 /* the `syscall` */, m, (size_t)nm, name, stop);
}

/* A signal about to be delivered to tid (not held back): with a handler
 * and protected pages, one step with them lifted puts its frame down (1:
 * stepped, into the handler; 0: nothing to do). */
int dbg_bpm_deliver(vm_dbg *d, int64_t tid, int sig, bool *stop)
{
	if (!d->npages || vm_control_sig_handled(d->c, sig) != 1)
		return 0;
	/* lifted by another thread where one can (tid keeps its signal
	 * stop, and the siginfo with it) */
	bool any = false;
	lift(d, 0, 0, UINT64_MAX, &any);
	if (!any)
		return 0;
	vm_event sev, later[MAX_LATER];
	size_t nlater = 0;
	bool other = false;
	int rc = 0;
	/* lifted by tid itself, it was taken out of its signal stop: the
	 * signal comes back as a new stop, delivered by the next step */
	for (int i = 0; i < 3 && rc == 0; i++) {
		rc = step_alone(d, tid, &sev, later, &nlater, &other);
		if (rc < 0 || !other || sev.tid != tid || sev.kind != VM_EV_SIGNAL || sev.signal != sig)
			break;
	}
	d->regs_ok = false;
	if (!(other && sev.kind == VM_EV_EXIT))
		dbg_bpm_sync(d);
	if (rc < 0 || handle_later(d, later, nlater, &sev, other, stop) < 0)
		return -1;
	return 1;
}
