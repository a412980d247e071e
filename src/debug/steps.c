/* The stepping commands: stepi, nexti (over calls), step and next by
 * source line (DWARF), finish (to the caller, with rax), until. Each ends
 * with one stop event, unless something else stopped the target first
 * (a breakpoint, a signal, the exit), which reported itself. */
#include "dbg.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "threads/unwind.h"
#include "vmatlas/error.h"

#define MAX_LINE_STEPS 1000000

void dbg_stopped_here(vm_dbg *d, vm_dbg_ev_kind kind, uint64_t value)
{
	vm_dbg_event e;
	if (!d->alive || dbg_refresh_regs(d) < 0)
		return;
	dbg_event_at(d, &e, kind, d->cur, d->regs.rip);
	e.value = value;
	e.stopped = true;
	dbg_emit(d, &e);
}

static int check_alive(vm_dbg *d)
{
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	return 0;
}

static int stepi(vm_dbg *d, uint64_t n)
{
	if (check_alive(d) < 0)
		return -1;
	for (uint64_t i = 0; i < (n ? n : 1); i++) {
		bool stopped;
		if (dbg_step_one(d, &stopped) < 0)
			return -1;
		if (stopped)
			return 0;
	}
	dbg_stopped_here(d, VM_DBG_EV_STEP, 0);
	return 0;
}

int vm_dbg_stepi(vm_dbg *d, uint64_t n)
{
	dbg_run_begin(d); /* a pause asked before or between its runs is taken */
	int rc = stepi(d, n);
	dbg_run_end(d);
	return rc;
}

/* one instruction, or the whole of a call; *stopped as dbg_step_one */
static int next_insn(vm_dbg *d, bool *stopped)
{
	bool is_call;
	if (dbg_refresh_regs(d) < 0)
		return -1;
	uint64_t pc = d->regs.rip, sp = d->regs.rsp;
	size_t len = dbg_insn_len(d, pc, &is_call);
	if (len && is_call)
		return dbg_run_to(d, pc + len, sp - 1, stopped);
	return dbg_step_one(d, stopped);
}

static int nexti(vm_dbg *d)
{
	bool stopped;
	if (check_alive(d) < 0 || next_insn(d, &stopped) < 0)
		return -1;
	if (!stopped)
		dbg_stopped_here(d, VM_DBG_EV_STEP, 0);
	return 0;
}

int vm_dbg_nexti(vm_dbg *d)
{
	dbg_run_begin(d); /* a pause asked before or between its runs is taken */
	int rc = nexti(d);
	dbg_run_end(d);
	return rc;
}

int vm_dbg_backtrace(vm_dbg *d, vm_dbg_frame **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (check_alive(d) < 0 || dbg_refresh_regs(d) < 0)
		return -1;
	vm_thread th;
	memset(&th, 0, sizeof th);
	/* libdwfl asks the map for the thread by id: one it knows, with
	 * our registers (a thread started since has none in the map) */
	th.tid = d->m->nthreads ? d->m->threads[0].tid : d->cur;
	for (size_t i = 0; i < d->m->nthreads; i++)
		if (d->m->threads[i].tid == d->cur)
			th.tid = d->cur;
	th.regs_valid = th.sp_valid = true;
	th.pc = d->regs.rip;
	th.sp = d->regs.rsp;
	th.fp = d->regs.rbp;
	/* the unwinder takes the names of the target's own registers */
	static const char *names64[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8",
					 "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip" };
	static const char *names32[] = { "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip" };
	const char *const *names = d->bits == 32 ? names32 : names64;
	size_t nn = d->bits == 32 ? sizeof names32 / sizeof names32[0] : sizeof names64 / sizeof names64[0];
	for (size_t i = 0; i < nn; i++) {
		th.regs[i].name = names[i];
		dbg_reg_lookup(&d->regs, names[i], &th.regs[i].value);
	}
	th.nregs = nn;
	unwinder *u = unwinder_new(d->m, d->t);
	if (!u)
		return -1;
	vm_frame *f;
	size_t nf;
	const char *note;
	unwinder_frames(u, &th, 256, &f, &nf, &note);
	vm_dbg_frame *v = xcalloc(nf ? nf : 1, sizeof *v);
	for (size_t i = 0; i < nf; i++) {
		v[i].pc = f[i].pc;
		v[i].sp = f[i].sp;
	}
	free(f);
	unwinder_free(u);
	*out = v;
	*n = nf;
	return 0;
}

static int finish(vm_dbg *d, uint64_t *ret)
{
	vm_dbg_frame *f;
	size_t n;
	if (vm_dbg_backtrace(d, &f, &n) < 0)
		return -1;
	if (n < 2) {
		free(f);
		vm_seterr("no caller to return to (the outermost frame)");
		return -1;
	}
	uint64_t to = f[1].pc;
	free(f);
	bool stopped;
	if (dbg_run_to(d, to, d->regs.rsp, &stopped) < 0)
		return -1;
	if (stopped)
		return 1;
	if (dbg_refresh_regs(d) < 0)
		return -1;
	if (ret)
		*ret = d->regs.rax;
	dbg_stopped_here(d, VM_DBG_EV_RETURN, d->regs.rax);
	return 0;
}

int vm_dbg_finish(vm_dbg *d, uint64_t *ret)
{
	dbg_run_begin(d); /* a pause asked before or between its runs is taken */
	int rc = finish(d, ret);
	dbg_run_end(d);
	return rc;
}

static int until(vm_dbg *d, uint64_t addr)
{
	bool stopped;
	if (check_alive(d) < 0 || dbg_run_to(d, addr, 0, &stopped) < 0)
		return -1;
	if (!stopped)
		dbg_stopped_here(d, VM_DBG_EV_STEP, 0);
	return 0;
}

int vm_dbg_until(vm_dbg *d, uint64_t addr)
{
	dbg_run_begin(d); /* a pause asked before or between its runs is taken */
	int rc = until(d, addr);
	dbg_run_end(d);
	return rc;
}

int vm_dbg_handle(vm_dbg *d, int sig, int stop, int pass, int print)
{
	if (sig <= 0 || sig >= DBG_NSIG) {
		vm_seterr("no signal %d", sig);
		return -1;
	}
	/* asked about: reported from now on, unless noprint */
	d->sig_quiet[sig] = print == 0;
	if (print == 0)
		d->sig_stop[sig] = false;
	if (stop >= 0)
		d->sig_stop[sig] = stop;
	if (stop == 1)
		d->sig_quiet[sig] = false;
	if (pass >= 0)
		d->sig_pass[sig] = pass;
	return 0;
}
