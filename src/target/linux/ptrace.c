#include "ptrace.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

/* A fixed table keeps the registry usable from signal handlers. */
#define MAX_HELD 65536
#define MAX_SPAWNED 16

static atomic_int held_tid[MAX_HELD];
static atomic_int held_sig[MAX_HELD];
static atomic_int held_hi; /* slots at or above are unused */
static atomic_int spawned_pid[MAX_SPAWNED];
static atomic_bool spawned_kill[MAX_SPAWNED];

void lx_hold_add(pid_t tid, int sig)
{
	for (int i = 0; i < MAX_HELD; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&held_tid[i], &expect, (int)tid)) {
			atomic_store(&held_sig[i], sig);
			if (atomic_load(&held_hi) <= i)
				atomic_store(&held_hi, i + 1);
			return;
		}
	}
}

void lx_hold_remove(pid_t tid)
{
	int hi = atomic_load(&held_hi);
	for (int i = 0; i < hi; i++) {
		if (atomic_load(&held_tid[i]) == tid) {
			atomic_store(&held_tid[i], 0);
			return;
		}
	}
}

bool lx_is_held(pid_t tid)
{
	int hi = atomic_load(&held_hi);
	for (int i = 0; i < hi; i++)
		if (atomic_load(&held_tid[i]) == tid)
			return true;
	return false;
}

int lx_hold_pending_sig(pid_t tid)
{
	int hi = atomic_load(&held_hi);
	for (int i = 0; i < hi; i++)
		if (atomic_load(&held_tid[i]) == tid)
			return atomic_load(&held_sig[i]);
	return 0;
}

void lx_spawned_add(pid_t pid, bool kill_on_exit)
{
	for (int i = 0; i < MAX_SPAWNED; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&spawned_pid[i], &expect, (int)pid)) {
			atomic_store(&spawned_kill[i], kill_on_exit);
			return;
		}
	}
}

void lx_spawned_remove(pid_t pid)
{
	for (int i = 0; i < MAX_SPAWNED; i++)
		if (atomic_load(&spawned_pid[i]) == pid)
			atomic_store(&spawned_pid[i], 0);
}

void lx_hold_set_sig(pid_t tid, int sig)
{
	int hi = atomic_load(&held_hi);
	for (int i = 0; i < hi; i++)
		if (atomic_load(&held_tid[i]) == tid)
			atomic_store(&held_sig[i], sig);
}

void lx_hold_each(void (*fn)(pid_t tid, void *arg), void *arg)
{
	int hi = atomic_load(&held_hi);
	for (int i = 0; i < hi; i++) {
		int tid = atomic_load(&held_tid[i]);
		if (tid > 0)
			fn(tid, arg);
	}
}

/* things to put back before the threads go (a debugger's breakpoints) */
#define MAX_CLEANUPS 16
static _Atomic(lx_cleanup_fn) cleanup_fn[MAX_CLEANUPS];
static _Atomic(void *) cleanup_arg[MAX_CLEANUPS];
static atomic_bool debugregs_used;

int lx_cleanup_add(lx_cleanup_fn fn, void *arg)
{
	/* a slot is taken by its argument (never NULL), then armed by its
	 * function: a signal between the two finds nothing to run */
	for (int i = 0; i < MAX_CLEANUPS; i++) {
		void *expect = NULL;
		if (atomic_compare_exchange_strong(&cleanup_arg[i], &expect, arg)) {
			atomic_store(&cleanup_fn[i], fn);
			return i;
		}
	}
	return -1;
}

void lx_cleanup_remove(int slot)
{
	if (slot >= 0 && slot < MAX_CLEANUPS) {
		atomic_store(&cleanup_fn[slot], NULL);
		atomic_store(&cleanup_arg[slot], NULL);
	}
}

void lx_debugregs_used(void)
{
	atomic_store(&debugregs_used, true);
}

static void sleep_ms(long ms);

int lx_ensure_stopped(pid_t tid, int *sig)
{
	*sig = 0;
	/* only a thread in a ptrace-stop answers PEEKUSER */
	errno = 0;
	if (ptrace(PTRACE_PEEKUSER, tid, 0, 0) != -1 || errno != ESRCH)
		return 0;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
		return -1;
	for (int waited = 0; waited < 200; waited++) {
		int st;
		pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == tid) {
			if (!WIFSTOPPED(st))
				return -1;
			if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP)
				*sig = WSTOPSIG(st); /* a signal arriving: give it back */
			return 0;
		}
		sleep_ms(1);
	}
	return -1;
}

void lx_release_all(void)
{
	for (int i = 0; i < MAX_CLEANUPS; i++) {
		lx_cleanup_fn fn = atomic_exchange(&cleanup_fn[i], NULL);
		if (fn)
			fn(atomic_load(&cleanup_arg[i]));
	}
	bool dr = atomic_load(&debugregs_used);
	int hi = atomic_load(&held_hi);
	for (int i = 0; i < hi; i++) {
		int tid = atomic_exchange(&held_tid[i], 0);
		if (tid <= 0)
			continue;
		int sig = atomic_load(&held_sig[i]), arrived;
		/* a running thread cannot be detached: stop it first */
		if (lx_ensure_stopped(tid, &arrived) == 0 && arrived)
			sig = arrived;
		if (dr)
			ptrace(PTRACE_POKEUSER, tid, (void *)LX_DR7_OFFSET, 0);
		ptrace(PTRACE_DETACH, tid, 0, (void *)(long)lx_detach_sig(tid, sig));
	}
	for (int i = 0; i < MAX_SPAWNED; i++) {
		int pid = atomic_exchange(&spawned_pid[i], 0);
		if (pid > 0 && atomic_load(&spawned_kill[i])) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
}

void lx_forget_all(void)
{
	for (int i = 0; i < MAX_CLEANUPS; i++) {
		atomic_store(&cleanup_fn[i], NULL);
		atomic_store(&cleanup_arg[i], NULL);
	}
	for (int i = 0; i < MAX_HELD; i++)
		atomic_store(&held_tid[i], 0);
	atomic_store(&held_hi, 0);
	for (int i = 0; i < MAX_SPAWNED; i++)
		atomic_store(&spawned_pid[i], 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void sleep_us(long us)
{
	if (us == 0) {
		sched_yield();
		return;
	}
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
	nanosleep(&ts, NULL);
}

/* microseconds on the monotonic clock: bounds are in time, not in
 * sleeps, which a loaded machine stretches many times over */
static long long mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int lx_seize_stop(pid_t tid)
{
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
		return -1;
	lx_hold_add(tid, 0);
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		int e = errno;
		lx_hold_remove(tid);
		ptrace(PTRACE_DETACH, tid, 0, 0);
		errno = e;
		return -1;
	}
	/* a thread in uninterruptible sleep stops only when it wakes up:
	 * wait a bounded time */
	/* polls close together first: a sleeping thread stops within tens
	 * of microseconds, and a millisecond per thread was most of what
	 * 'threads' took on a process with a few threads */
	long long deadline = mono_us() + 2000000;
	for (long polls = 0; polls < 4 || mono_us() < deadline; polls++) {
		int st;
		pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			lx_hold_remove(tid);
			errno = e == ECHILD ? ESRCH : e;
			return -1;
		}
		if (r == 0) {
			long us = polls < 4 ? 0 : polls < 60 ? 20 : 1000;
			sleep_us(us);
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			lx_hold_remove(tid);
			errno = ESRCH;
			return -1;
		}
		if (WIFSTOPPED(st)) {
			int s = WSTOPSIG(st);
			int event = st >> 16;
			/* a signal arrived before our interrupt: deliver it as
			 * the kernel would have, and wait on for the interrupt */
			if (event == 0 && s != SIGTRAP) {
				if (ptrace(PTRACE_CONT, tid, 0, (void *)(long)s) < 0) {
					lx_hold_remove(tid);
					return -1;
				}
				continue;
			}
			return 0;
		}
	}
	/* still not stopped: it stays attached until it stops or we exit;
	 * the kernel then lets it go */
	errno = ETIMEDOUT;
	return -1;
}

int lx_detach_sig(pid_t tid, int sig)
{
	siginfo_t si;
	if ((sig == SIGSEGV || sig == SIGBUS) && ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0 &&
	    si.si_signo == sig && si.si_code > 0)
		return 0;
	return sig;
}

int lx_release(pid_t tid, int sig)
{
	lx_hold_remove(tid);
	return (int)ptrace(PTRACE_DETACH, tid, 0, (void *)(long)lx_detach_sig(tid, sig));
}
