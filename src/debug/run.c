/* Running the target: resume every thread (each thread sitting on one of
 * our int3s first gets past the original instruction alone, emulated or
 * stepped with the others held), then take events (handle.c) until one
 * stops the session. */
#include "dbg.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

void dbg_note_over(vm_dbg *d, int64_t tid, uint64_t addr)
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

bool dbg_site_code(vm_dbg *d, dbg_site *s)
{
	if (!s->ncode) {
		ssize_t got = vm_dbg_read(d, s->addr, s->code, sizeof s->code);
		s->ncode = got > 0 ? (uint8_t)got : 0;
	}
	return s->ncode > 0;
}

/* Run thread tid, at addr where an int3 of ours is, over the original
 * instruction: the byte put back, one step with every other thread held,
 * the int3 again. An event other than the step's end is handled (*stop). */
static int step_over(vm_dbg *d, int64_t tid, uint64_t addr, bool *stop)
{
	dbg_site *s = dbg_site_at(d, addr);
	bool was_in = s && s->in;
	vm_regs r;
	if (was_in && dbg_site_code(d, s) && dbg_get_regs(d, tid, &r) == 0 && r.rip == addr &&
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
	if (dbg_handle(d, &ev, stop) < 0)
		return -1;
	/* a signal came first: the instruction has not run yet */
	if (d->alive && !*stop && ev.tid == tid && dbg_get_regs(d, tid, &r) == 0 && r.rip == addr && was_in)
		dbg_note_over(d, tid, addr);
	return 0;
}

/* step every rewound thread (and the current one, if it sits on an
 * int3) over its instruction */
static int step_pending(vm_dbg *d, bool *stop)
{
	if (d->alive && dbg_refresh_regs(d) == 0 && dbg_site_at(d, d->regs.rip) &&
	    dbg_site_at(d, d->regs.rip)->in)
		dbg_note_over(d, d->cur, d->regs.rip);
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

/* report the events met while stopping the threads before anything runs
 * again (a step over an int3 must see only its own thread's events) */
static int drain(vm_dbg *d, bool *stop)
{
	while (d->alive && !*stop && vm_control_pending(d->c)) {
		vm_event ev;
		if (vm_control_wait(d->c, 0, &ev) < 0 || dbg_handle(d, &ev, stop) < 0)
			return -1;
	}
	return 0;
}

void dbg_drain_all(vm_dbg *d)
{
	for (int i = 0; i < 100000 && d->alive && vm_control_pending(d->c); i++) {
		vm_event ev;
		bool stop = false;
		if (vm_control_wait(d->c, 0, &ev) < 0 || dbg_handle(d, &ev, &stop) < 0)
			return;
	}
}

static int run(vm_dbg *d)
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
	int64_t dt = d->deliver_tid;
	d->deliver_tid = 0;
	if (!stop && dt && d->alive && dbg_bpm_deliver(d, dt, d->deliver_sig, &stop) < 0)
		return -1;
	while (!stop) {
		d->regs_ok = false;
		if (vm_control_resume(d->c) < 0)
			return -1;
		vm_event ev;
		if (vm_control_wait(d->c, -1, &ev) < 0)
			return -1;
		if (dbg_handle(d, &ev, &stop) < 0 || drain(d, &stop) < 0)
			return -1;
		if (!stop && step_pending(d, &stop) < 0)
			return -1;
	}
	return 0;
}

static int step_one(vm_dbg *d, bool *stopped)
{
	*stopped = false;
	if (drain(d, stopped) < 0)
		return -1;
	if (*stopped)
		return 0;
	if (d->deliver_tid == d->cur && d->alive) {
		/* the signal it stopped for first: the step ends in its handler */
		d->deliver_tid = 0;
		d->regs_ok = false;
		int r = dbg_bpm_deliver(d, d->cur, d->deliver_sig, stopped);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
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
	return dbg_handle(d, &ev, stopped);
}

int dbg_run(vm_dbg *d)
{
	dbg_run_begin(d);
	int rc = run(d);
	dbg_run_end(d);
	return rc;
}

int dbg_step_one(vm_dbg *d, bool *stopped)
{
	dbg_run_begin(d);
	int rc = step_one(d, stopped);
	dbg_run_end(d);
	return rc;
}

/* VMATLAS_TEST_PAUSE_BEFORE_RUN=1: a pause asked as a run to an address
 * is about to start, as a Ctrl-C typed while a command looks before it
 * runs (finish's unwind) comes */
static int pause_before_run = -1;

int dbg_run_to(vm_dbg *d, uint64_t addr, uint64_t min_sp, bool *stopped)
{
	*stopped = false;
	dbg_test_pause(d, "VMATLAS_TEST_PAUSE_BEFORE_RUN", &pause_before_run);
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
