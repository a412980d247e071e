/* vmatlas map: the annotated memory map. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/util.h"
#include "map_render.h"

static const char map_help[] =
	"usage: vmatlas map [OPTIONS] TARGET\n"
	"       vmatlas map [OPTIONS] -- PROGRAM [ARGS...]\n"
	"\n"
	"The annotated memory map: allocations, the regions they hold, and what\n"
	"lies inside them (image sections, thread stacks and guards, thread\n"
	"pointers, heaps, system data), with a summary by usage on top.\n"
	"\n"
	"TARGET is a PID or 'self'. After '--', vmatlas starts PROGRAM under\n"
	"ptrace and maps it at its entry point, once the dynamic loader has\n"
	"mapped every library but before any of its own code has run; with\n"
	"--run MS it lets the program run MS milliseconds first. The program is\n"
	"killed when vmatlas exits, unless --keep is given (it then runs on).\n"
	"\n"
	"Options:\n"
	"  --json            machine-readable output (see docs/json.md)\n"
	"  --all             show free gaps of the address space too\n"
	"  --flat            one line per region, no allocation tree\n"
	"  --usage LIST      only allocations of these usages, comma-separated:\n"
	"                    image,mapped,shareable,heap,stack,private,system,reserved,free\n"
	"  -c, --contents    list every item inside each region on its own line\n"
	"  --freeze          stop all threads while reading (always resumed)\n"
	"  --pages [ADDR]    per-page detail (pagemap, kpagecount) for the region\n"
	"                    holding ADDR, or for every committed region\n"
	"  --no-stats        skip per-region memory statistics (faster)\n"
	"  --run MS          with '--': let the program run MS ms before mapping\n"
	"  --keep            with '--': leave the program running on exit\n"
	"  --color WHEN      auto (default), always, never\n"
	"\n"
	"Without --freeze the target is stopped only while each thread's\n"
	"registers are read, one thread at a time, and never left stopped.\n";

enum { OPT_JSON = 256, OPT_ALL, OPT_FLAT, OPT_USAGE, OPT_FREEZE, OPT_PAGES, OPT_NOSTATS,
       OPT_RUN, OPT_KEEP, OPT_COLOR };

static const struct option map_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "flat", no_argument, NULL, OPT_FLAT },
	{ "usage", required_argument, NULL, OPT_USAGE },
	{ "contents", no_argument, NULL, 'c' },
	{ "freeze", no_argument, NULL, OPT_FREEZE },
	{ "pages", optional_argument, NULL, OPT_PAGES },
	{ "no-stats", no_argument, NULL, OPT_NOSTATS },
	{ "run", required_argument, NULL, OPT_RUN },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static bool parse_usage_list(const char *s, unsigned *mask)
{
	char *copy = strdup(s), *save = NULL;
	bool ok = copy != NULL;
	*mask = 0;
	for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
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
		if (!strcmp(a, "--usage") || !strcmp(a, "--run") || !strcmp(a, "--color")) {
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

static int map_main(int argc, char **argv, char **prog);

int cmd_map(int argc, char **argv)
{
	char **prog;
	argc = cli_split_dashdash(argc, argv, &prog);
	char *glued = NULL;
	glue_pages_arg(argc, argv, prog != NULL, &glued);
	if (glued)
		argc--;
	int rc = map_main(argc, argv, prog);
	free(glued);
	return rc;
}

static int map_main(int argc, char **argv, char **prog)
{
	map_render_options ro = { .usage_mask = ~0u };
	vm_map_options mo = { 0 };
	cli_target_args ta = { 0 };
	cli_color_mode color = COLOR_AUTO;
	bool json = false, pages_flag = false;
	const char *pages_arg = NULL;

	ta.prog = prog;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "ch", map_opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
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
		case OPT_FREEZE: mo.freeze = true; break;
		case OPT_PAGES:
			pages_flag = true;
			pages_arg = optarg;
			break;
		case OPT_NOSTATS: mo.no_stats = true; break;
		case OPT_RUN: {
			uint64_t v;
			if (!parse_u64(optarg, &v) || v > 3600000)
				return cli_usage_error("map", "bad --run '%s' (milliseconds)", optarg);
			ta.run_ms = (unsigned)v;
			break;
		}
		case OPT_KEEP: ta.keep = true; break;
		case OPT_COLOR:
			if (!cli_parse_color(optarg, &color))
				return cli_usage_error("map", "bad --color '%s'", optarg);
			break;
		case 'h':
			fputs(map_help, stdout);
			return 0;
		default:
			return cli_usage_error("map", "unknown option '%s'", argv[optind - 1]);
		}
	}
	int npos = argc - optind;
	const char *spec = NULL;
	int want = ta.prog ? 0 : 1;
	if (npos != want) {
		if (ta.prog)
			return cli_usage_error("map", "a PID and '-- PROGRAM' cannot both be given");
		return cli_usage_error("map", npos ? "one TARGET please" : "no TARGET given");
	}
	if (!ta.prog)
		spec = argv[optind];
	else if (!ta.prog[0])
		return cli_usage_error("map", "no PROGRAM after '--'");
	if ((ta.run_ms || ta.keep) && !ta.prog)
		return cli_usage_error("map", "--run and --keep go with '-- PROGRAM'");
	if (pages_flag) {
		mo.pages = true;
		if (pages_arg) {
			if (!parse_u64(pages_arg, &mo.pages_addr))
				return cli_usage_error("map", "bad --pages address '%s'", pages_arg);
		} else {
			mo.pages_all = true;
		}
	}

	vm_target *t = cli_open_target(spec, &ta);
	if (!t)
		return cli_error(EXIT_RUNTIME, "%s", vm_error());
	vm_map *m = vm_map_build(t, &mo);
	if (!m) {
		int rc = cli_error(EXIT_RUNTIME, "%s", vm_error());
		vm_target_close(t);
		return rc;
	}
	if (pages_flag && pages_arg && !vm_map_region_at(m, mo.pages_addr)) {
		vm_map_free(m);
		vm_target_close(t);
		return cli_error(EXIT_RUNTIME, "--pages: 0x%llx is outside the address space",
				 (unsigned long long)mo.pages_addr);
	}
	ro.color = !json && cli_use_color(color, stdout);
	ro.pages = pages_flag;
	if (json)
		map_render_json(m, &ro, stdout);
	else
		map_render_text(m, &ro, stdout);
	fflush(stdout);
	int rc = 0;
	for (size_t i = 0; i < m->nwarnings; i++)
		fprintf(stderr, "vmatlas: warning: %s\n", m->warnings[i]);
	if (m->incomplete)
		rc = cli_error(EXIT_RUNTIME, "the map is incomplete (see the warnings above)");
	vm_map_free(m);
	vm_target_close(t);
	return rc;
}
