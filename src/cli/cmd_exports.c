/* vmatlas exports: every exported or global symbol of every module with
 * its live address, searchable by name or by address. */
#include <fnmatch.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"

static const char exports_help[] =
	"usage: vmatlas exports [OPTIONS] TARGET\n"
	"\n"
	"Every exported (dynamic) or global symbol of every module, with its live\n"
	"address, size and kind.\n"
	"\n"
	"Options:\n"
	"  --find NAME|ADDR  only symbols whose name contains NAME (or matches it\n"
	"                    as a glob: 'mem*cpy'), or the symbol at or nearest\n"
	"                    below ADDR (0x... or decimal)\n"
	"  --module NAME     only this module\n"
	"  --exported        only symbols in the dynamic symbol tables\n"
	CLI_COMMON_HELP;

enum { OPT_FIND = OPT_COMMAND, OPT_MODULE, OPT_EXPORTED };

static const struct option opts[] = {
	CLI_COMMON_OPTIONS,
	{ "find", required_argument, NULL, OPT_FIND },
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "exported", no_argument, NULL, OPT_EXPORTED },
	{ NULL, 0, NULL, 0 },
};

static bool name_matches(const char *pattern, bool glob, const char *name)
{
	if (!pattern)
		return true;
	return glob ? fnmatch(pattern, name, 0) == 0 : strstr(name, pattern) != NULL;
}

static void row_json(json_writer *w, const vm_export *x)
{
	json_obj_begin(w);
	json_kstr(w, "module", x->module->name);
	json_kstr(w, "name", x->name);
	json_kaddr(w, "addr", x->addr);
	json_ku64(w, "size", x->size);
	json_kstr(w, "kind", x->kind);
	json_kstr(w, "bind", x->bind);
	json_kbool(w, "exported", x->exported);
	json_obj_end(w);
}

static void row_text(const vm_export *x, int aw)
{
	char sz[16];
	printf("%0*llx %9s  %-6s %-6s %c %s!%s\n", aw, (unsigned long long)x->addr,
	       fmt_size(x->size, sz, sizeof sz), x->kind, x->bind, x->exported ? 'E' : ' ',
	       x->module->name, x->name);
}

int cmd_exports(int argc, char **argv)
{
	cli_common cc;
	const char *find = NULL, *module = NULL;
	bool exported_only = false;
	argc = cli_common_begin(&cc, "exports", argc, argv);
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = cli_common_option(&cc, c, optarg);
		if (r < 0)
			return cli_common_end(&cc), EXIT_USAGE;
		if (r > 0)
			continue;
		if (c == OPT_FIND)
			find = optarg;
		else if (c == OPT_MODULE)
			module = optarg;
		else if (c == OPT_EXPORTED)
			exported_only = true;
		else if (c == 'h')
			return fputs(exports_help, stdout), cli_common_end(&cc), 0;
		else
			return cli_common_end(&cc),
			       cli_usage_error("exports", "unknown option '%s'", argv[optind - 1]);
	}
	if ((rc = cli_common_target(&cc, argc, argv)) || optind < argc)
		return cli_common_end(&cc), rc ? rc : cli_usage_error("exports", "one TARGET please");
	uint64_t find_addr = 0;
	bool by_addr = find && cli_parse_addr(find, &find_addr);
	bool glob = find && strpbrk(find, "*?[") != NULL;

	vm_map_options mo = { .no_stats = true };
	vm_target *t;
	vm_map *m;
	if ((rc = cli_common_map(&cc, &mo, &t, &m)))
		return cli_common_end(&cc), rc;
	if (module && !vm_map_module_by_name(m, module)) {
		rc = cli_error(EXIT_RUNTIME, "exports: no module named '%s'", module);
		goto out;
	}
	vm_symbolizer *s = vm_symbolizer_new(m, t, 0);
	const vm_export *xs;
	size_t n = vm_exports(s, &xs);
	/* by address: the export at or nearest below it, in its module */
	const vm_export *nearest = NULL;
	if (by_addr) {
		const vm_module *mod = vm_map_module_at(m, find_addr);
		for (size_t i = 0; i < n; i++)
			if (xs[i].module == mod && xs[i].addr <= find_addr &&
			    (!nearest || xs[i].addr > nearest->addr ||
			     (xs[i].addr == nearest->addr && xs[i].exported && !nearest->exported)))
				nearest = &xs[i];
	}
	int aw = m->info.bits == 32 ? 8 : 16;
	json_writer *w = NULL;
	if (cc.json) {
		w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
		json_arr_begin(w);
	} else {
		printf("%-*s %9s  %-6s %-6s E Module!Name\n", aw, "Address", "Size", "Kind", "Bind");
	}
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		const vm_export *x = &xs[i];
		if (by_addr ? x != nearest : !name_matches(find, glob, x->name))
			continue;
		if ((module && strcmp(x->module->name, module) && !(x->module->path &&
		     strcmp(x->module->path, module) == 0)) || (exported_only && !x->exported))
			continue;
		cc.json ? row_json(w, x) : row_text(x, aw);
		shown++;
	}
	if (w) {
		json_arr_end(w);
		json_done(w);
		free(w);
	} else if (by_addr && nearest && find_addr != nearest->addr) {
		printf("(0x%llx is %s!%s+0x%llx)\n", (unsigned long long)find_addr, nearest->module->name,
		       nearest->name, (unsigned long long)(find_addr - nearest->addr));
	}
	fflush(stdout);
	if (find && !shown)
		fprintf(stderr, "vmatlas: exports: nothing matches '%s'\n", find);
	cli_print_warnings(m);
	vm_symbolizer_free(s);
out:
	vm_map_free(m);
	vm_target_close(t);
	cli_common_end(&cc);
	return rc;
}
