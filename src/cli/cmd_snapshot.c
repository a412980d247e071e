/* vmatlas snapshot: save a map to a file (diff compares two). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "vmatlas/snapshot.h"

typedef struct snapshot_args {
	const char *out;
	bool data, blocks;
} snapshot_args;

static int snapshot_check(cli_ctx *ctx)
{
	if (!((snapshot_args *)ctx->args)->out)
		return cli_usage_error("snapshot", "no -o FILE given");
	return 0;
}

static int snapshot_run(cli_ctx *ctx)
{
	const snapshot_args *a = ctx->args;
	const char *out = a->out;
	bool data = a->data, blocks = a->blocks;
	int rc = 0;
	vm_snapshot s;
	if (vm_snapshot_take(ctx->t, &ctx->mo, data, blocks, &s) < 0) {
		rc = cli_error(EXIT_RUNTIME, "%s", vm_error());
	} else if (vm_snapshot_write(&s, out) < 0) {
		rc = cli_error(EXIT_RUNTIME, "snapshot: %s", vm_error());
	} else {
		/* a stream (a pipe, NUL) may have no size to stat */
		struct stat sb = { 0 };
		char b[16];
		if (stat(out, &sb) != 0)
			sb.st_size = 0;
		if (ctx->json) {
			printf("{\"file\": \"%s\", \"bytes\": %lld, \"regions\": %zu, \"data\": %s}\n", out,
			       (long long)sb.st_size, s.map->nregions, data ? "true" : "false");
		} else {
			printf("pid %lld: %zu regions, %zu modules, %zu threads%s%s to %s (%s)\n",
			       (long long)s.map->info.pid, s.map->nregions, s.map->nmodules, s.map->nthreads,
			       data ? ", page hashes" : "", blocks ? ", heap blocks" : "", out,
			       fmt_size((uint64_t)sb.st_size, b, sizeof b));
		}
		fflush(stdout);
		cli_print_warnings(s.map);
	}
	vm_snapshot_free(&s);
	return rc;
}

static const cli_option snapshot_opts[] = {
	CLI_OPT_STRING("output", 'o', "FILE", snapshot_args, out, "where to write"),
	CLI_OPT_FORCE,
	CLI_OPT_FLAG("data", 0, snapshot_args, data, "also a hash of every page, so diff can tell which\n"
		     "pages' contents changed"),
	CLI_OPT_FLAG("heap-blocks", 0, snapshot_args, blocks, "also every heap chunk, so diff can tell the blocks\n"
		     "allocated and freed"),
};

const cli_command cli_cmd_snapshot = {
	.name = "snapshot",
	.summary = "save a map (and page hashes) to a file",
	.usage = "[OPTIONS] TARGET -o FILE\n[OPTIONS] -o FILE -- PROGRAM [ARGS...]",
	.about = "Saves the whole map (regions, allocations, contents, modules, threads and\n"
		 "the heap's arenas) to FILE, compressed (docs/snapshot.md). FILE appears\n"
		 "whole or not at all, with mode 0600. 'vmatlas diff' compares two.\n",
	.needs = CLI_TARGET | CLI_OPEN,
	CLI_OPTS(snapshot_opts),
	CLI_ARGS(snapshot_args),
	.check = snapshot_check,
	.run = snapshot_run,
};
