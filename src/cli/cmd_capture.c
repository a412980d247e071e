/* vmatlas capture: an ELF core of a live process, with its map inside. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "vmatlas/capture.h"

static const char capture_help[] =
	"usage: vmatlas capture [OPTIONS] TARGET -o FILE\n"
	"       vmatlas capture [OPTIONS] -o FILE -- PROGRAM [ARGS...]\n"
	"       vmatlas capture - -o FILE\n"
	"\n"
	"Writes an ELF core file of a live process (all threads stopped while it\n"
	"is written, then resumed): every readable region, the registers of each\n"
	"thread, the auxiliary vector and the file mappings, as gdb, eu-stack and\n"
	"'vmatlas' itself read them; and the vmatlas snapshot of the process, so\n"
	"that 'vmatlas map FILE' later shows the full annotated map. FILE appears\n"
	"whole or not at all, with mode 0600.\n"
	"\n"
	"With '-' for TARGET it reads an ELF core from standard input instead (the\n"
	"kernel's, through a core_pattern pipe) and writes it to FILE with the\n"
	"vmatlas snapshot of what it holds added as a note:\n"
	"  echo '|/usr/bin/vmatlas capture - -o /var/crash/core.%p' \\\n"
	"      > /proc/sys/kernel/core_pattern\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE  where to write\n"
	"  --private-only     only private memory, thread stacks and the first page\n"
	"                     of each image (a crash-report bundle: the files the\n"
	"                     process mapped are on disk already)\n"
	CLI_COMMON_HELP;

enum { OPT_PRIVATE = OPT_COMMAND };

static const struct option capture_opts[] = {
	CLI_COMMON_OPTIONS,
	{ "output", required_argument, NULL, 'o' },
	{ "private-only", no_argument, NULL, OPT_PRIVATE },
	{ NULL, 0, NULL, 0 },
};

int cmd_capture(int argc, char **argv)
{
	cli_common cc;
	const char *out = NULL;
	vm_capture_options co = { 0 };
	argc = cli_common_begin(&cc, "capture", argc, argv);
	int c, rc;
	while ((c = getopt_long(argc, argv, "o:h", capture_opts, NULL)) != -1) {
		int r = cli_common_option(&cc, c, optarg);
		if (r < 0)
			return cli_common_end(&cc), EXIT_USAGE;
		if (r > 0)
			continue;
		if (c == 'o')
			out = optarg;
		else if (c == OPT_PRIVATE)
			co.private_only = true;
		else if (c == 'h')
			return fputs(capture_help, stdout), cli_common_end(&cc), 0;
		else
			return cli_common_end(&cc), cli_usage_error("capture", "unknown option '%s'", argv[optind - 1]);
	}
	bool from_stdin = !cc.ta.prog && optind < argc && strcmp(argv[optind], "-") == 0;
	if (from_stdin)
		optind++;
	else if ((rc = cli_common_target(&cc, argc, argv)))
		return cli_common_end(&cc), rc;
	if (optind < argc)
		return cli_common_end(&cc), cli_usage_error("capture", "one TARGET please");
	if (!out)
		return cli_common_end(&cc), cli_usage_error("capture", "no -o FILE given");
	if (from_stdin && co.private_only)
		return cli_common_end(&cc), cli_usage_error("capture", "--private-only: the kernel chose what the core "
									"on standard input holds (coredump_filter)");
	vm_target *t = NULL;
	if (!from_stdin && !(t = cli_open_target(cc.spec, &cc.ta)))
		return cli_common_end(&cc), cli_error(EXIT_RUNTIME, "%s", vm_error());
	vm_map_options mo = { .manual = cc.manual.v, .nmanual = cc.manual.n };
	co.mo = &mo;
	vm_capture_result res;
	if ((from_stdin ? vm_capture_core_stream(0, &co, out, &res) : vm_capture(t, &co, out, &res)) < 0) {
		rc = cli_error(EXIT_RUNTIME, "capture: %s", vm_error());
	} else if (cc.json) {
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
		char a[16], b[16];
		printf("%zu regions (%s of memory), %zu threads to %s (%s)%s\n", res.nsegments,
		       fmt_size(res.bytes_dumped, a, sizeof a), res.nthreads, out,
		       fmt_size(res.file_size, b, sizeof b), co.private_only ? ", private memory only" : "");
		if (res.unreadable)
			printf("%zu regions could not be read whole: their segments hold what could\n",
			       res.unreadable);
	}
	if (t)
		vm_target_close(t);
	cli_common_end(&cc);
	return rc;
}
