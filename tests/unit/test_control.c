/* Execution control against a live fixture (build/fixtures/ctlfix):
 * attach, registers, memory, single step, debug-register watchpoints,
 * int3, thread and exit events, protection faults, and that closing (or
 * dying of SIGINT) leaves the target running as it was. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "vmatlas/control.h"
#include "vmatlas/error.h"

#if defined(__x86_64__)

typedef struct fix {
	pid_t pid;
	uint64_t counter, watched, command, spin;
} fix;

static const uint64_t WATCHED = 0x1122334455667788ull;

static const char *fixture_path(void)
{
	static char path[512];
	const char *b = getenv("VMATLAS_BUILD");
	snprintf(path, sizeof path, "%s/fixtures/ctlfix", b ? b : "build");
	return path;
}

static bool fix_start(fix *f)
{
	int p[2];
	if (pipe(p) < 0)
		return false;
	f->pid = fork();
	if (f->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl(fixture_path(), "ctlfix", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[256];
	FILE *in = fdopen(p[0], "r");
	bool ok = in && fgets(line, sizeof line, in) &&
		  sscanf(line, "%lx %lx %lx %lx", (unsigned long *)&f->counter, (unsigned long *)&f->watched,
			 (unsigned long *)&f->command, (unsigned long *)&f->spin) == 4;
	if (in)
		fclose(in);
	if (!ok)
		fprintf(stderr, "    cannot start %s\n", fixture_path());
	return ok;
}

static void fix_stop(fix *f)
{
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
}

static uint64_t peek64(pid_t pid, uint64_t addr)
{
	uint64_t v = 0;
	struct iovec l = { &v, 8 }, r = { (void *)(uintptr_t)addr, 8 };
	process_vm_readv(pid, &l, 1, &r, 1, 0);
	return v;
}

static bool poke32(pid_t pid, uint64_t addr, uint32_t v)
{
	struct iovec l = { &v, 4 }, r = { (void *)(uintptr_t)addr, 4 };
	return process_vm_writev(pid, &l, 1, &r, 1, 0) == 4;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

/* the permissions of the mapping holding addr ("rw-p") */
static void maps_perms(pid_t pid, uint64_t addr, char out[5])
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	strcpy(out, "????");
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi)
			memcpy(out, perms, 5);
	}
	if (f)
		fclose(f);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* running as before: not stopped, and its loop goes round */
static bool runs_freely(const fix *f)
{
	uint64_t a = peek64(f->pid, f->counter);
	sleep_ms(30);
	return proc_state(f->pid) != 't' && peek64(f->pid, f->counter) > a;
}

/* resume until an event of kind k (others are passed over) */
static bool run_until(vm_control *c, vm_event_kind k, vm_event *ev)
{
	for (int i = 0; i < 100; i++) {
		if (vm_control_resume(c) < 0 || vm_control_wait(c, 5000, ev) < 0 || ev->kind == VM_EV_NONE)
			return false;
		if (ev->kind == k)
			return true;
	}
	return false;
}

static vm_target *open_pid(pid_t pid)
{
	char spec[32];
	snprintf(spec, sizeof spec, "%d", (int)pid);
	return vm_target_open(spec);
}

static void test_control_attach_regs_memory(void)
{
	fix f;
	if (!fix_start(&f)) {
		CHECK(!"fixture");
		return;
	}
	vm_target *t = open_pid(f.pid);
	CHECK(t && (vm_target_caps(t) & VM_CAP_CONTROL));
	vm_control *c = t ? vm_control_open(t) : NULL;
	CHECK(c);
	if (!c)
		goto out;
	CHECK(proc_state(f.pid) == 't');
	int64_t *tids;
	size_t n;
	CHECK(vm_control_threads(c, &tids, &n) == 0 && n == 1 && tids[0] == f.pid);
	free(tids);

	vm_regs r, r2;
	CHECK(vm_control_get_regs(c, f.pid, &r) == 0 && r.rip && r.rsp);
	r2 = r;
	r2.r12 = 0x5eed;
	CHECK(vm_control_set_regs(c, f.pid, &r2) == 0);
	memset(&r2, 0, sizeof r2);
	CHECK(vm_control_get_regs(c, f.pid, &r2) == 0);
	CHECK_U64(r2.r12, 0x5eed);
	CHECK(vm_control_set_regs(c, f.pid, &r) == 0);

	vm_fpregs fp;
	uint32_t mxcsr = 0;
	CHECK(vm_control_get_fpregs(c, f.pid, &fp) == 0);
	memcpy(&mxcsr, fp.fxsave + 24, 4);
	CHECK_U64(mxcsr & ~0x3fu, 0x1f80); /* the default, less sticky flags */
	CHECK(vm_control_set_fpregs(c, f.pid, &fp) == 0);
	static uint8_t xs[16384];
	CHECK(vm_control_get_xstate(c, f.pid, xs, sizeof xs) >= 576);

	uint64_t v = 0, nv = 0xa5a5a5a5a5a5a5a5ull;
	CHECK(vm_control_read(c, f.watched, &v, 8) == 8);
	CHECK_U64(v, WATCHED);
	CHECK(vm_control_write(c, f.watched, &nv, 8, VM_CTL_RESTORE) == 0);
	CHECK_U64(peek64(f.pid, f.watched), nv);
	/* code is read-only to the process, not to the debugger */
	uint8_t code = 0, cc = 0xcc;
	CHECK(vm_control_read(c, f.spin, &code, 1) == 1);
	CHECK(vm_control_write(c, f.spin, &cc, 1, VM_CTL_RESTORE) == 0);
	CHECK(vm_control_write(c, f.spin, &code, 1, 0) == 0);

	CHECK(vm_control_close(c) == 0);
	CHECK_U64(peek64(f.pid, f.watched), WATCHED);
	CHECK(runs_freely(&f));
out:
	vm_target_close(t);
	fix_stop(&f);
}

static void test_control_step_and_breakpoints(void)
{
	fix f;
	if (!fix_start(&f)) {
		CHECK(!"fixture");
		return;
	}
	vm_target *t = open_pid(f.pid);
	vm_control *c = t ? vm_control_open(t) : NULL;
	CHECK(c);
	if (!c)
		goto out;
	vm_event ev;
	vm_regs r;
	/* DR0 on execution of spin_once */
	CHECK(vm_control_set_debugreg(c, f.pid, 0, f.spin) == 0);
	CHECK(vm_control_set_debugreg(c, f.pid, 7, VM_DR7_ENABLE(0) | VM_DR7_RW(0, VM_DR_RW_EXEC)) == 0);
	CHECK(run_until(c, VM_EV_WATCH, &ev));
	CHECK(ev.tid == f.pid && (ev.dr6 & VM_DR6_HIT(0)));
	CHECK_U64(ev.addr, f.spin);
	CHECK(vm_control_set_debugreg(c, f.pid, 7, 0) == 0);

	/* one step from there moves the pc a little */
	CHECK(vm_control_step(c, f.pid) == 0);
	CHECK(vm_control_wait(c, 5000, &ev) == 0 && ev.kind == VM_EV_STEP && ev.tid == f.pid);
	CHECK(vm_control_get_regs(c, f.pid, &r) == 0);
	CHECK(r.rip > f.spin && r.rip < f.spin + 16);

	/* DR0 on a write of `watched` (8 bytes): the trap follows the write */
	uint64_t two = 2;
	CHECK(vm_control_set_debugreg(c, f.pid, 0, f.watched) == 0);
	CHECK(vm_control_set_debugreg(c, f.pid, 7,
				      VM_DR7_ENABLE(0) | VM_DR7_RW(0, VM_DR_RW_WRITE) | VM_DR7_LEN(0, VM_DR_LEN_8)) == 0);
	CHECK(vm_control_write(c, f.command, &two, 4, 0) == 0);
	CHECK(run_until(c, VM_EV_WATCH, &ev));
	CHECK(ev.dr6 & VM_DR6_HIT(0));
	CHECK_U64(peek64(f.pid, f.watched), WATCHED + 1);
	CHECK(vm_control_set_debugreg(c, f.pid, 7, 0) == 0);

	/* an int3, put back by hand, the pc moved back onto it */
	uint8_t orig, cc = 0xcc;
	CHECK(vm_control_read(c, f.spin, &orig, 1) == 1);
	CHECK(vm_control_write(c, f.spin, &cc, 1, VM_CTL_RESTORE) == 0);
	CHECK(run_until(c, VM_EV_BREAKPOINT, &ev));
	CHECK_U64(ev.addr, f.spin);
	CHECK(vm_control_write(c, f.spin, &orig, 1, 0) == 0);
	CHECK(vm_control_get_regs(c, f.pid, &r) == 0);
	r.rip = f.spin;
	CHECK(vm_control_set_regs(c, f.pid, &r) == 0);

	/* a breakpoint left in, and a watchpoint left on: close takes both away */
	CHECK(vm_control_write(c, f.spin, &cc, 1, VM_CTL_RESTORE) == 0);
	CHECK(vm_control_set_debugreg(c, f.pid, 0, f.watched) == 0);
	CHECK(vm_control_set_debugreg(c, f.pid, 7,
				      VM_DR7_ENABLE(0) | VM_DR7_RW(0, VM_DR_RW_WRITE) | VM_DR7_LEN(0, VM_DR_LEN_8)) == 0);
	CHECK(vm_control_close(c) == 0);
	uint8_t now = 0;
	vm_read(t, f.spin, &now, 1);
	CHECK_U64(now, orig);
	CHECK(poke32(f.pid, f.command, 2));
	CHECK(runs_freely(&f));
	CHECK_U64(peek64(f.pid, f.watched), WATCHED + 2);
out:
	vm_target_close(t);
	fix_stop(&f);
}

static void test_control_thread_and_exit_events(void)
{
	fix f;
	if (!fix_start(&f)) {
		CHECK(!"fixture");
		return;
	}
	vm_target *t = open_pid(f.pid);
	vm_control *c = t ? vm_control_open(t) : NULL;
	CHECK(c);
	if (!c)
		goto out;
	vm_event ev;
	int one = 1, three = 3;
	CHECK(vm_control_write(c, f.command, &one, 4, 0) == 0);
	CHECK(run_until(c, VM_EV_THREAD_START, &ev));
	int64_t born = ev.tid;
	CHECK(born != f.pid && born > 0);
	int64_t *tids;
	size_t n;
	CHECK(vm_control_threads(c, &tids, &n) == 0 && n == 2);
	free(tids);
	CHECK(run_until(c, VM_EV_THREAD_EXIT, &ev));
	CHECK(ev.tid == born);
	CHECK(vm_control_write(c, f.command, &three, 4, 0) == 0);
	CHECK(run_until(c, VM_EV_EXIT, &ev));
	CHECK(ev.tid == f.pid && ev.code == 7 && ev.signal == 0);
	CHECK(vm_control_close(c) == 0);
out:
	vm_target_close(t);
	fix_stop(&f);
}

/* the way memory breakpoints will work: a page made read-only faults on
 * the next write, and closing gives the page its protection back */
static void test_control_protect(void)
{
	fix f;
	if (!fix_start(&f)) {
		CHECK(!"fixture");
		return;
	}
	vm_target *t = open_pid(f.pid);
	vm_control *c = t ? vm_control_open(t) : NULL;
	CHECK(c);
	if (!c)
		goto out;
	char perms[5];
	maps_perms(f.pid, f.counter, perms);
	CHECK_STR(perms, "rw-p");
	CHECK(vm_control_protect(c, f.counter, 8, VM_PROT_READ, VM_CTL_RESTORE) == 0);
	maps_perms(f.pid, f.counter, perms);
	CHECK_STR(perms, "r--p");
	vm_event ev;
	CHECK(run_until(c, VM_EV_SIGNAL, &ev));
	CHECK(ev.signal == SIGSEGV && ev.addr == f.counter);
	vm_control_discard_signal(c, ev.tid);
	CHECK(vm_control_close(c) == 0);
	maps_perms(f.pid, f.counter, perms);
	CHECK_STR(perms, "rw-p");
	CHECK(runs_freely(&f));
out:
	vm_target_close(t);
	fix_stop(&f);
}

/* vmatlas killed by SIGINT while it holds a breakpoint, a watchpoint and
 * a protection, the threads running or stopped: all put back */
static void interrupted_with(bool running)
{
	fix f;
	if (!fix_start(&f)) {
		CHECK(!"fixture");
		return;
	}
	pid_t holder = fork();
	if (holder == 0) {
		vm_install_cleanup_handlers();
		vm_target *t = open_pid(f.pid);
		vm_control *c = t ? vm_control_open(t) : NULL;
		uint8_t cc = 0xcc;
		if (!c || vm_control_write(c, f.spin, &cc, 1, VM_CTL_RESTORE) < 0 ||
		    vm_control_set_debugreg(c, f.pid, 0, f.watched) < 0 ||
		    vm_control_set_debugreg(c, f.pid, 7, VM_DR7_ENABLE(0) | VM_DR7_RW(0, VM_DR_RW_WRITE) |
						     VM_DR7_LEN(0, VM_DR_LEN_8)) < 0 ||
		    vm_control_protect(c, f.watched, 8, VM_PROT_READ, VM_CTL_RESTORE) < 0)
			_exit(1);
		if (running)
			vm_control_resume(c);
		raise(SIGINT);
		_exit(2);
	}
	int st;
	waitpid(holder, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
	char perms[5];
	maps_perms(f.pid, f.watched, perms);
	CHECK_STR(perms, "rw-p");
	CHECK(runs_freely(&f));
	/* no int3 left, no watchpoint left: a write to `watched` is harmless */
	vm_target *t = open_pid(f.pid);
	uint8_t b = 0;
	CHECK(t && vm_read(t, f.spin, &b, 1) == 1 && b != 0xcc);
	CHECK(poke32(f.pid, f.command, 2));
	CHECK(runs_freely(&f));
	CHECK_U64(peek64(f.pid, f.watched), WATCHED + 1);
	vm_target_close(t);
	fix_stop(&f);
}

static void test_control_sigint_stopped(void)
{
	interrupted_with(false);
}

static void test_control_sigint_running(void)
{
	interrupted_with(true);
}

/* two handles at once: SIGINT puts back what each changed */
static void test_control_sigint_two(void)
{
	fix f[2];
	if (!fix_start(&f[0])) {
		CHECK(!"fixture");
		return;
	}
	if (!fix_start(&f[1])) {
		CHECK(!"fixture");
		fix_stop(&f[0]);
		return;
	}
	pid_t holder = fork();
	if (holder == 0) {
		vm_install_cleanup_handlers();
		for (int i = 0; i < 2; i++) {
			vm_target *t = open_pid(f[i].pid);
			vm_control *c = t ? vm_control_open(t) : NULL;
			uint64_t nv = 0;
			if (!c || vm_control_write(c, f[i].watched, &nv, 8, VM_CTL_RESTORE) < 0)
				_exit(1);
		}
		raise(SIGINT);
		_exit(2);
	}
	int st;
	waitpid(holder, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
	for (int i = 0; i < 2; i++) {
		CHECK_U64(peek64(f[i].pid, f[i].watched), WATCHED);
		CHECK(runs_freely(&f[i]));
		fix_stop(&f[i]);
	}
}

static void test_control_spawn_at_entry(void)
{
	char *argv[] = { (char *)fixture_path(), NULL };
	vm_spawn_options so = { .quiet = true };
	vm_target *t = vm_target_spawn(argv, &so);
	CHECK(t);
	if (!t)
		return;
	vm_auxv *av;
	size_t n;
	uint64_t entry = 0;
	CHECK(vm_target_auxv(t, &av, &n) == 0);
	for (size_t i = 0; i < n; i++)
		if (av[i].type == 9 /* AT_ENTRY */)
			entry = av[i].value;
	free(av);
	vm_control *c = vm_control_open(t);
	vm_regs r;
	vm_target_info in;
	CHECK(vm_target_info_get(t, &in) == 0);
	CHECK(c && vm_control_get_regs(c, in.pid, &r) == 0);
	CHECK(entry && r.rip == entry);
	CHECK(vm_control_close(c) == 0);
	vm_target_close(t);
}

/* open with freeze: held until close; a control cannot be had meanwhile */
static void test_control_open_frozen(void)
{
	fix f;
	if (!fix_start(&f)) {
		CHECK(!"fixture");
		return;
	}
	char spec[32];
	snprintf(spec, sizeof spec, "%d", (int)f.pid);
	vm_open_options o = { .freeze = true };
	vm_target *t = vm_target_open_with(spec, &o);
	CHECK(t);
	CHECK(proc_state(f.pid) == 't');
	CHECK(t && !vm_control_open(t));
	vm_target_close(t);
	CHECK(runs_freely(&f));
	fix_stop(&f);
}

/* a freeze (a map made meanwhile) under a debugger whose threads run
 * leaves them running */
static void test_control_freeze_while_running(void)
{
	fix f;
	if (!fix_start(&f)) {
		CHECK(!"fixture");
		return;
	}
	vm_target *t = open_pid(f.pid);
	vm_control *c = t ? vm_control_open(t) : NULL;
	CHECK(c);
	if (!c)
		goto out;
	CHECK(vm_control_resume(c) == 0);
	CHECK(runs_freely(&f));
	CHECK(vm_target_freeze(t) == 0);
	CHECK(proc_state(f.pid) == 't');
	CHECK(vm_target_thaw(t) == 0);
	CHECK(runs_freely(&f));
	CHECK(vm_control_stop(c) == 0);
	CHECK(proc_state(f.pid) == 't');
	CHECK(vm_control_close(c) == 0);
	CHECK(runs_freely(&f));
out:
	vm_target_close(t);
	fix_stop(&f);
}

static void test_control_refused(void)
{
	vm_target *t = vm_target_open("self");
	CHECK(t && !(vm_target_caps(t) & VM_CAP_CONTROL));
	CHECK(t && !vm_control_open(t));
	vm_target_close(t);
}

const unit_test control_tests[] = {
	{ "control_attach_regs_memory", test_control_attach_regs_memory },
	{ "control_step_and_breakpoints", test_control_step_and_breakpoints },
	{ "control_thread_and_exit_events", test_control_thread_and_exit_events },
	{ "control_protect", test_control_protect },
	{ "control_sigint_stopped", test_control_sigint_stopped },
	{ "control_sigint_running", test_control_sigint_running },
	{ "control_sigint_two", test_control_sigint_two },
	{ "control_spawn_at_entry", test_control_spawn_at_entry },
	{ "control_open_frozen", test_control_open_frozen },
	{ "control_freeze_while_running", test_control_freeze_while_running },
	{ "control_refused", test_control_refused },
	{ NULL, NULL },
};

#else

const unit_test control_tests[] = { { NULL, NULL } };

#endif
