/* What each event of the control means to the session: a breakpoint
 * hit (its condition, pass count and log decided here; the thread put
 * back on the int3's address, or past the instruction), a watchpoint,
 * a signal (with the handle settings), threads, fork, exec and exit. */
#include "dbg.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/console.h"
#include "base/util.h"
#include "vmatlas/error.h"

static bool crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT;
}

/* does breakpoint b stop (its condition true, its pass count reached)?
 * A log-only breakpoint prints instead. */
bool dbg_bp_stops(vm_dbg *d, dbg_bp *b, int64_t tid, uint64_t pc, vm_dbg_event *stop_ev)
{
	if (b->cond) {
		uint64_t v;
		if (dx_eval(d, b->cond, &v) < 0) {
			vm_dbg_event ev;
			dbg_event_at(d, &ev, VM_DBG_EV_LOG, tid, pc);
			ev.bp = b->id;
			char *msg = xasprintf("condition of breakpoint %d: %s (stopping)", b->id, vm_error());
			ev.text = msg;
			dbg_emit(d, &ev);
			free(msg);
		} else if (!v) {
			return false;
		}
	}
	b->hits++;
	if (b->pass > 1 && b->hits < b->pass)
		return false;
	if (b->log_text) {
		char *text = dbg_log_format(d, &b->log);
		vm_dbg_event ev;
		dbg_event_at(d, &ev, VM_DBG_EV_LOG, tid, pc);
		ev.bp = b->id;
		ev.hits = b->hits;
		ev.text = text;
		dbg_emit(d, &ev);
		free(text);
		return false;
	}
	if (stop_ev->bp == 0) {
		stop_ev->bp = b->id;
		stop_ev->hits = b->hits;
	}
	return true;
}

static int on_breakpoint(vm_dbg *d, const vm_event *ev, bool *stop)
{
	/* a site that is out now still was in when the thread ran into it
	 * (its event waited in the queue while the breakpoint was deleted) */
	dbg_site *s = dbg_site_at(d, ev->addr);
	if (!s) {
		/* an int3 of the program's own: a SIGTRAP to report */
		vm_dbg_event e;
		dbg_event_at(d, &e, VM_DBG_EV_SIGNAL, ev->tid, ev->addr + 1);
		e.signal = SIGTRAP;
		e.stopped = *stop = true;
		dbg_emit(d, &e);
		return 0;
	}
	/* the thread is seen at the int3's address (conditions read rip);
	 * it is put there, or past the instruction, below */
	d->cur = ev->tid;
	d->regs_ok = false;
	if (dbg_refresh_regs(d) < 0)
		return -1;
	d->regs.rip = ev->addr;
	if (d->closing) /* back on the instruction, which runs as it was */
		return vm_control_set_regs(d->c, ev->tid, &d->regs);

	vm_dbg_event e; /* named only when it stops (a false condition: no symbols) */
	memset(&e, 0, sizeof e);
	bool stops = false, loader = false;
	size_t from = 0;
	for (dbg_bp *b; (b = dbg_code_bps_at(d, ev->addr, &from));) {
		if (b->runto) {
			if (ev->tid == d->runto_tid && d->regs.rsp > d->runto_sp)
				stops = d->runto_hit = true;
		} else if (b->internal) {
			loader = true;
		} else if (dbg_bp_stops(d, b, ev->tid, ev->addr, &e)) {
			stops = true;
		}
	}
	if (loader && d->r_debug) {
		uint32_t state = 1;
		vm_dbg_read(d, d->r_debug + (d->bits == 32 ? 12 : 24), &state, sizeof state);
		if (state == 0) /* RT_CONSISTENT: the list is complete again */
			dbg_rebuild_map(d, true);
		/* a pending breakpoint set then may have moved the sites */
		s = dbg_site_at(d, ev->addr);
	}
	if (!stops && s && s->in && dbg_site_code(d, s) &&
	    dbg_emulate(d, &d->regs, s->code, s->ncode)) {
		/* past the instruction without a step of its own */
		return vm_control_set_regs(d->c, ev->tid, &d->regs);
	}
	if (vm_control_set_regs(d->c, ev->tid, &d->regs) < 0)
		return -1;
	dbg_note_over(d, ev->tid, ev->addr);
	if (!stops)
		return 0;
	*stop = true;
	if (e.bp) {
		vm_dbg_event was = e;
		dbg_event_at(d, &e, VM_DBG_EV_BREAK, ev->tid, ev->addr);
		e.bp = was.bp;
		e.hits = was.hits;
		e.stopped = true;
		dbg_emit(d, &e);
		dbg_bp *b = dbg_bp_find(d, e.bp);
		if (b && b->temporary)
			vm_dbg_delete(d, b->id);
	}
	return 0;
}

/* an execution watchpoint faults before its instruction runs: resume
 * with RF set, or it would fault again at once */
static void resume_past(vm_dbg *d, int64_t tid)
{
	vm_regs r;
	if (dbg_get_regs(d, tid, &r) == 0) {
		r.rflags |= 0x10000;
		if (vm_control_set_regs(d->c, tid, &r) == 0 && tid == d->cur)
			d->regs = r;
	}
}

static int on_watch(vm_dbg *d, const vm_event *ev, bool *stop)
{
	if (d->closing) /* the access is done; the registers go next */
		return 0;
	d->cur = ev->tid;
	d->regs_ok = false;
	for (size_t i = 0; i < d->nbps; i++)
		if (d->bps[i].kind == VM_BP_WATCH && d->bps[i].slot >= 0 && d->bps[i].rw == VM_DR_RW_EXEC &&
		    (ev->dr6 & (1ull << d->bps[i].slot)))
			resume_past(d, ev->tid);
	for (size_t i = 0; i < d->nbps; i++) {
		dbg_bp *b = &d->bps[i];
		if (b->kind != VM_BP_WATCH || b->slot < 0 || !b->enabled || !(ev->dr6 & (1ull << b->slot)))
			continue;
		vm_dbg_event e;
		dbg_event_at(d, &e, VM_DBG_EV_WATCH, ev->tid, ev->addr);
		uint64_t now = dbg_watch_read(d, b);
		uint64_t old = b->old_value;
		b->old_value = now;
		if (!dbg_bp_stops(d, b, ev->tid, ev->addr, &e))
			continue;
		e.addr = b->addr;
		e.len = b->len;
		e.old_value = old;
		e.new_value = now;
		if (b->access) {
			/* a memory breakpoint a debug register holds: a hit of the
			 * bpm, as its page-protection hits are (DR6 does not tell a
			 * read from a write of the same value: "access") */
			e.access = b->access == VM_BPM_RW && old != now ? VM_BPM_WRITE : b->access;
			e.by_pages = false;
			if (e.access == VM_BPM_WRITE && b->len > 0 && b->len <= 8) {
				e.nbytes = b->len;
				for (int k = 0; k < b->len; k++) {
					e.old_bytes[k] = (uint8_t)(old >> (8 * k));
					e.new_bytes[k] = (uint8_t)(now >> (8 * k));
				}
			}
		}
		e.stopped = *stop = true;
		dbg_emit(d, &e);
		if (b->temporary)
			vm_dbg_delete(d, b->id);
		return 0;
	}
	return 0;
}

/* VMATLAS_TEST_PAUSE_AGAIN=1: a second pause asked as the first one's
 * SIGSTOP is taken, as a second Ctrl-C (or timeout(1) passing one SIGINT
 * to its child and its group) comes */
static int pause_again = -1;

static int on_signal(vm_dbg *d, const vm_event *ev, bool *stop)
{
	int sig = ev->signal;
	if ((sig == SIGSEGV && d->npages) || (sig == SIGBUS && d->bx.nwp)) {
		int r = dbg_bpm_fault(d, ev, stop);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	if (sig == SIGSTOP && d->stop_due && !atomic_load(&d->interrupt)) {
		/* the SIGSTOP of a pause that a SIGINT made already */
		d->stop_due = false;
		vm_control_discard_signal(d->c, ev->tid);
		return 0;
	}
	if (sig == SIGSTOP)
		dbg_test_pause(d, "VMATLAS_TEST_PAUSE_AGAIN", &pause_again);
	int asked = sig == SIGSTOP || sig == SIGINT ? atomic_exchange(&d->interrupt, 0) : 0;
	/* a console's Ctrl-C (DBG_CONTROL_C, DBG_CONTROL_BREAK) to a target
	 * on our console reached it before our own handler ran */
	if (!asked && sig == SIGINT && (ev->exception == 0x40010005u || ev->exception == 0x40010008u) &&
	    vm_console_shared(atomic_load(&d->pid))) {
		asked = 2;
		dbg_ctrl_came_ahead();
	}
	if (asked) {
		/* a Ctrl-C the target got too (its SIGINT) is the pause */
		d->stop_due = sig == SIGINT && asked == 1;
		vm_control_discard_signal(d->c, ev->tid);
		/* a SIGINT comes to any thread (on Windows a thread of its own
		 * for the Ctrl-C): the pause shows the thread that was current */
		int64_t tid = ev->tid;
		for (size_t i = 0; sig == SIGINT && i < d->ntids; i++)
			if (d->tids[i] == d->cur)
				tid = d->cur;
		vm_dbg_event e;
		d->cur = tid;
		d->regs_ok = false;
		vm_regs r;
		dbg_event_at(d, &e, VM_DBG_EV_INTERRUPT, tid, dbg_get_regs(d, tid, &r) == 0 ? r.rip : 0);
		e.stopped = *stop = true;
		dbg_emit(d, &e);
		return 0;
	}
	bool pass = sig < DBG_NSIG ? d->sig_pass[sig] : true;
	bool stops = sig < DBG_NSIG ? d->sig_stop[sig] : true;
	if (!pass)
		vm_control_discard_signal(d->c, ev->tid);
	vm_regs r;
	uint64_t pc = dbg_get_regs(d, ev->tid, &r) == 0 ? r.rip : 0;
	vm_dbg_event e;
	dbg_event_at(d, &e, crash_signal(sig) ? VM_DBG_EV_CRASH : VM_DBG_EV_SIGNAL, ev->tid, pc);
	e.signal = sig;
	e.code = ev->code;
	e.addr = ev->addr;
	e.exception = ev->exception;
	/* a crash stops unless 'handle SIG nostop' said otherwise: a JVM
	 * catches its own SIGSEGVs (null checks, safepoint polls) */
	if (stops) {
		d->cur = ev->tid;
		d->regs_ok = false;
	}
	e.stopped = *stop = stops;
	if (stops || sig >= DBG_NSIG || !d->sig_quiet[sig])
		dbg_emit(d, &e);
	/* its handler's frame may go onto a protected page */
	if (pass && d->npages && stops) {
		d->deliver_tid = ev->tid;
		d->deliver_sig = sig;
	} else if (pass && d->npages && d->alive) {
		return dbg_bpm_deliver(d, ev->tid, sig, stop) < 0 ? -1 : 0;
	}
	return 0;
}

int dbg_handle(vm_dbg *d, const vm_event *ev, bool *stop)
{
	vm_dbg_event e;
	switch (ev->kind) {
	case VM_EV_BREAKPOINT:
		return on_breakpoint(d, ev, stop);
	case VM_EV_WATCH:
		return on_watch(d, ev, stop);
	case VM_EV_SIGNAL:
		return on_signal(d, ev, stop);
	case VM_EV_STEP: /* a step nobody asked for (TF set by the program) */
		d->cur = ev->tid;
		d->regs_ok = false;
		dbg_event_at(d, &e, VM_DBG_EV_STEP, ev->tid, ev->addr);
		e.stopped = *stop = true;
		dbg_emit(d, &e);
		return 0;
	case VM_EV_THREAD_START:
		dbg_add_thread(d, ev->tid);
		if (d->dr7)
			dbg_watch_apply(d, ev->tid);
		dbg_event_at(d, &e, VM_DBG_EV_THREAD_START, ev->tid, 0);
		dbg_emit(d, &e);
		return 0;
	case VM_EV_THREAD_EXIT:
		if (ev->tid == d->blk_tid) /* gone in the call that waited */
			d->blk_tid = 0;
		dbg_remove_thread(d, ev->tid);
		dbg_event_at(d, &e, VM_DBG_EV_THREAD_EXIT, ev->tid, 0);
		dbg_emit(d, &e);
		return 0;
	case VM_EV_FORK:
		if (ev->code == 2) { /* the vfork child has let go of our memory */
			d->vfork_out = false;
			dbg_sites_sync(d);
			return 0;
		}
		if (ev->code == 1) { /* shared memory: the child put the bytes back */
			for (size_t i = 0; i < d->nsites; i++)
				d->sites[i].in = false;
			d->vfork_out = true;
		}
		if (ev->code == 3) { /* the control holds the child now */
			free(d->tids);
			d->tids = xcalloc(1, sizeof *d->tids);
			d->tids[0] = d->cur = (int64_t)ev->addr;
			atomic_store(&d->pid, d->cur);
			d->ntids = 1;
			d->nover = 0;
			d->regs_ok = d->where_ok = false;
			dbg_rebuild_map(d, false);
			if (d->dr7)
				dbg_watch_apply_all(d); /* not inherited */
		}
		dbg_event_at(d, &e, VM_DBG_EV_FORK, ev->tid, 0);
		e.child = (int64_t)ev->addr;
		e.vfork = ev->code == 1;
		e.followed = ev->code == 3;
		dbg_emit(d, &e);
		return 0;
	case VM_EV_EXEC: {
		dbg_bps_forget(d);
		d->nover = 0;
		int64_t *tids;
		size_t n;
		if (vm_control_threads(d->c, &tids, &n) == 0) {
			free(d->tids);
			d->tids = tids;
			d->ntids = n;
		}
		d->cur = d->pid;
		d->regs_ok = false;
		dbg_rebuild_map(d, false);
		vm_target_info info;
		dbg_event_at(d, &e, VM_DBG_EV_EXEC, d->pid, 0);
		e.text = vm_target_info_get(d->t, &info) == 0 ? info.exe : NULL;
		dbg_emit(d, &e);
		dbg_set_loader_break(d);
		return 0;
	}
	case VM_EV_EXIT:
		d->alive = false;
		d->nover = 0;
		d->ntids = 0;
		dbg_event_at(d, &e, VM_DBG_EV_EXIT, ev->tid, 0);
		e.status = ev->code;
		e.signal = ev->signal;
		e.stopped = *stop = true;
		dbg_emit(d, &e);
		return 0;
	case VM_EV_SYSCALL:
		return dbg_bpm_syscall(d, ev, stop);
	case VM_EV_MODULES: /* as the r_brk breakpoint does on Linux */
		dbg_rebuild_map(d, true);
		return 0;
	case VM_EV_NONE:
		return 0;
	}
	return 0;
}
