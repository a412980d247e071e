/* `vmatlas debug`: the debugger's front ends, thin layers over src/debug/
 * (vmatlas/debug.h): on a terminal (and no --batch) the CPU window
 * (src/tui/cpu_win.c); otherwise the batch mode, commands one a line from
 * --batch FILE (or stdin), each result and each event printed as text or
 * as one JSON object a line. */
#include "cli.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/console.h"
#include "tui/cpu.h"
#include "vmatlas/debug.h"
#include "vmatlas/error.h"

typedef struct debug_args {
	const char *batch;
	const char *follow_fork;
	bool at_main;
} debug_args;

static void on_event(void *arg, vm_dbg *d, const vm_dbg_event *ev)
{
	(void)arg;
	vm_dbg_print_event(d, ev, stdout);
}

/* The tests' way to see vmatlas crash while it holds a process: with
 * VMATLAS_TEST_CRASH=segv|bus|ill|fpe|abort in the environment, the batch
 * line "test-crash" crashes vmatlas with that signal (a real fault for
 * segv and ill); the handlers of vm_install_cleanup_handlers must let the
 * process go. Without the variable the line is an unknown command. */
static bool test_crash(const char *line)
{
	const char *how = getenv("VMATLAS_TEST_CRASH");
	if (!how || strncmp(line, "test-crash", 10) || (line[10] && line[10] != '\n'))
		return false;
	fflush(stdout);
	if (!strcmp(how, "segv")) {
		volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			p[0] = 1;
	} else if (!strcmp(how, "ill")) {
		__builtin_trap();
	} else if (!strcmp(how, "abort")) {
		abort();
	}
	raise(!strcmp(how, "bus") ? SIGBUS : !strcmp(how, "fpe") ? SIGFPE : SIGSEGV);
	return true;
}

/* Ctrl-C (SIGINT; on Windows the console's Ctrl-C and Ctrl-Break events,
 * base/win/console_signals.c) in batch mode: while a command runs, a
 * pause of the target (vm_dbg_interrupt: atomics and kill only); at the
 * prompt a fresh prompt; otherwise (reading a pipe or file) the cleanup
 * handler's, which lets the target go and ends vmatlas. */
static vm_dbg *_Atomic g_dbg;
static atomic_bool g_busy, g_shared, g_sigint;

static void on_sigint(int sig)
{
	(void)sig;
	vm_dbg *d = atomic_load(&g_dbg);
	bool paused = false, shared = atomic_load(&g_shared);
	if (shared && vm_dbg_ctrl_seen())
		return; /* the target's own Ctrl-C was the pause already */
	if (d && atomic_load(&g_busy)) /* a shared Ctrl-C: its own stops it */
		paused = shared ? vm_dbg_interrupt_expect(d) : vm_dbg_interrupt(d);
	/* nothing running to pause (at the prompt, or a command ending):
	 * seen when the command is done */
	if (!paused)
		atomic_store(&g_sigint, true);
}

/* ours with SA_RESTART while a command runs (its reads and waits go
 * on), without at the prompt (getline returns); else old, the cleanup */
static void set_sigint(bool ours, bool restart, const struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGINT, ours ? &sa : old, NULL);
}

/* the commands of in; the number that failed, -1 when letting go of the
 * process at the end failed */
static int batch(vm_dbg *d, FILE *in, bool prompt)
{
	int failed = 0;
	char *line = NULL;
	size_t cap = 0;
	bool ended = false;
	struct sigaction old;
	sigaction(SIGINT, NULL, &old);
	atomic_store(&g_dbg, d);
	set_sigint(prompt, false, &old);
	while (!ended) {
		/* flushed: the Windows C runtime buffers stderr in a file */
		if (prompt && (fputs("(vmatlas) ", stderr) < 0 || fflush(stderr) != 0))
			break;
		if (getline(&line, &cap, in) < 0) {
			if (prompt && atomic_exchange(&g_sigint, false)) {
				clearerr(in); /* ^C at the prompt: a fresh one */
				fputc('\n', stderr);
				continue;
			}
			break;
		}
		if (test_crash(line))
			continue;
		/* the target gets a console's Ctrl-C too: its own stop is the pause */
		atomic_store(&g_shared, vm_console_shared(vm_dbg_pid(d)));
		/* quit, kill, detach free d: the handler must not see it */
		if (vm_dbg_ends_session(line))
			atomic_store(&g_dbg, NULL);
		atomic_store(&g_busy, true);
		set_sigint(true, true, &old);
		int rc = vm_dbg_exec(d, line, stdout);
		set_sigint(prompt, false, &old);
		atomic_store(&g_busy, false);
		fflush(stdout);
		/* a Ctrl-C with nothing to pause as the command ended: on a pipe
		 * the cleanup's, as between commands; at a prompt a fresh one */
		if (atomic_exchange(&g_sigint, false) && !prompt)
			raise(SIGINT);
		if (rc < 0)
			failed++;
		ended = rc == 1;
	}
	free(line);
	sigaction(SIGINT, &old, NULL);
	atomic_store(&g_dbg, NULL);
	if (!ended && vm_dbg_close(d, VM_DBG_QUIT) < 0)
		return -1;
	return failed;
}

static int debug_check(cli_ctx *ctx)
{
	debug_args *a = ctx->args;
	if (a->at_main && !ctx->ta.prog)
		return cli_usage_error(ctx->name, "--at-main is for a program started with '-- PROGRAM'");
	if (a->follow_fork && strcmp(a->follow_fork, "child") && strcmp(a->follow_fork, "parent"))
		return cli_usage_error(ctx->name, "--follow-fork takes child or parent");
	return 0;
}

static int debug_run(cli_ctx *ctx)
{
	debug_args *a = ctx->args;
	FILE *in = stdin;
	if (a->batch && strcmp(a->batch, "-") && !(in = fopen(a->batch, "re")))
		return cli_error(EXIT_RUNTIME, "debug: cannot open %s", a->batch);
	bool window = !a->batch && !ctx->json && isatty(0) && isatty(1);
	vm_dbg_options o = { .launched = ctx->ta.prog != NULL, .at_main = a->at_main, .json = ctx->json,
			     .follow_child = a->follow_fork && !strcmp(a->follow_fork, "child"),
			     .sym_flags = ctx->no_demangle ? 0 : VM_SYM_DEMANGLE,
			     .sink = window ? NULL : on_event };
	vm_dbg *d = vm_dbg_open(ctx->t, &o);
	if (!d) {
		if (in != stdin)
			fclose(in);
		return cli_error(EXIT_RUNTIME, "debug: %s", vm_error());
	}
	if (window) {
		bool color = ctx->color != COLOR_NEVER && (ctx->color == COLOR_ALWAYS || cli_use_color(ctx->color, stdout));
		if (cpu_run(d, color) < 0) /* d is closed */
			return cli_error(EXIT_RUNTIME, "debug: %s", vm_error());
		return 0;
	}
	bool prompt = !a->batch && isatty(0);
	int failed = batch(d, in, prompt);
	if (in != stdin)
		fclose(in);
	if (failed < 0)
		return cli_error(EXIT_RUNTIME, "debug: letting go of the process: %s", vm_error());
	fflush(stdout);
	if (failed)
		return cli_error(EXIT_RUNTIME, "debug: %d command%s failed", failed, failed == 1 ? "" : "s");
	return 0;
}

static const cli_option debug_opts[] = {
	CLI_OPT_STRING("batch", 0, "FILE", debug_args, batch, "read commands from FILE ('-': stdin), one a line"),
	CLI_OPT_FLAG("at-main", 0, debug_args, at_main, "with '--': run on to main before the first command"),
	CLI_OPT_STRING("follow-fork", 0, "WHICH", debug_args, follow_fork,
		       "after a fork: debug the child or the parent"),
};

const cli_command cli_cmd_debug = {
	.name = "debug",
	.summary = "a debugger: breakpoints, watchpoints, stepping, registers, memory",
	.usage = "[OPTIONS] PID\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "Attach to process PID (every thread, all-stop) or start PROGRAM, stopped\n"
		 "at its entry point (--at-main: at main; a stripped program's main is\n"
		 "found as glibc's __libc_start_main is called), and run debugger\n"
		 "commands, one a line, from --batch FILE or stdin: break (also\n"
		 "FILE:LINE), tbreak, watch, bpm, delete, enable, disable, info\n"
		 "breakpoints, continue, stepi, nexti, step, next,\n"
		 "finish, until, thread, bt, stack [N] (the stack from sp, each value\n"
		 "named, the frames marked), regs [avx|all] (ymm0-15, the x87 stack),\n"
		 "set, set syntax att|intel, print, mem (units u8 ... f64, f80, ascii,\n"
		 "utf16, ptr), write, disasm, handle, detach, kill, quit ('help' lists\n"
		 "them). With --json every result and every event is one JSON object a\n"
		 "line. On a terminal without --batch (with --json) a '(vmatlas) ' prompt\n"
		 "is shown on stderr.\n"
		 "\n"
		 "Ctrl-C (SIGINT; on Windows also Ctrl-Break) while a command runs the\n"
		 "process (continue, step, next, finish, until) pauses it, as gdb's: an\n"
		 "'interrupt' event, the command ends and the next line is read. At the\n"
		 "prompt, with nothing running, it gives a fresh prompt; reading a pipe\n"
		 "or --batch FILE, with nothing running, it lets the process go and ends\n"
		 "vmatlas. A front end driving the batch mode sends SIGINT to pause.\n"
		 "\n"
		 "On a terminal, without --batch or --json, the CPU window opens instead:\n"
		 "disassembly, registers, memory, stack and log panes; F1 lists its keys\n"
		 "(F2 breakpoint, F7/F8 step, F9 run, ^C pause, ':' any command above).\n"
		 "\n"
		 "At the end of the input an attached process is detached and a started\n"
		 "one killed (--keep: detached); 'detach' leaves either running. A\n"
		 "fork's child is let go with every breakpoint removed from it; with\n"
		 "--follow-fork=child (or the command 'set follow-fork child') the child\n"
		 "is debugged and the parent let go. Whatever happens, the process is\n"
		 "left without an int3 byte or debug register of ours, and running.\n",
	.notes = "Example: printf 'break malloc if rdi > 4096\\ncontinue\\nbt\\n' |\n"
		 "         vmatlas debug --batch - 1234\n",
	.needs = CLI_TARGET | CLI_OPEN,
	.min_args = 0,
	.max_args = 0,
	CLI_OPTS(debug_opts),
	CLI_ARGS(debug_args),
	.check = debug_check,
	.run = debug_run,
};
