/* vmatlas map: the annotated memory map. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/util.h"
#include "map_render.h"
#include "vmatlas/heap.h"

static const char map_help[] =
	"usage: vmatlas map [OPTIONS] TARGET\n"
	"       vmatlas map [OPTIONS] -- PROGRAM [ARGS...]\n"
	"\n"
	"The annotated memory map: allocations, the regions they hold, and what\n"
	"lies inside them (image sections and directories, thread stacks and\n"
	"guards, thread pointers, heaps, system data), with a summary by usage.\n"
	"\n"
	"TARGET is a PID or 'self'. After '--', vmatlas starts PROGRAM under\n"
	"ptrace and maps it at its entry point, once the dynamic loader has\n"
	"mapped every library but before any of its own code has run; with\n"
	"--run MS it lets the program run MS milliseconds first. The program is\n"
	"killed when vmatlas exits, unless --keep is given (it then runs on).\n"
	"\n"
	"Options:\n"
	"  --all             show free gaps of the address space too\n"
	"  --flat            one line per region, no allocation tree\n"
	"  --usage LIST      only allocations of these usages, comma-separated:\n"
	"                    image,mapped,shareable,heap,stack,private,system,reserved,free\n"
	"  -c, --contents    list every item inside each region on its own line\n"
	"  --pages [ADDR]    per-page detail (pagemap, kpagecount) for the region\n"
	"                    holding ADDR, or for every committed region\n"
	"  --no-stats        skip per-region memory statistics (faster)\n"
	CLI_COMMON_HELP
	"\n"
	"Without --freeze the target is stopped only while each thread's\n"
	"registers are read, one thread at a time, and never left stopped.\n";

enum { OPT_ALL = OPT_COMMAND, OPT_FLAT, OPT_USAGE, OPT_PAGES, OPT_NOSTATS };

static const struct option map_opts[] = {
	CLI_COMMON_OPTIONS,
	{ "all", no_argument, NULL, OPT_ALL },
	{ "flat", no_argument, NULL, OPT_FLAT },
	{ "usage", required_argument, NULL, OPT_USAGE },
	{ "contents", no_argument, NULL, 'c' },
	{ "pages", optional_argument, NULL, OPT_PAGES },
	{ "no-stats", no_argument, NULL, OPT_NOSTATS },
	{ NULL, 0, NULL, 0 },
};

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

/* "--pages ADDR" with a space: getopt cannot tell ADDR from TARGET, so
 * when another positional is left for the target, glue them. */
static void glue_pages_arg(int argc, char **argv, bool have_prog, char **glued)
{
	int pos = 0, at = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--usage") || !strcmp(a, "--run") || !strcmp(a, "--color") ||
		    !strcmp(a, "--add-module")) {
			i++;
			continue;
		}
		if (!strcmp(a, "--pages") && i + 1 < argc && argv[i + 1][0] != '-')
			at = i;
		if (a[0] != '-')
			pos++;
	}
	if (at >= 0 && pos >= (have_prog ? 1 : 2)) {
		*glued = xasprintf("--pages=%s", argv[at + 1]);
		argv[at] = *glued;
		for (int i = at + 1; i + 1 < argc; i++)
			argv[i] = argv[i + 1];
		argv[argc - 1] = NULL;
	}
}

static int map_main(cli_common *cc, int argc, char **argv);

int cmd_map(int argc, char **argv)
{
	cli_common cc;
	argc = cli_common_begin(&cc, "map", argc, argv);
	char *glued = NULL;
	glue_pages_arg(argc, argv, cc.ta.prog != NULL, &glued);
	if (glued)
		argc--;
	int rc = map_main(&cc, argc, argv);
	free(glued);
	cli_common_end(&cc);
	return rc;
}

static int map_main(cli_common *cc, int argc, char **argv)
{
	map_render_options ro = { .usage_mask = ~0u };
	vm_map_options mo = { .heap = VM_MAP_HEAP | VM_MAP_HEAP_PLACE };
	bool pages_flag = false;
	const char *pages_arg = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "ch", map_opts, NULL)) != -1) {
		int r = cli_common_option(cc, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case OPT_ALL: ro.all = true; break;
		case OPT_FLAT: ro.flat = true; break;
		case OPT_USAGE:
			if (!parse_usage_list(optarg, &ro.usage_mask))
				return cli_usage_error("map", "bad --usage list '%s'", optarg);
			ro.usage_filtered = true;
			if (ro.usage_mask & (1u << VM_USAGE_FREE))
				ro.all = true;
			break;
		case 'c': ro.contents = true; break;
		case OPT_PAGES:
			pages_flag = true;
			pages_arg = optarg;
			break;
		case OPT_NOSTATS: mo.no_stats = true; break;
		case 'h':
			fputs(map_help, stdout);
			return 0;
		default:
			return cli_usage_error("map", "unknown option '%s'", argv[optind - 1]);
		}
	}
	int rc = cli_common_target(cc, argc, argv);
	if (rc)
		return rc;
	if (optind < argc)
		return cli_usage_error("map", cc->ta.prog ? "a PID and '-- PROGRAM' cannot both be given"
							   : "one TARGET please");
	if (pages_flag) {
		mo.pages = true;
		if (pages_arg) {
			if (!cli_parse_addr(pages_arg, &mo.pages_addr))
				return cli_usage_error("map", "bad --pages address '%s'", pages_arg);
		} else {
			mo.pages_all = true;
		}
	}

	vm_target *t;
	vm_map *m;
	if ((rc = cli_common_map(cc, &mo, &t, &m)))
		return rc;
	if (pages_flag && pages_arg && !vm_map_region_at(m, mo.pages_addr)) {
		vm_map_free(m);
		vm_target_close(t);
		return cli_error(EXIT_RUNTIME, "--pages: 0x%llx is outside the address space",
				 (unsigned long long)mo.pages_addr);
	}
	ro.color = !cc->json && cli_use_color(cc->color, stdout);
	ro.pages = pages_flag;
	vm_symbolizer *sym = vm_symbolizer_new(m, t, 0);
	ro.sym = sym;
	if (cc->json)
		map_render_json(m, &ro, stdout);
	else
		map_render_text(m, &ro, stdout);
	fflush(stdout);
	cli_print_warnings(m);
	if (m->incomplete)
		rc = cli_error(EXIT_RUNTIME, "the map is incomplete (see the warnings above)");
	vm_symbolizer_free(sym);
	vm_map_free(m);
	vm_target_close(t);
	return rc;
}
