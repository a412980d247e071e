/* vmatlas capture: an ELF core of a live process, with its map inside
 * (a minidump written by the OS where the target has one: Windows). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/capture.h"

typedef struct capture_args {
	const char *out;
	bool private_only;
	bool from_stdin; /* TARGET '-' */
	const char *pid; /* with '-': the dying process (%P) */
} capture_args;

static int capture_check(cli_ctx *ctx)
{
	capture_args *a = ctx->args;
	a->from_stdin = !ctx->ta.prog && !strcmp(ctx->spec, "-");
	if (!a->out)
		return cli_usage_error("capture", "no -o FILE given");
	if (a->from_stdin && a->private_only)
		return cli_usage_error("capture", "--private-only: the kernel chose what the core "
						  "on standard input holds (coredump_filter)");
	if (a->pid && !a->from_stdin)
		return cli_usage_error("capture", "--pid goes with '-' (a core on standard input)");
	uint64_t pid;
	if (a->pid && (!parse_u64(a->pid, &pid) || pid == 0 || pid > INT32_MAX))
		return cli_usage_error("capture", "bad --pid '%s'", a->pid);
	ctx->open = !a->from_stdin;
	return 0;
}

static int capture_run(cli_ctx *ctx)
{
	const capture_args *a = ctx->args;
	const char *out = a->out;
	bool from_stdin = a->from_stdin;
	vm_capture_options co = { .private_only = a->private_only };
	uint64_t pid = 0;
	if (a->pid && parse_u64(a->pid, &pid))
		co.live_pid = (int64_t)pid;
	vm_target *t = ctx->t;
	int rc = 0;
	vm_map_options mo = { .manual = ctx->manual.v, .nmanual = ctx->manual.n };
	co.mo = &mo;
	vm_capture_result res;
	if ((from_stdin ? vm_capture_core_stream(0, &co, out, &res) : vm_capture(t, &co, out, &res)) < 0) {
		rc = cli_error(EXIT_RUNTIME, "capture: %s", vm_error());
	} else if (ctx->json) {
		json_writer w;
		json_init(&w, stdout, true);
		json_obj_begin(&w);
		json_kstr(&w, "file", out);
		json_ku64(&w, "bytes", res.file_size);
		json_ku64(&w, "memory", res.bytes_dumped);
		json_ku64(&w, "segments", res.nsegments);
		json_ku64(&w, "threads", res.nthreads);
		json_ku64(&w, "unreadable", res.unreadable);
		json_kbool(&w, "private_only", co.private_only);
		json_obj_end(&w);
		json_done(&w);
	} else {
		char b1[16], b2[16];
		printf("%zu region%s (%s of memory), %zu thread%s to %s (%s)%s\n", res.nsegments,
		       res.nsegments == 1 ? "" : "s", fmt_size(res.bytes_dumped, b1, sizeof b1), res.nthreads,
		       res.nthreads == 1 ? "" : "s", out,
		       fmt_size(res.file_size, b2, sizeof b2), co.private_only ? ", private memory only" : "");
		if (res.unreadable)
			printf("%zu regions could not be read whole: their segments hold what could\n",
			       res.unreadable);
	}
	return rc;
}

static const cli_option capture_opts[] = {
	CLI_OPT_STRING("output", 'o', "FILE", capture_args, out, "where to write"),
	CLI_OPT_FORCE,
	CLI_OPT_FLAG("private-only", 0, capture_args, private_only,
		     "only private memory, thread stacks and the first page\n"
		     "of each image (a crash-report bundle: the files the\n"
		     "process mapped are on disk already)"),
	CLI_OPT_STRING("pid", 0, "PID", capture_args, pid,
		       "with '-': the dying process (core_pattern %P), whose\n"
		       "thread names and smaps are read while the kernel\n"
		       "holds it"),
};

const cli_command cli_cmd_capture = {
	.name = "capture",
	.summary = "an ELF core of a live process, with its map inside",
	.usage = "[OPTIONS] TARGET -o FILE\n[OPTIONS] -o FILE -- PROGRAM [ARGS...]\n- [--pid PID] -o FILE",
	.about = "Writes an ELF core file of a live process (all threads stopped while it\n"
		 "is written, then resumed): every readable region, the registers of each\n"
		 "thread, the auxiliary vector and the file mappings, as gdb, eu-stack and\n"
		 "'vmatlas' itself read them; and the vmatlas snapshot of the process, so\n"
		 "that 'vmatlas map FILE' later shows the full annotated map. FILE appears\n"
		 "whole or not at all, with mode 0600. TARGET must be a live process.\n"
		 "\n"
		 "In the Windows build it writes a minidump instead, by MiniDumpWriteDump:\n"
		 "full memory (--private-only: private read-write memory) with the thread,\n"
		 "handle and memory information streams; WinDbg and vmatlas open it.\n"
		 "\n"
		 "With '-' for TARGET it reads an ELF core from standard input instead (the\n"
		 "kernel's, through a core_pattern pipe) and writes it to FILE with the\n"
		 "vmatlas snapshot of what it holds added as a note:\n"
		 "  echo '|/usr/bin/vmatlas capture - --pid %P -o /var/crash/core.%p' \\\n"
		 "      > /proc/sys/kernel/core_pattern\n"
		 "With --pid the map also gets what only /proc of the dying process knows:\n"
		 "thread names and each region's statistics (RSS, private, shared).\n",
	.needs = CLI_TARGET | CLI_OPEN,
	CLI_OPTS(capture_opts),
	CLI_ARGS(capture_args),
	.check = capture_check,
	.run = capture_run,
};
