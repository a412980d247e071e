/* Execution control with ptrace: every thread seized (PTRACE_SEIZE, so
 * PTRACE_INTERRUPT can stop it), all-stop, events from waitpid on each
 * thread. Registers, memory and injected calls are in control_*.c. */
#include "lxctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "linux.h"
#include "ptrace.h"
#include "vmatlas/error.h"

/* fork and vfork are traced so that the child can be let go with the
 * original bytes back in place of every int3 it inherited */
#define OPTIONS (PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD | \
		 PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEVFORKDONE)

lxc_thread *lxc_find(lx_control *c, pid_t tid)
{
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].tid == tid && c->th[i].state != LXT_GONE)
			return &c->th[i];
	return NULL;
}

lxc_thread *lxc_stopped(lx_control *c, int64_t tid)
{
	lxc_thread *t = tid > 0 && tid <= INT32_MAX ? lxc_find(c, (pid_t)tid) : NULL;
	if (!t)
		vm_seterr("thread %lld is not one of process %d", (long long)tid, (int)c->pid);
	else if (t->state != LXT_STOPPED) {
		vm_seterr("thread %lld is running: stop it first", (long long)tid);
		t = NULL;
	}
	return t;
}

static lxc_thread *add_thread(lx_control *c, pid_t tid, int state)
{
	lxc_thread *t = ARRAY_PUSH(c->th, c->nth, c->cap);
	memset(t, 0, sizeof *t);
	t->tid = tid;
	t->state = state;
	t->i386 = -1;
	return t;
}

static void gone(lx_control *c, lxc_thread *t)
{
	(void)c;
	t->state = LXT_GONE;
	lx_hold_remove(t->tid);
}

static void set_sig(lxc_thread *t, int sig)
{
	t->sig = sig;
	lx_hold_set_sig(t->tid, sig);
}

/* the signal-time part of closing: put back what we changed */
static void put_back_held(pid_t tid, void *arg);

static void on_fatal_signal(void *arg)
{
	lx_control *c = arg;
	lxc_pub_remove(c);
	lxc_patch_remove(c);
	int arrived;
	if (!c->exited) {
		/* protections need a stopped thread */
		if (lx_ensure_stopped(c->pid, &arrived) == 0 && arrived)
			lx_hold_set_sig(c->pid, arrived);
		lx_hold_each(put_back_held, c);
	}
	lxc_restore(c, c->exited ? 0 : c->pid);
}

static lx_control *new_control(pid_t pid)
{
	lx_control *c = xcalloc(1, sizeof *c);
	c->base.ops = &lxc_ops;
	c->pid = pid;
	c->mem_fd = -1;
	atomic_store(&c->uffd, -1);
	c->saved = xcalloc(LXC_MAX_SAVED, sizeof *c->saved);
	c->prots = xcalloc(LXC_MAX_PROT, sizeof *c->prots);
	c->cleanup_slot = lx_cleanup_add(on_fatal_signal, c);
	return c;
}

static void free_control(lx_control *c)
{
	lx_cleanup_remove(c->cleanup_slot);
	lxc_wp_close(c);
	lxc_pub_remove(c);
	lxc_patch_reset(c);
	if (c->mem_fd >= 0)
		close(c->mem_fd);
	free(c->th);
	free(c->saved);
	free(c->prots);
	free(c->q.v);
	free(c->sysw);
	void (*cb)(void *) = c->on_close;
	void *arg = c->on_close_arg;
	free(c);
	if (cb)
		cb(arg);
}

int lxc_attach_rest(lx_control *c, pid_t *tid_err)
{
	/* stop threads until a pass finds no new ones: a thread cannot be
	 * created by a stopped one */
	for (int pass = 0; pass < 1000; pass++) {
		pid_t *tids;
		size_t nt, added = 0;
		if (lx_list_tids(c->pid, &tids, &nt) < 0) {
			errno = ESRCH;
			return -1;
		}
		for (size_t i = 0; i < nt; i++) {
			if (lxc_find(c, tids[i]))
				continue;
			if (lx_seize_stop(tids[i]) == 0) {
				ptrace(PTRACE_SETOPTIONS, tids[i], 0, (void *)(long)(OPTIONS | c->options));
				add_thread(c, tids[i], LXT_STOPPED);
				added++;
			} else if (errno == EPERM && lx_thread_exited(c->pid, tids[i])) {
				/* a main thread that called pthread_exit: a zombie
				 * until the others end, not traceable, not running */
			} else if (errno == EPERM) {
				if (tid_err)
					*tid_err = tids[i]; /* before the list goes */
				free(tids);
				errno = EPERM;
				return -1;
			}
			/* ESRCH: it exited meanwhile */
		}
		free(tids);
		if (added == 0)
			return 0;
	}
	errno = EAGAIN; /* it keeps creating threads */
	return -1;
}

lx_control *lxc_attach(pid_t pid, pid_t *tid_err)
{
	lx_control *c = new_control(pid);
	if (lxc_attach_rest(c, tid_err) < 0) {
		int e = errno;
		lxc_close(c);
		errno = e;
		return NULL;
	}
	return c;
}

lx_control *lxc_attach_thread(pid_t pid, pid_t tid)
{
	if (lx_seize_stop(tid) < 0)
		return NULL;
	lx_control *c = new_control(pid);
	ptrace(PTRACE_SETOPTIONS, tid, 0, (void *)(long)OPTIONS);
	add_thread(c, tid, LXT_STOPPED);
	return c;
}

lx_control *lxc_adopt(pid_t pid, long options)
{
	lx_control *c = new_control(pid);
	c->options = options;
	ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)(long)(OPTIONS | options));
	add_thread(c, pid, LXT_STOPPED);
	return c;
}

/* ---- what a stop means ---- */

static void queue_push(lxc_event_q *q, const vm_event *ev)
{
	*ARRAY_PUSH(q->v, q->n, q->cap) = *ev;
}

static bool queue_pop(lxc_event_q *q, vm_event *ev)
{
	if (q->head == q->n)
		return false;
	*ev = q->v[q->head++];
	if (q->head == q->n)
		q->head = q->n = 0;
	return true;
}

/* a thread whose event waits in the queue stays stopped until it is
 * reported */
static bool queued_for(const lxc_event_q *q, pid_t tid)
{
	for (size_t i = q->head; i < q->n; i++)
		if (q->v[i].tid == tid)
			return true;
	return false;
}

static void wait_blocking(pid_t tid, int *st)
{
	while (waitpid(tid, st, __WALL) < 0) {
		if (errno != EINTR) {
			*st = 0; /* gone without a word: as if it exited */
			return;
		}
	}
}

/* Decode the wait status st of thread i into *ev; 1 when it is an
 * event to report, 0 when not (the thread is stopped or gone). */
static int decode_stop(lx_control *c, size_t i, int st, vm_event *ev)
{
	lxc_thread *t = &c->th[i];
	memset(ev, 0, sizeof *ev);
	ev->tid = t->tid;
	bool stepping = t->stepping;
	t->stepping = false;
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		gone(c, t);
		if (t->tid != c->pid) {
			ev->kind = VM_EV_THREAD_EXIT;
			return 1;
		}
		ev->kind = VM_EV_EXIT;
		ev->code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
		ev->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		c->exited = true;
		for (size_t k = 0; k < c->nth; k++)
			if (c->th[k].state != LXT_GONE)
				gone(c, &c->th[k]);
		return 1;
	}
	if (!WIFSTOPPED(st))
		return 0;
	t->state = LXT_STOPPED;
	int sig = WSTOPSIG(st), event = (st >> 16) & 0xff;
	unsigned long msg = 0;
	switch (event) {
	case PTRACE_EVENT_CLONE: {
		ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &msg);
		pid_t nt = (pid_t)msg;
		lx_hold_add(nt, 0);
		int nst;
		wait_blocking(nt, &nst); /* its first stop, auto-attached */
		t = add_thread(c, nt, WIFSTOPPED(nst) ? LXT_STOPPED : LXT_GONE);
		if (t->state == LXT_GONE)
			lx_hold_remove(nt);
		ev->kind = VM_EV_THREAD_START;
		ev->tid = nt;
		return 1;
	}
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &msg);
		ev->kind = VM_EV_FORK;
		ev->addr = msg;
		ev->code = event == PTRACE_EVENT_VFORK;
		if (event == PTRACE_EVENT_FORK && c->follow_child && lxc_hold_child((pid_t)msg) > 0)
			ev->code = 3; /* the switch comes when all are stopped */
		else
			lxc_release_child(c, (pid_t)msg);
		return 1;
	case PTRACE_EVENT_VFORK_DONE:
		ev->kind = VM_EV_FORK;
		ev->code = 2;
		return 1;
	case PTRACE_EVENT_EXEC:
		ev->kind = VM_EV_EXEC;
		t->i386 = -1; /* the new program may be the other kind */
		/* the old address space is gone, and its `syscall` with it */
		if (c->mem_fd >= 0)
			close(c->mem_fd);
		c->mem_fd = -1;
		c->syscall_insn = 0;
		atomic_store(&c->nsaved, 0);
		atomic_store(&c->nprots, 0);
		lxc_patch_reset(c);
		/* the target's facts (exe, its handle on the old memory) were
		 * the old program's: read again, as after a fork followed */
		if (c->on_switch)
			c->on_switch(c->on_close_arg, c->pid);
		return 1;
	case PTRACE_EVENT_STOP:
		/* our interrupt (SIGTRAP), or a group stop: stopped, no news */
		t->sysentry = false;
		return 0;
	case 0:
		break;
	default:
		return 0;
	}
	if (sig == (SIGTRAP | 0x80)) {
		/* a system-call stop: watched calls are reported at their
		 * entry; the others, and every exit, run on */
		struct __ptrace_syscall_info si;
		memset(&si, 0, sizeof si);
		t->sysentry = ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof si, &si) > 0 &&
			      si.op == PTRACE_SYSCALL_INFO_ENTRY;
		int64_t nr;
		if (t->sysentry && t->sysexit)
			return 0; /* on to its exit */
		if (!t->sysentry && t->sysexit && si.op == PTRACE_SYSCALL_INFO_EXIT) {
			t->sysexit = false;
			ev->kind = VM_EV_SYSCALL;
			ev->addr = 1;
			return 1;
		}
		if (!t->sysentry || !c->nsysw || !lxc_syscall_watched(c, t->tid, &nr))
			return 0;
		ev->kind = VM_EV_SYSCALL;
		ev->code = (int)nr;
		return 1;
	}
	siginfo_t si;
	memset(&si, 0, sizeof si);
	ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si);
	/* a step over `syscall` is reported as TRAP_BRKPT at the new pc
	 * (user_single_step_report), an int3 as SI_KERNEL */
	bool step_over_syscall = stepping && si.si_code == TRAP_BRKPT;
	if (sig == SIGTRAP && !step_over_syscall && (si.si_code == SI_KERNEL || si.si_code == TRAP_BRKPT)) {
		vm_regs r;
		ev->kind = VM_EV_BREAKPOINT;
		if (c->base.ops->get_regs(&c->base, t->tid, &r) == 0)
			ev->addr = r.rip - 1; /* int3 has run */
		return 1;
	}
	if (sig == SIGTRAP && (si.si_code == TRAP_HWBKPT || si.si_code == TRAP_TRACE || stepping)) {
		uint64_t dr6 = VM_DR6_BS;
		vm_regs r;
		/* no debug register set by us: the trap flag's step (two calls
		 * saved on each stepi) */
		if (c->debugregs_used || si.si_code == TRAP_HWBKPT) {
			dr6 = 0;
			c->base.ops->get_debugreg(&c->base, t->tid, 6, &dr6);
			c->base.ops->set_debugreg(&c->base, t->tid, 6, 0);
		}
		ev->dr6 = dr6;
		ev->kind = (dr6 & 0xf) ? VM_EV_WATCH : VM_EV_STEP;
		if (c->base.ops->get_regs(&c->base, t->tid, &r) == 0)
			ev->addr = r.rip;
		return 1;
	}
	ev->kind = VM_EV_SIGNAL;
	ev->signal = sig;
	ev->code = si.si_code;
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE)
		ev->addr = (uint64_t)(uintptr_t)si.si_addr;
	set_sig(t, sig);
	return 1;
}

/* A stop with no news may be a late interrupt of ours (the thread had
 * stopped for something else first) met as the thread is single-stepped:
 * it must go on stepping, not run free. */
static int decode(lx_control *c, size_t i, int st, vm_event *ev)
{
	bool stepping = c->th[i].stepping;
	int r = decode_stop(c, i, st, ev);
	if (r == 0 && c->th[i].state == LXT_STOPPED)
		c->th[i].stepping = stepping;
	return r;
}

/* ---- stop, resume, step ---- */

static int resume_one(lx_control *c, lxc_thread *t, bool step)
{
	/* watched system calls: every call of every thread stops (at entry
	 * and exit), or a thread let go with PTRACE_CONT would make calls
	 * unseen until it stops again */
	int req = step ? PTRACE_SINGLESTEP : c->nsysw || t->sysexit ? PTRACE_SYSCALL : PTRACE_CONT;
	if (step)
		t->sysexit = false;
	if (ptrace(req, t->tid, 0, (void *)(long)t->sig) < 0) {
		if (errno == ESRCH)
			return 0; /* killed meanwhile: waitpid will say so */
		vm_seterr_errno("resuming thread %d", (int)t->tid);
		return -1;
	}
	set_sig(t, 0);
	t->state = LXT_RUNNING;
	t->stepping = step;
	t->sysentry = false;
	t->regs_ok = false;
	return 0;
}

/* Bring every running thread to a stop; what they report meanwhile is
 * queued for lxc_wait. */
void lxc_stop(lx_control *c)
{
	for (size_t i = 0; i < c->nth; i++) {
		lxc_thread *t = &c->th[i];
		/* a second interrupt is harmless: its stop, when it comes,
		 * carries no news and lxc_wait passes over it */
		if (t->state == LXT_RUNNING)
			ptrace(PTRACE_INTERRUPT, t->tid, 0, 0);
	}
	/* not one thread after the other: a thread-group leader that exited
	 * is reported only after the other threads are reaped (the process
	 * exiting meanwhile, as exit_group while a thread steps with the
	 * others running), so a blocking wait on it could wait for ever */
	for (unsigned spin = 0;; spin++) {
		bool running = false, news = false;
		for (size_t i = 0; i < c->nth; i++) {
			while (c->th[i].state == LXT_RUNNING) {
				int st;
				vm_event ev;
				pid_t r = waitpid(c->th[i].tid, &st, __WALL | WNOHANG);
				if (r < 0 && errno == EINTR)
					continue;
				if (r == 0) {
					running = true;
					break;
				}
				if (r < 0)
					st = 0; /* gone without a word: as if it exited */
				news = true;
				if (decode(c, i, st, &ev))
					queue_push(&c->q, &ev);
			}
		}
		if (!running)
			break;
		/* a thread we hold stopped, killed meanwhile with the others (a
		 * fatal signal, exit_group): its end must be reaped before the
		 * leader's can be */
		for (size_t i = 0; i < c->nth && !news; i++) {
			int st;
			vm_event ev;
			if (c->th[i].state == LXT_STOPPED && waitpid(c->th[i].tid, &st, __WALL | WNOHANG) > 0 &&
			    (WIFEXITED(st) || WIFSIGNALED(st))) {
				news = true;
				if (decode(c, i, st, &ev))
					queue_push(&c->q, &ev);
			}
		}
		if (!news) {
			struct timespec ts = { 0, spin < 200 ? 10000 : 1000000 };
			nanosleep(&ts, NULL);
		}
	}
}

static int ctl_stop(vm_control *vc)
{
	lxc_stop((lx_control *)vc);
	return 0;
}

int lxc_resume(lx_control *c)
{
	if (c->exited && c->q.head < c->q.n)
		return 0; /* the exit is in the queue, for lxc_wait to report */
	if (c->exited) {
		vm_seterr("process %d has exited", (int)c->pid);
		return -1;
	}
	lxc_patch_publish(c, true); /* the bytes put back since */
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].state == LXT_STOPPED && !queued_for(&c->q, c->th[i].tid) &&
		    resume_one(c, &c->th[i], false) < 0)
			return -1;
	return 0;
}

static int ctl_resume(vm_control *vc)
{
	return lxc_resume((lx_control *)vc);
}

static int ctl_step(vm_control *vc, int64_t tid)
{
	lx_control *c = (lx_control *)vc;
	lxc_thread *t = lxc_stopped(c, tid);
	return t ? resume_one(c, t, true) : -1;
}

static void ctl_discard_signal(vm_control *vc, int64_t tid)
{
	lxc_thread *t = tid > 0 && tid <= INT32_MAX ? lxc_find((lx_control *)vc, (pid_t)tid) : NULL;
	if (t)
		set_sig(t, 0);
}

static int ctl_threads(vm_control *vc, int64_t **tids, size_t *n)
{
	lx_control *c = (lx_control *)vc;
	int64_t *v = xcalloc(c->nth ? c->nth : 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].state != LXT_GONE)
			v[k++] = c->th[i].tid;
	*tids = v;
	*n = k;
	return 0;
}

/* ---- waiting ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int wait_event(lx_control *c, int timeout_ms, vm_event *ev);

int lxc_wait(lx_control *c, int timeout_ms, vm_event *ev)
{
	int rc = wait_event(c, timeout_ms, ev);
	if (rc == 0 && ev->kind == VM_EV_FORK && ev->code == 3)
		lxc_switch_to_child(c, (pid_t)ev->addr);
	return rc;
}

static int wait_event(lx_control *c, int timeout_ms, vm_event *ev)
{
	if (queue_pop(&c->q, ev)) {
		lxc_stop(c); /* all-stop: the others ran meanwhile */
		return 0;
	}
	uint64_t end = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
	for (unsigned spin = 0;; spin++) {
		/* one thread running and no time limit (a breakpoint loop in a
		 * single-threaded program): block on it rather than poll */
		size_t nrun = 0, only = 0;
		for (size_t i = 0; i < c->nth && timeout_ms < 0; i++)
			if (c->th[i].state == LXT_RUNNING)
				nrun++, only = i;
		if (nrun == 1) {
			int st;
			wait_blocking(c->th[only].tid, &st);
			if (decode(c, only, st, ev)) {
				if (!c->exited)
					lxc_stop(c);
				return 0;
			}
			if (c->th[only].state == LXT_STOPPED &&
			    resume_one(c, &c->th[only], c->th[only].stepping) < 0)
				return -1;
			continue;
		}
		bool running = false;
		for (size_t i = 0; i < c->nth; i++) {
			if (c->th[i].state != LXT_RUNNING)
				continue;
			running = true;
			int st;
			pid_t r = waitpid(c->th[i].tid, &st, __WALL | WNOHANG);
			if (r == 0 || (r < 0 && errno == EINTR))
				continue;
			if (r < 0) {
				gone(c, &c->th[i]); /* not ours any more */
				continue;
			}
			if (decode(c, i, st, ev)) {
				if (!c->exited)
					lxc_stop(c);
				return 0;
			}
			/* stopped with no news (a late interrupt, a group stop) */
			if (c->th[i].state == LXT_STOPPED && resume_one(c, &c->th[i], c->th[i].stepping) < 0)
				return -1;
		}
		if (!running) {
			vm_seterr(c->exited ? "process %d has exited" : "no thread of process %d is running",
				  (int)c->pid);
			return -1;
		}
		if (now_ms() >= end) {
			memset(ev, 0, sizeof *ev);
			ev->kind = VM_EV_NONE;
			return 0;
		}
		struct timespec ts = { 0, spin < 100 ? 50000 : 1000000 };
		nanosleep(&ts, NULL);
	}
}

static int ctl_wait(vm_control *vc, int timeout_ms, vm_event *ev)
{
	return lxc_wait((lx_control *)vc, timeout_ms, ev);
}

/* ---- letting go ---- */

/* bit sig of a signal mask of a /proc status file ("\nSigPnd:",
 * "\nSigCgt:"): 1 set, 0 clear, -1 unreadable. A buffer on the stack:
 * the signal path's cleanup asks too (the masks come before 16 KiB
 * unless the Groups line is longer) */
static int status_sig(const char *path, const char *field, int sig)
{
	char buf[16384];
	size_t len = 0;
	int fd = sig < 1 || sig > 64 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n;
	while (len < sizeof buf - 1 && ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	close(fd);
	buf[len] = 0;
	const char *l = strstr(buf, field);
	return l ? (int)(strtoull(l + strlen(field), NULL, 16) >> (sig - 1) & 1) : -1;
}

/* whether SIGTRAP is pending for thread tid alone (an int3's is) */
static bool trap_pending(pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	return status_sig(path, "\nSigPnd:", SIGTRAP) == 1;
}

/* is addr a byte we wrote (an int3) over something else? */
static bool ours_at(const lx_control *c, uint64_t addr)
{
	for (int i = 0; i < atomic_load(&c->nsaved); i++) {
		const lxc_saved *s = &c->saved[i];
		if (addr >= s->addr && addr - s->addr < s->len)
			return s->bytes[addr - s->addr] != 0xcc;
	}
	return false;
}

/* the pc of a stopped thread, and setting it, by raw ptrace (async-
 * signal-safe; a 64-bit tracer sees a 32-bit tracee through the same
 * 64-bit struct user) */
static bool peek_pc(pid_t tid, uint64_t *pc)
{
	errno = 0;
	long v = ptrace(PTRACE_PEEKUSER, tid, (void *)offsetof(struct user, regs.rip), 0);
	*pc = (uint64_t)v;
	return !(v == -1 && errno);
}

static void poke_pc(pid_t tid, uint64_t pc)
{
	ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user, regs.rip), (void *)pc);
}

/* A thread our interrupt stopped just after it ran one of our int3s:
 * the interrupt's stop came first and the int3's SIGTRAP is still
 * pending, so the thread would take it once let go and die of it. Let
 * it take it now, discard it, and put the thread back on the
 * instruction the int3 replaced (before the journal is put back).
 * 0: done, or no int3 of ours behind it; a signal that came first
 * instead (give it back, and try again); -1 it did not stop again in
 * time (left running); -2 it is gone. Async-signal-safe. */
static int take_int3_trap(lx_control *c, pid_t tid)
{
	uint64_t pc;
	if (!peek_pc(tid, &pc) || !pc || !ours_at(c, pc - 1) || ptrace(PTRACE_CONT, tid, 0, 0) < 0)
		return 0;
	int st;
	pid_t got;
	long long end = (long long)now_ms() + 2000;
	while ((got = waitpid(tid, &st, __WALL | WNOHANG)) == 0 && (long long)now_ms() < end) {
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
	if (got <= 0 || !WIFSTOPPED(st))
		return got == 0 ? -1 : -2; /* left to the kernel */
	if (WSTOPSIG(st) != SIGTRAP)
		return WSTOPSIG(st);
	poke_pc(tid, pc - 1);
	return 0;
}

static void take_pending_int3(lx_control *c, lxc_thread *t)
{
	for (int tries = 0; tries < 4 && t->state == LXT_STOPPED && trap_pending(c->pid, t->tid); tries++) {
		int r = take_int3_trap(c, t->tid);
		t->regs_ok = false;
		if (r < 0)
			t->state = r == -1 ? LXT_RUNNING : LXT_GONE;
		if (r <= 0)
			return;
		set_sig(t, r); /* given back at detach */
	}
}

/* The same on the signal path (vmatlas ending on a signal), from the
 * held list (c->th may be half updated when the signal came): tid, a
 * thread of the process, stopped; one that ran one of our int3s,
 * stopped on its SIGTRAP (not reported yet) or with it pending, goes
 * back on the instruction the int3 replaced before the journal is put
 * back. Let go, it would run on from inside that instruction. */
static void put_back_held(pid_t tid, void *arg)
{
	lx_control *c = arg;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d", (int)c->pid, (int)tid);
	int arrived;
	if (access(path, F_OK) < 0 || lx_ensure_stopped(tid, &arrived) < 0)
		return;
	if (arrived)
		lx_hold_set_sig(tid, arrived);
	siginfo_t si;
	uint64_t pc;
	if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0 && si.si_signo == SIGTRAP && si.si_code == SI_KERNEL) {
		if (peek_pc(tid, &pc) && pc && ours_at(c, pc - 1)) {
			poke_pc(tid, pc - 1);
			if (lx_hold_pending_sig(tid) == SIGTRAP)
				lx_hold_set_sig(tid, 0);
		}
		return;
	}
	for (int tries = 0; tries < 4 && trap_pending(c->pid, tid); tries++) {
		int r = take_int3_trap(c, tid);
		if (r <= 0)
			return;
		lx_hold_set_sig(tid, r);
	}
}

int lxc_close(lx_control *c)
{
	if (!c)
		return 0;
	int rc = 0;
	lxc_release_queued_children(c);
	if (!c->exited) {
		lxc_stop(c);
		lxc_release_queued_children(c); /* met while stopping */
		pid_t any = 0;
		for (size_t i = 0; i < c->nth && !any; i++)
			if (c->th[i].state == LXT_STOPPED)
				any = c->th[i].tid;
		for (size_t i = 0; i < c->nth; i++)
			take_pending_int3(c, &c->th[i]);
		lxc_restore(c, any);
		for (size_t i = 0; i < c->nth; i++) {
			lxc_thread *t = &c->th[i];
			static const int order[] = { 7, 6, 3, 2, 1, 0 }; /* disable first */
			if (c->debugregs_used && t->state == LXT_STOPPED)
				for (size_t r = 0; r < sizeof order / sizeof order[0]; r++)
					ptrace(PTRACE_POKEUSER, t->tid, (void *)LX_DR_OFFSET(order[r]), 0);
		}
		for (size_t i = 0; i < c->nth; i++) {
			lxc_thread *t = &c->th[i];
			if (t->state == LXT_STOPPED && lx_release(t->tid, lx_hold_pending_sig(t->tid)) < 0 && errno != ESRCH)
				rc = -1;
			t->state = LXT_GONE;
		}
	}
	free_control(c);
	return rc;
}

void lxc_forget(lx_control *c)
{
	for (size_t i = 0; i < c->nth; i++)
		lx_hold_remove(c->th[i].tid);
	c->exited = true;
	free_control(c);
}

static bool ctl_pending(vm_control *vc)
{
	lx_control *c = (lx_control *)vc;
	return c->q.head < c->q.n;
}

/* SIGKILL, then every traced thread's end collected: a traced thread
 * stays a zombie until its tracer waits for it, and holds the process's
 * own end back with it */
static int ctl_kill(vm_control *vc)
{
	lx_control *c = (lx_control *)vc;
	if (c->exited)
		return 0;
	if (kill(c->pid, SIGKILL) < 0 && errno != ESRCH) {
		vm_seterr_errno("killing process %d", (int)c->pid);
		return -1;
	}
	/* the leader's end is told only after every other thread's */
	for (size_t k = 0; k < 2 * c->nth; k++) {
		lxc_thread *t = &c->th[k % c->nth];
		if ((k < c->nth) == (t->tid == c->pid))
			continue;
		while (t->state != LXT_GONE) {
			int st;
			if (waitpid(t->tid, &st, __WALL) < 0) {
				if (errno == EINTR)
					continue;
				gone(c, t);
				break;
			}
			if (WIFEXITED(st) || WIFSIGNALED(st))
				gone(c, t);
		}
	}
	c->exited = true;
	c->q.head = c->q.n = 0;
	return 0;
}

static int ctl_watch_syscalls(vm_control *vc, const uint64_t *ranges, size_t n)
{
	lx_control *c = (lx_control *)vc;
	free(c->sysw);
	c->sysw = NULL;
	c->nsysw = 0;
	if (n) {
		c->sysw = xcalloc(2 * n, sizeof *c->sysw);
		memcpy(c->sysw, ranges, 2 * n * sizeof *ranges);
		c->nsysw = n;
	}
	return 0;
}

static int ctl_syscall_exit(vm_control *vc, int64_t tid)
{
	lxc_thread *t = lxc_stopped((lx_control *)vc, tid);
	if (!t || !t->sysentry) {
		if (t)
			vm_seterr("thread %lld is not at the entry of a system call", (long long)tid);
		return -1;
	}
	t->sysexit = true;
	return 0;
}

static int ctl_run_syscall(vm_control *vc, int64_t tid)
{
	lx_control *c = (lx_control *)vc;
	lxc_thread *t = tid > 0 && tid <= INT32_MAX ? lxc_find(c, (pid_t)tid) : NULL;
	/* already on its way, or its news waits in the queue: as it is */
	if (t && (t->state == LXT_RUNNING || queued_for(&c->q, t->tid)))
		return 0;
	t = lxc_stopped(c, tid);
	if (!t)
		return -1;
	if (!c->nsysw) {
		vm_seterr("no system calls are watched");
		return -1;
	}
	t->sysexit = true;
	return resume_one(c, t, false);
}

/* SigCgt of /proc/PID/status: the signals with a handler */
static int ctl_sig_handled(vm_control *vc, int sig)
{
	lx_control *c = (lx_control *)vc;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)c->pid);
	return status_sig(path, "\nSigCgt:", sig);
}

static int ctl_close(vm_control *vc)
{
	return lxc_close((lx_control *)vc);
}

const struct vm_control_ops lxc_ops = {
	.close = ctl_close,
	.threads = ctl_threads,
	.stop = ctl_stop,
	.resume = ctl_resume,
	.step = ctl_step,
	.wait = ctl_wait,
	.discard_signal = ctl_discard_signal,
	.follow_fork = lxc_follow_fork,
	.get_regs = lxc_get_regs,
	.set_regs = lxc_set_regs,
	.get_fpregs = lxc_get_fpregs,
	.set_fpregs = lxc_set_fpregs,
	.get_xstate = lxc_get_xstate,
	.set_xstate = lxc_set_xstate,
	.write_protect = lxc_write_protect_op,
	.publish_prots = lxc_publish_prots_op,
	.user_rw = lxc_user_rw_op,
	.get_debugreg = lxc_get_debugreg,
	.set_debugreg = lxc_set_debugreg,
	.read = lxc_read_op,
	.write = lxc_write_op,
	.protect = lxc_protect_op,
	.syscall = lxc_syscall_op,
	.pending = ctl_pending,
	.update_saved = lxc_update_saved_op,
	.kill = ctl_kill,
	.watch_syscalls = ctl_watch_syscalls,
	.syscall_mem = lxc_syscall_mem_op,
	.update_saved_prot = lxc_update_saved_prot_op,
	.sig_handled = ctl_sig_handled,
	.syscall_exit = ctl_syscall_exit,
	.run_syscall = ctl_run_syscall,
	.forget = lxc_forget_op,
};
