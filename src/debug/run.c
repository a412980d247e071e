/* Running the target: resume every thread (each thread sitting on one of
 * our int3s first steps over the original instruction alone, the others
 * held), then take events until one stops the session. A breakpoint hit
 * rewinds the thread onto the int3's address; conditions, pass counts and
 * log-only breakpoints are decided here, without stopping the session. */
#include "dbg.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

static bool crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT;
}

static void note_over(vm_dbg *d, int64_t tid, uint64_t addr)
{
	for (size_t i = 0; i < d->nover; i++)
		if (d->over[i].tid == tid) {
			d->over[i].addr = addr;
			return;
		}
	ARRAY_PUSH(d->over, d->nover, d->overcap);
	d->over[d->nover - 1].tid = tid;
	d->over[d->nover - 1].addr = addr;
}

/* the original instruction at a site, read once */
static bool site_code(vm_dbg *d, dbg_site *s)
{
	if (!s->ncode) {
		ssize_t got = vm_dbg_read(d, s->addr, s->code, sizeof s->code);
		s->ncode = got > 0 ? (uint8_t)got : 0;
	}
	return s->ncode > 0;
}

static int handle(vm_dbg *d, const vm_event *ev, bool *stop);

/* Run thread tid, at addr where an int3 of ours is, over the original
 * instruction: the byte put back, one step with every other thread held,
 * the int3 again. An event other than the step's end is handled (*stop). */
static int step_over(vm_dbg *d, int64_t tid, uint64_t addr, bool *stop)
{
	dbg_site *s = dbg_site_at(d, addr);
	bool was_in = s && s->in;
	vm_regs r;
	if (was_in && site_code(d, s) && dbg_get_regs(d, tid, &r) == 0 && r.rip == addr &&
	    dbg_emulate(d, &r, s->code, s->ncode)) {
		if (vm_control_set_regs(d->c, tid, &r) < 0)
			return -1;
		if (tid == d->cur)
			d->regs = r;
		return 0;
	}
	if (was_in && dbg_site_remove(d, s) < 0)
		return -1;
	vm_event ev;
	int rc = vm_control_step(d->c, tid);
	if (rc == 0)
		rc = vm_control_wait(d->c, -1, &ev);
	if (was_in && d->alive && !(rc == 0 && ev.kind == VM_EV_EXIT))
		dbg_site_insert(d, s);
	if (rc < 0)
		return -1;
	if (tid == d->cur)
		d->regs_ok = false;
	if (ev.kind == VM_EV_STEP && ev.tid == tid)
		return 0;
	if (handle(d, &ev, stop) < 0)
		return -1;
	/* a signal came first: the instruction has not run yet */
	if (d->alive && !*stop && ev.tid == tid && dbg_get_regs(d, tid, &r) == 0 && r.rip == addr && was_in)
		note_over(d, tid, addr);
	return 0;
}

/* step every rewound thread (and the current one, if it sits on an
 * int3) over its instruction */
static int step_pending(vm_dbg *d, bool *stop)
{
	if (d->alive && dbg_refresh_regs(d) == 0 && dbg_site_at(d, d->regs.rip) &&
	    dbg_site_at(d, d->regs.rip)->in)
		note_over(d, d->cur, d->regs.rip);
	while (d->nover && !*stop && d->alive) {
		int64_t tid = d->over[d->nover - 1].tid;
		uint64_t addr = d->over[d->nover - 1].addr;
		d->nover--;
		bool known = false;
		for (size_t i = 0; i < d->ntids && !known; i++)
			known = d->tids[i] == tid;
		if (known && step_over(d, tid, addr, stop) < 0)
			return -1;
	}
	return 0;
}

/* does breakpoint b stop (its condition true, its pass count reached)?
 * A log-only breakpoint prints instead. */
static bool bp_stops(vm_dbg *d, dbg_bp *b, int64_t tid, uint64_t pc, vm_dbg_event *stop_ev)
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

	vm_dbg_event e;
	dbg_event_at(d, &e, VM_DBG_EV_BREAK, ev->tid, ev->addr);
	bool stops = false, loader = false;
	size_t from = 0;
	for (dbg_bp *b; (b = dbg_code_bps_at(d, ev->addr, &from));) {
		if (b->runto) {
			if (ev->tid == d->runto_tid && d->regs.rsp > d->runto_sp)
				stops = d->runto_hit = true;
		} else if (b->internal) {
			loader = true;
		} else if (bp_stops(d, b, ev->tid, ev->addr, &e)) {
			stops = true;
		}
	}
	if (loader && d->r_debug) {
		uint32_t state = 1;
		vm_dbg_read(d, d->r_debug + (d->bits == 32 ? 12 : 24), &state, sizeof state);
		if (state == 0) /* RT_CONSISTENT: the list is complete again */
			dbg_rebuild_map(d, true);
	}
	if (!stops && s->in && site_code(d, s) &&
	    dbg_emulate(d, &d->regs, s->code, s->ncode)) {
		/* past the instruction without a step of its own */
		return vm_control_set_regs(d->c, ev->tid, &d->regs);
	}
	if (vm_control_set_regs(d->c, ev->tid, &d->regs) < 0)
		return -1;
	note_over(d, ev->tid, ev->addr);
	if (!stops)
		return 0;
	*stop = true;
	if (e.bp) {
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
		if (!bp_stops(d, b, ev->tid, ev->addr, &e))
			continue;
		e.addr = b->addr;
		e.len = b->len;
		e.old_value = old;
		e.new_value = now;
		e.stopped = *stop = true;
		dbg_emit(d, &e);
		if (b->temporary)
			vm_dbg_delete(d, b->id);
		return 0;
	}
	return 0;
}

static int on_signal(vm_dbg *d, const vm_event *ev, bool *stop)
{
	int sig = ev->signal;
	if (sig == SIGSTOP && atomic_exchange(&d->interrupt, 0)) {
		vm_control_discard_signal(d->c, ev->tid);
		vm_dbg_event e;
		d->cur = ev->tid;
		d->regs_ok = false;
		vm_regs r;
		dbg_event_at(d, &e, VM_DBG_EV_INTERRUPT, ev->tid,
			     dbg_get_regs(d, ev->tid, &r) == 0 ? r.rip : 0);
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
	if (crash_signal(sig))
		stops = true;
	if (stops) {
		d->cur = ev->tid;
		d->regs_ok = false;
	}
	e.stopped = *stop = stops;
	if (stops || sig >= DBG_NSIG || !d->sig_quiet[sig])
		dbg_emit(d, &e);
	return 0;
}

static int handle(vm_dbg *d, const vm_event *ev, bool *stop)
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
		dbg_event_at(d, &e, VM_DBG_EV_FORK, ev->tid, 0);
		e.child = (int64_t)ev->addr;
		e.vfork = ev->code == 1;
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
	case VM_EV_NONE:
		return 0;
	}
	return 0;
}

/* report the events met while stopping the threads before anything runs
 * again (a step over an int3 must see only its own thread's events) */
static int drain(vm_dbg *d, bool *stop)
{
	while (d->alive && !*stop && vm_control_pending(d->c)) {
		vm_event ev;
		if (vm_control_wait(d->c, 0, &ev) < 0 || handle(d, &ev, stop) < 0)
			return -1;
	}
	return 0;
}

void dbg_drain_all(vm_dbg *d)
{
	for (int i = 0; i < 100000 && d->alive && vm_control_pending(d->c); i++) {
		vm_event ev;
		bool stop = false;
		if (vm_control_wait(d->c, 0, &ev) < 0 || handle(d, &ev, &stop) < 0)
			return;
	}
}

int dbg_run(vm_dbg *d)
{
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	bool stop = false;
	if (drain(d, &stop) < 0)
		return -1;
	if (!stop && step_pending(d, &stop) < 0)
		return -1;
	while (!stop) {
		d->regs_ok = false;
		if (vm_control_resume(d->c) < 0)
			return -1;
		vm_event ev;
		if (vm_control_wait(d->c, -1, &ev) < 0)
			return -1;
		if (handle(d, &ev, &stop) < 0 || drain(d, &stop) < 0)
			return -1;
		if (!stop && step_pending(d, &stop) < 0)
			return -1;
	}
	return 0;
}

int dbg_step_one(vm_dbg *d, bool *stopped)
{
	*stopped = false;
	if (drain(d, stopped) < 0)
		return -1;
	if (*stopped)
		return 0;
	if (dbg_refresh_regs(d) < 0)
		return -1;
	dbg_site *s = dbg_site_at(d, d->regs.rip);
	for (size_t i = 0; i < d->nover; i++)
		if (d->over[i].tid == d->cur)
			d->over[i] = d->over[--d->nover];
	if (s && s->in)
		return step_over(d, d->cur, d->regs.rip, stopped);
	vm_event ev;
	d->regs_ok = false;
	if (vm_control_step(d->c, d->cur) < 0 || vm_control_wait(d->c, -1, &ev) < 0)
		return -1;
	if (ev.kind == VM_EV_STEP && ev.tid == d->cur)
		return 0;
	return handle(d, &ev, stopped);
}

int dbg_run_to(vm_dbg *d, uint64_t addr, uint64_t min_sp, bool *stopped)
{
	*stopped = false;
	if (dbg_set_runto(d, addr) < 0)
		return -1;
	d->runto_sp = min_sp;
	d->runto_tid = d->cur;
	d->runto_hit = false;
	int rc = dbg_run(d);
	dbg_clear_runto(d);
	if (rc == 0 && !d->runto_hit)
		*stopped = true;
	return rc;
}

int vm_dbg_continue(vm_dbg *d)
{
	atomic_store(&d->interrupt, 0);
	return dbg_run(d);
}
