/* vmatlas tui: the map to browse in a terminal (src/tui). TARGET may also
 * be a snapshot file (vmatlas snapshot): its map, with no memory behind it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/open_file.h"
#include "base/util.h"
#include "cli.h"
#include "tui/tui.h"
#include "vmatlas/heap.h"
#include "vmatlas/snapshot.h"

typedef struct tui_args {
	uint64_t refresh;
	bool no_color;
	bool snapshot; /* TARGET is a snapshot file: the driver opens nothing */
} tui_args;

/* a readable file that is not a core file or a minidump */
static bool is_snapshot(const char *spec)
{
	uint64_t pid;
	if (!spec || !strcmp(spec, "self") || parse_u64(spec, &pid))
		return false;
	int fd = open_regular(spec);
	if (fd < 0)
		return false;
	uint8_t magic[64] = { 0 };
	ssize_t n = read(fd, magic, sizeof magic);
	close(fd);
	return n > 0 && !vm_file_target_magic(magic, (size_t)n);
}

static int tui_check(cli_ctx *ctx)
{
	tui_args *a = ctx->args;
	if (ctx->json)
		return cli_usage_error("tui", "--json: a terminal UI prints no JSON (see 'vmatlas map --json')");
	/* before the target is opened: a live one is never touched for nothing */
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return cli_usage_error("tui", "needs a terminal (stdin and stdout); for text use 'vmatlas map'");
	if (is_snapshot(ctx->spec)) {
		a->snapshot = true;
		ctx->open = ctx->build = ctx->symbols = false;
		return 0;
	}
	/* the arenas and their chunk counts, on the heap regions (as map) */
	ctx->mo.heap = VM_MAP_HEAP | VM_MAP_HEAP_PLACE;
	return 0;
}

static int tui_cmd_run(cli_ctx *ctx)
{
	tui_args *a = ctx->args;
	tui_options o = {
		.color = !a->no_color && ctx->color != COLOR_NEVER && (ctx->color == COLOR_ALWAYS || cli_use_color(ctx->color, stdout)),
		.refresh_s = (unsigned)a->refresh,
		.mo = ctx->mo,
		.sym_flags = ctx->sym_flags,
		.target = ctx->spec,
		/* as with map: a spawned program waits at its entry point */
		.note = ctx->ta.prog && !ctx->ta.run_ms ?
			"the program is held at its entry point (--run MS lets it run first); quitting kills it unless --keep" :
			NULL,
	};
	bool live = !a->snapshot && (vm_target_caps(ctx->t) & VM_CAP_LIVE);
	if (a->refresh && !live)
		return cli_usage_error("tui", "--refresh needs a live process");
	if (!a->snapshot) {
		if (tui_run(ctx->t, &ctx->m, &ctx->sym, &o) < 0)
			return cli_error(EXIT_USAGE, "tui: %s", vm_error());
		return 0;
	}
	vm_snapshot snap;
	if (vm_snapshot_read(ctx->spec, &snap) < 0)
		return cli_error(EXIT_RUNTIME, "%s", vm_error());
	/* symbols from the files on disk; no memory to read */
	vm_symbolizer *sym = vm_symbolizer_new(snap.map, NULL, ctx->sym_flags);
	o.note = "a snapshot: the map as it was saved, with no memory to read";
	int rc = tui_run(NULL, &snap.map, &sym, &o);
	vm_symbolizer_free(sym);
	vm_snapshot_free(&snap);
	return rc < 0 ? cli_error(EXIT_USAGE, "tui: %s", vm_error()) : 0;
}

static const cli_option tui_opts[] = {
	CLI_OPT_U64("refresh", "N", tui_args, refresh, 1, 3600,
		    "refresh a live process every N seconds, showing what changed"),
	CLI_OPT_COLOR,
	CLI_OPT_FLAG("no-color", 0, tui_args, no_color, "no colours (as --color never)"),
};

const cli_command cli_cmd_tui = {
	.name = "tui",
	.summary = "browse the map in a terminal",
	.usage = "[OPTIONS] TARGET\n[OPTIONS] SNAPSHOT\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "The map to browse in a terminal: the summary by usage on top (Enter on a\n"
		 "usage shows only its allocations), the allocation tree (expand, collapse,\n"
		 "sort by any column, find with '/', free space with 'a'), the details of\n"
		 "the selected region (contents, page statistics, module, symbol source),\n"
		 "and a strip picturing the whole address space with the selection marked.\n"
		 "Enter on a region opens a memory view; 's' searches memory, 'd' dumps\n"
		 "a region to a file, 'w' says what an address is; for a live process 'r'\n"
		 "maps it again and marks what changed (regions added, removed, resized,\n"
		 "re-protected; pages written). F1 or '?' lists the keys. A SNAPSHOT file\n"
		 "(vmatlas snapshot) shows the map it holds, with no memory to read.\n",
	.notes = "A live process is stopped only while each thread's registers are read,\n"
		 "one thread at a time, and never left stopped; the terminal is restored\n"
		 "on every way out (q, Ctrl-C, SIGTERM).\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	CLI_OPTS(tui_opts),
	CLI_ARGS(tui_args),
	.check = tui_check,
	.run = tui_cmd_run,
};
