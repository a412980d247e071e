/* The session: control taken at open, let go at close (every int3 and
 * debug register removed first), the threads, the current thread's
 * registers, memory with the int3s masked, the map and symbols (rebuilt
 * when modules come and go), and events handed to the sink. */
#include "dbg.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "vmatlas/error.h"

static const int quiet_signals[] = { SIGCHLD, SIGWINCH, SIGALRM, SIGPROF, SIGVTALRM, SIGURG, SIGIO };

static void default_signals(vm_dbg *d)
{
	for (int s = 0; s < DBG_NSIG; s++) {
		d->sig_stop[s] = true;
		d->sig_pass[s] = true;
	}
	for (size_t i = 0; i < sizeof quiet_signals / sizeof quiet_signals[0]; i++)
		d->sig_stop[quiet_signals[i]] = false, d->sig_quiet[quiet_signals[i]] = true;
	d->sig_pass[SIGINT] = false; /* as gdb: a Ctrl-C meant for the debugger */
	d->sig_pass[SIGTRAP] = false;
}

void dbg_add_thread(vm_dbg *d, int64_t tid)
{
	for (size_t i = 0; i < d->ntids; i++)
		if (d->tids[i] == tid)
			return;
	d->tids = xrealloc(d->tids, (d->ntids + 1) * sizeof *d->tids);
	d->tids[d->ntids++] = tid;
}

void dbg_remove_thread(vm_dbg *d, int64_t tid)
{
	for (size_t i = 0; i < d->ntids; i++)
		if (d->tids[i] == tid) {
			memmove(&d->tids[i], &d->tids[i + 1], (d->ntids - i - 1) * sizeof *d->tids);
			d->ntids--;
			break;
		}
	if (d->cur == tid) {
		d->cur = d->ntids ? d->tids[0] : 0;
		d->regs_ok = false;
	}
}

int64_t vm_dbg_pid(const vm_dbg *d)
{
	return d->pid;
}

bool vm_dbg_alive(const vm_dbg *d)
{
	return d->alive;
}

int64_t vm_dbg_thread(const vm_dbg *d)
{
	return d->cur;
}

int vm_dbg_set_thread(vm_dbg *d, int64_t tid)
{
	for (size_t i = 0; i < d->ntids; i++)
		if (d->tids[i] == tid) {
			d->cur = tid;
			d->regs_ok = false;
			return 0;
		}
	vm_seterr("no thread %lld in process %lld", (long long)tid, (long long)d->pid);
	return -1;
}

size_t vm_dbg_threads(vm_dbg *d, const int64_t **tids)
{
	*tids = d->tids;
	return d->ntids;
}

const vm_map *vm_dbg_map(vm_dbg *d)
{
	return d->m;
}

vm_symbolizer *vm_dbg_symbols(vm_dbg *d)
{
	return d->sym;
}

void vm_dbg_set_sink(vm_dbg *d, vm_dbg_sink fn, void *arg)
{
	d->sink = fn;
	d->sink_arg = arg;
}

/* Async-signal-safe (atomics and kill only): the front ends call these
 * from a signal handler (batch mode's SIGINT), a console control handler
 * or a watcher thread. Only while the target runs (running 1 -> 2 while
 * asking, so that dbg_run_end waits for a pause half asked); a pause
 * asked while it is stopped would leave a SIGSTOP to stop it later. */
static bool ask(vm_dbg *d, int how)
{
	int one = 1;
	if (!atomic_compare_exchange_strong(&d->running, &one, 2))
		return false;
	/* a pause asked and not yet seen is not asked again: a second
	 * SIGSTOP (Ctrl-C twice, or timeout(1) passing one SIGINT on to
	 * its child and its group) could come after the first was taken,
	 * unexpected, and stop the process once let go */
	int none = 0;
	if (atomic_compare_exchange_strong(&d->interrupt, &none, how) && how == 1 && atomic_load(&d->alive))
		kill((pid_t)atomic_load(&d->pid), SIGSTOP); /* breaks a blocking wait; discarded */
	atomic_store(&d->running, 1);
	return true;
}

bool vm_dbg_interrupt(vm_dbg *d)
{
	return ask(d, 1);
}

bool vm_dbg_interrupt_expect(vm_dbg *d)
{
	return ask(d, 2);
}

void dbg_test_pause(vm_dbg *d, const char *name, int *on)
{
	if (*on < 0) {
		const char *e = getenv(name);
		*on = e && !strcmp(e, "1");
	}
	if (*on)
		vm_dbg_interrupt(d);
}

/* the target's own console Ctrl-C came before our handler asked
 * (Windows runs that handler on a thread of its own): it was the pause,
 * and the handler's call that follows is taken as done. The console's,
 * not a session's: the handler may come after a quit freed the session.
 * When (monotonic ms, 0 none): one whose own call never came (a Ctrl-C
 * sent to the target alone) is forgotten, not kept for the next Ctrl-C */
static _Atomic int64_t g_ctrl_ahead_ms;
#define CTRL_LATE_MAX_MS 10000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1; /* never 0 */
}

void dbg_ctrl_came_ahead(void)
{
	atomic_store(&g_ctrl_ahead_ms, now_ms());
}

bool vm_dbg_ctrl_seen(void)
{
	int64_t at = atomic_exchange(&g_ctrl_ahead_ms, 0);
	return at && now_ms() - at < CTRL_LATE_MAX_MS;
}

/* Nested: a command's runs (a step, then a run to the return address
 * ...) sit inside the command's own begin and end, so that a pause asked
 * between two of them, or while the command looks before it runs (an
 * unwind), is taken: its SIGSTOP (a break-in thread on Windows) waits in
 * the stopped target and stops the next run. Taken only between runs,
 * it would be lost, and a run into a blocking call would never end. */
void dbg_run_begin(vm_dbg *d)
{
	if (d->run_depth++ == 0)
		atomic_store(&d->running, 1);
}

void dbg_run_end(vm_dbg *d)
{
	if (d->run_depth > 1) {
		d->run_depth--;
		return;
	}
	d->run_depth = 0;
	int one = 1;
	/* a pause being asked on another thread: let it finish */
	while (!atomic_compare_exchange_weak(&d->running, &one, 0) && one != 0)
		one = 1;
	/* a pause asked and not seen (it came with another stop): its
	 * SIGSTOP is still to come, swallowed then; an expected Ctrl-C
	 * that did not come is forgotten */
	if (atomic_exchange(&d->interrupt, 0) == 1)
		d->stop_due = true;
}

void vm_dbg_run_begin(vm_dbg *d)
{
	dbg_run_begin(d);
}

void vm_dbg_run_end(vm_dbg *d)
{
	dbg_run_end(d);
}

void vm_dbg_follow_fork(vm_dbg *d, bool child)
{
	d->o.follow_child = child;
	vm_control_follow_fork(d->c, child);
}

void vm_dbg_where(vm_dbg *d, uint64_t addr, char *buf, size_t n, const char **file, int *line)
{
	vm_symbol_info si;
	if (file)
		*file = NULL;
	if (line)
		*line = 0;
	if (!d->sym) {
		snprintf(buf, n, "0x%llx", (unsigned long long)addr);
		return;
	}
	vm_symbolize(d->sym, addr, &si);
	vm_symbol_format(&si, addr, buf, n);
	/* the row gdb would name (is_stmt first), as stepping sees lines */
	vm_line_row r;
	if ((file || line) && si.line && vm_symbol_line_row(d->sym, addr, &r) && r.line) {
		si.file = r.file;
		si.line = r.line;
	}
	if (file)
		*file = si.file;
	if (line)
		*line = si.line;
}

void dbg_event_at(vm_dbg *d, vm_dbg_event *ev, vm_dbg_ev_kind kind, int64_t tid, uint64_t pc)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	ev->tid = tid;
	ev->pc = pc;
	if (!pc)
		return;
	if (!d->where_ok || d->where_pc != pc) {
		vm_dbg_where(d, pc, d->where, sizeof d->where, &d->where_file, &d->where_line);
		d->where_pc = pc;
		d->where_ok = true;
	}
	memcpy(ev->where, d->where, sizeof ev->where);
	ev->file = d->where_file;
	ev->line = d->where_line;
}

void dbg_emit(vm_dbg *d, vm_dbg_event *ev)
{
	if (ev->stopped)
		d->last = *ev;
	if (d->sink)
		d->sink(d->sink_arg, d, ev);
}

const vm_dbg_event *vm_dbg_last_stop(vm_dbg *d)
{
	return &d->last;
}

/* a temporary breakpoint at EXPR: 1 set, 0 no such symbol or one
 * pending (the program is loaded: it never comes), -1 an error */
static int temp_break(vm_dbg *d, const char *expr, int *id)
{
	vm_bp_spec s = { .temporary = true };
	bool pending = false;
	if (vm_dbg_break(d, expr, &s, id) < 0)
		return strncmp(vm_error(), "no symbol", 9) ? -1 : 0;
	for (size_t i = 0; i < d->nbps; i++)
		if (d->bps[i].id == *id)
			pending = d->bps[i].pending;
	if (pending)
		vm_dbg_delete(d, *id);
	return !pending;
}

/* --at-main. A stripped program (python3, ls) has no symbol main, but
 * glibc's __libc_start_main gets main as its first argument: run to it
 * quietly (its stop is ours, not the user's), then on to main */
static int run_to_main(vm_dbg *d)
{
	int first = d->next_id, id, r = temp_break(d, "main", &id);
	if (r != 0)
		return r < 0 ? -1 : vm_dbg_continue(d);
	if ((r = temp_break(d, "__libc_start_main", &id)) <= 0) {
		if (r == 0)
			vm_seterr("the program has no symbol main (stripped?) nor a __libc_start_main to find it by: "
				  "without --at-main it stops at its entry point");
		return -1;
	}
	vm_dbg_sink sink = d->sink;
	d->sink = NULL;
	r = vm_dbg_continue(d);
	d->sink = sink;
	if (r < 0)
		return -1;
	uint64_t m;
	if (!d->alive || d->last.kind != VM_DBG_EV_BREAK || d->last.bp != id) {
		vm_seterr("the program has no symbol main (stripped?) and did not call __libc_start_main");
		return -1;
	}
	if (vm_dbg_eval(d, d->bits == 32 ? "dword [esp+4]" : "rdi", &m) < 0)
		return -1;
	char at[32];
	snprintf(at, sizeof at, "0x%llx", (unsigned long long)m);
	d->next_id = first; /* the two before are gone: main's is number 1, as with a symbol */
	if (temp_break(d, at, &id) <= 0)
		return -1;
	return vm_dbg_continue(d);
}

vm_dbg *vm_dbg_open(vm_target *t, const vm_dbg_options *o)
{
	vm_control *c = vm_control_open(t);
	if (!c)
		return NULL;
	vm_dbg *d = xcalloc(1, sizeof *d);
	d->t = t;
	d->c = c;
	if (o) {
		d->o = *o;
		d->sink = o->sink;
		d->sink_arg = o->sink_arg;
	}
	d->alive = true;
	d->next_id = 1;
	default_signals(d);
	vm_target_info info;
	d->bits = 64;
	if (vm_target_info_get(t, &info) == 0) {
		d->pid = info.pid;
		d->bits = info.bits == 32 ? 32 : 64;
	}
	int64_t *tids;
	size_t n;
	if (vm_control_threads(c, &tids, &n) == 0) {
		d->tids = tids;
		d->ntids = n;
	}
	d->cur = d->pid;
	if (vm_dbg_set_thread(d, d->pid) < 0 && d->ntids)
		d->cur = d->tids[0];
	vm_clearerr();
	if (dbg_rebuild_map(d, false) < 0) {
		vm_dbg_close(d, VM_DBG_DETACH);
		return NULL;
	}
	dbg_set_loader_break(d);
	vm_control_follow_fork(c, d->o.follow_child);
	if (d->o.launched && d->o.at_main && run_to_main(d) < 0) {
		vm_seterr("running to main: %s", vm_error());
		vm_dbg_close(d, VM_DBG_KILL);
		return NULL;
	}
	return d;
}

static void free_session(vm_dbg *d)
{
	vm_dbg_delete(d, 0);
	for (size_t i = 0; i < d->nbps; i++) /* the internal ones */
		dbg_bp_free(&d->bps[i]);
	free(d->bps);
	free(d->over);
	free(d->sites);
	free(d->pages);
	free(d->blk_mem);
	dbg_bpm_uffd_free(d);
	free(d->info);
	free(d->tids);
	dbg_free_modules(d);
	if (d->sym)
		vm_symbolizer_free(d->sym);
	vm_map_free(d->m);
	free(d);
}

int vm_dbg_close(vm_dbg *d, vm_dbg_end how)
{
	if (!d)
		return 0;
	if (how == VM_DBG_QUIT)
		how = d->o.launched ? VM_DBG_KILL : VM_DBG_DETACH;
	int rc = 0;
	if (d->alive && how == VM_DBG_KILL) {
		if (vm_control_kill(d->c) < 0)
			rc = -1;
		d->alive = false;
	}
	/* threads queued on an int3 are put back on it, unreported: the
	 * user let go after the last stop (gdb drops them too) */
	d->closing = true;
	if (d->alive)
		dbg_drain_all(d);
	/* a pause's SIGSTOP still to come would stop the process once let
	 * go: a step or two of the current thread lets it arrive (the
	 * thread takes the signal before its instruction), swallowed */
	for (int i = 0; i < 8 && d->alive && d->stop_due; i++) {
		bool stopped;
		if (dbg_step_one(d, &stopped) < 0)
			break;
	}
	if (d->alive) {
		/* take every int3 out and clear the debug registers ourselves;
		 * the control's journal would put the bytes back too */
		for (size_t i = 0; i < d->nsites; i++)
			if (d->sites[i].in)
				dbg_site_remove(d, &d->sites[i]);
		if (d->dr7) {
			d->dr7 = 0;
			dbg_watch_apply_all(d);
		}
	}
	if (vm_control_close(d->c) < 0)
		rc = -1;
	/* detach: a program we started runs on, as gdb leaves it */
	if (how == VM_DBG_DETACH && d->alive)
		vm_target_keep_running(d->t);
	d->c = NULL;
	d->alive = false;
	free_session(d);
	return rc;
}
