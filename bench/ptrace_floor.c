/* The floor for the debugger's hit and step paths: a bare ptrace loop on
 * a forked child calling a function N times, with nothing else done.
 *   ptrace_floor break N   int3 on the function; each hit: get the
 *                          registers, put the byte back, rip - 1, single
 *                          step, the int3 again, continue (the issue's
 *                          "bare ptrace loop"; gdb's way, two stops a hit)
 *   ptrace_floor step N    N single steps of the child's loop
 * Prints the microseconds an iteration. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t counter;

__attribute__((noinline)) static void target(uint64_t v)
{
	counter += v;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long n = atol(argv[2]);
	int brk = !strcmp(argv[1], "break");
	pid_t p = fork();
	if (p == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		for (long i = 0; i < n || !brk; i++)
			target((uint64_t)i);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	uintptr_t at = (uintptr_t)target;
	long orig = ptrace(PTRACE_PEEKTEXT, p, (void *)at, 0);
	double t0 = now();
	if (brk) {
		ptrace(PTRACE_POKETEXT, p, (void *)at, (void *)((orig & ~0xffL) | 0xcc));
		ptrace(PTRACE_CONT, p, 0, 0);
		for (long i = 0; i < n; i++) {
			struct user_regs_struct r;
			waitpid(p, &st, 0);
			ptrace(PTRACE_GETREGS, p, 0, &r);
			ptrace(PTRACE_POKETEXT, p, (void *)at, (void *)orig);
			r.rip = at;
			ptrace(PTRACE_SETREGS, p, 0, &r);
			ptrace(PTRACE_SINGLESTEP, p, 0, 0);
			waitpid(p, &st, 0);
			ptrace(PTRACE_POKETEXT, p, (void *)at, (void *)((orig & ~0xffL) | 0xcc));
			ptrace(PTRACE_CONT, p, 0, 0);
		}
	} else {
		for (long i = 0; i < n; i++) {
			ptrace(PTRACE_SINGLESTEP, p, 0, 0);
			waitpid(p, &st, 0);
		}
	}
	double t = now() - t0;
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	printf("%.1f\n", t / (double)n * 1e6);
	return 0;
}
