/* vmatlas map: the annotated memory map. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/util.h"
#include "map_render.h"
#include "vmatlas/heap.h"

typedef struct map_args {
	map_render_options ro;
	bool pages;            /* --pages given */
	const char *pages_arg; /* its ADDR, if any */
	bool no_stats;
} map_args;

static void map_init(void *p)
{
	((map_args *)p)->ro.usage_mask = ~0u;
}

static bool parse_usage_list(const char *s, unsigned *mask)
{
	char *copy = xstrdup(s), *save = NULL;
	bool ok = true;
	*mask = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		vm_usage u;
		if (!vm_usage_parse(tok, &u)) {
			ok = false;
			break;
		}
		*mask |= 1u << u;
	}
	free(copy);
	return ok && *mask;
}

static int usage_opt(cli_ctx *ctx, const cli_option *o, const char *v)
{
	map_args *a = ctx->args;
	(void)o;
	if (!parse_usage_list(v, &a->ro.usage_mask)) {
		char valid[256] = "";
		for (int u = 0; u < VM_USAGE_COUNT; u++) {
			size_t l = strlen(valid);
			snprintf(valid + l, sizeof valid - l, "%s%s", u ? ", " : "", vm_usage_name((vm_usage)u));
		}
		return cli_usage_error("map", "bad --usage list '%s' (usages: %s)", v, valid);
	}
	a->ro.usage_filtered = true;
	if (a->ro.usage_mask & (1u << VM_USAGE_FREE))
		a->ro.all = true;
	return 0;
}

static int pages_opt(cli_ctx *ctx, const cli_option *o, const char *v)
{
	map_args *a = ctx->args;
	(void)o;
	a->pages = true;
	a->pages_arg = v;
	return 0;
}

static int map_check(cli_ctx *ctx)
{
	map_args *a = ctx->args;
	ctx->mo.no_stats = a->no_stats;
	/* the arenas and their chunk counts, on the heap regions */
	ctx->mo.heap = VM_MAP_HEAP | VM_MAP_HEAP_PLACE;
	if (a->pages) {
		ctx->mo.pages = true;
		if (a->pages_arg) {
			if (!cli_parse_addr(a->pages_arg, &ctx->mo.pages_addr))
				return cli_usage_error("map", "bad --pages address '%s'", a->pages_arg);
		} else {
			ctx->mo.pages_all = true;
		}
	}
	return 0;
}

static int map_run(cli_ctx *ctx)
{
	map_args *a = ctx->args;
	map_render_options ro = a->ro;
	vm_map *m = ctx->m;
	const vm_region *pr = a->pages_arg ? vm_map_region_at(m, ctx->mo.pages_addr) : NULL;
	if (a->pages_arg && !pr)
		return cli_error(EXIT_RUNTIME, "--pages: 0x%llx is outside the address space",
				 (unsigned long long)ctx->mo.pages_addr);
	if (pr && pr->state == VM_STATE_FREE)
		return cli_error(EXIT_RUNTIME, "--pages: 0x%llx is in no region (free address space)",
				 (unsigned long long)ctx->mo.pages_addr);
	ro.color = !ctx->json && cli_use_color(ctx->color, stdout);
	ro.pages = a->pages;
	vm_symbolizer *sym = ctx->sym;
	ro.sym = sym;
	if (ctx->json)
		map_render_json(m, &ro, stdout);
	else
		map_render_text(m, &ro, stdout);
	return 0;
}

static const cli_option map_opts[] = {
	CLI_OPT_FLAG("all", 0, map_args, ro.all, "show free gaps of the address space too"),
	CLI_OPT_FLAG("flat", 0, map_args, ro.flat, "one line per region, no allocation tree"),
	{ .name = "usage", .value = "LIST", .kind = CLI_CALL, .call = usage_opt,
	  .choices = "image mapped shareable heap stack private system reserved free",
	  .help = "only allocations of these usages, comma-separated:\n"
		  "image, mapped, shareable, heap, stack, private,\n"
		  "system, reserved, free" },
	CLI_OPT_FLAG("contents", 'c', map_args, ro.contents, "list every item inside each region on its own line"),
	{ .name = "pages", .value = "ADDR", .kind = CLI_CALL, .flags = CLI_F_OPTIONAL, .call = pages_opt,
	  .help = "per-page detail for the region holding ADDR, or for every\ncommitted region (pagemap, kpagecount; Windows: working set)" },
	CLI_OPT_FLAG("no-stats", 0, map_args, no_stats, "skip per-region memory statistics (faster)"),
	CLI_OPT_COLOR,
};

const cli_command cli_cmd_map = {
	.name = "map",
	.summary = "the annotated memory map of a process",
	.usage = "[OPTIONS] TARGET\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "The annotated memory map: allocations, the regions they hold, and what\n"
		 "lies inside them (image sections and directories, thread stacks and\n"
		 "guards, thread pointers, heaps, system data), with a summary by usage.\n"
		 "\n"
		 "After '--', vmatlas starts PROGRAM under ptrace and maps it at its entry\n"
		 "point, once the dynamic loader has mapped every library but before any\n"
		 "of its own code has run; with --run MS it lets the program run MS\n"
		 "milliseconds first. The program is killed when vmatlas exits, unless\n"
		 "--keep is given (it then runs on).\n",
	.notes = "Without --freeze the target is stopped only while each thread's\n"
		 "registers are read, one thread at a time, and never left stopped.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS | CLI_STRICT,
	CLI_OPTS(map_opts),
	CLI_ARGS(map_args),
	.init = map_init,
	.check = map_check,
	.run = map_run,
};
