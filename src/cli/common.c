/* Helpers every subcommand uses: errors, targets, colour. */
#include "cli.h"

#include "base/json.h"
#include "base/util.h"
#include "vmatlas/search.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_error(int status, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("vmatlas: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vmatlas %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vmatlas %s --help')\n", cmd);
	return EXIT_USAGE;
}

int cli_split_dashdash(int argc, char **argv, char ***prog)
{
	*prog = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			*prog = argv + i + 1;
			argv[i] = NULL;
			return i;
		}
	}
	return argc;
}

vm_target *cli_open_target(const char *spec, const cli_target_args *ta)
{
	if (ta->prog) {
		vm_spawn_options so = { .run_ms = ta->run_ms, .keep = ta->keep, .quiet = false };
		return vm_target_spawn(ta->prog, &so);
	}
	return vm_target_open(spec);
}

bool cli_parse_color(const char *s, cli_color_mode *out)
{
	if (!strcmp(s, "auto"))
		*out = COLOR_AUTO;
	else if (!strcmp(s, "always"))
		*out = COLOR_ALWAYS;
	else if (!strcmp(s, "never"))
		*out = COLOR_NEVER;
	else
		return false;
	return true;
}

bool cli_use_color(cli_color_mode mode, FILE *f)
{
	if (mode != COLOR_AUTO)
		return mode == COLOR_ALWAYS;
	const char *term = getenv("TERM");
	return isatty(fileno(f)) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

bool cli_parse_add_module(const char *arg, cli_manual *out)
{
	const char *eq = strrchr(arg, '=');
	if (!eq || eq == arg)
		return false;
	char *rest = xstrdup(eq + 1), *comma = strchr(rest, ',');
	uint64_t base, size = 0;
	bool ok;
	if (comma)
		*comma = 0;
	ok = parse_u64(rest, &base) && (!comma || (parse_u64(comma + 1, &size) && size > 0));
	free(rest);
	if (!ok)
		return false;
	vm_manual_module *m = ARRAY_PUSH(out->v, out->n, out->cap);
	m->name_or_path = xstrndup(arg, (size_t)(eq - arg));
	m->base = base;
	m->size = size;
	return true;
}

void cli_manual_free(cli_manual *m)
{
	for (size_t i = 0; i < m->n; i++)
		free((char *)m->v[i].name_or_path);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

bool cli_parse_addr(const char *s, uint64_t *out)
{
	return parse_u64(s, out);
}

vm_map *cli_build_map(const char *spec, const cli_target_args *ta, const vm_map_options *mo,
		      vm_target **t, int *status)
{
	*t = cli_open_target(spec, ta);
	if (!*t) {
		*status = cli_error(EXIT_RUNTIME, "%s", vm_error());
		return NULL;
	}
	vm_map *m = vm_map_build(*t, mo);
	if (!m) {
		*status = cli_error(EXIT_RUNTIME, "%s", vm_error());
		vm_target_close(*t);
		*t = NULL;
		return NULL;
	}
	*status = 0;
	return m;
}

void cli_print_warnings(const vm_map *m)
{
	for (size_t i = 0; i < m->nwarnings; i++)
		fprintf(stderr, "vmatlas: warning: %s\n", m->warnings[i]);
}

int cli_common_begin(cli_common *cc, const char *cmd, int argc, char **argv)
{
	memset(cc, 0, sizeof *cc);
	cc->cmd = cmd;
	cc->color = COLOR_AUTO;
	argc = cli_split_dashdash(argc, argv, &cc->ta.prog);
	optind = 1;
	opterr = 0;
	return argc;
}

int cli_common_option(cli_common *cc, int c, const char *arg)
{
	uint64_t v;
	switch (c) {
	case OPT_JSON:
		cc->json = true;
		return 1;
	case OPT_FREEZE:
		cc->freeze = true;
		return 1;
	case OPT_ADD_MODULE:
		if (!cli_parse_add_module(arg, &cc->manual)) {
			cli_usage_error(cc->cmd, "bad --add-module '%s' (NAME_OR_PATH=BASE[,SIZE])", arg);
			return -1;
		}
		return 1;
	case OPT_RUN:
		if (!parse_u64(arg, &v) || v > 3600000) {
			cli_usage_error(cc->cmd, "bad --run '%s' (milliseconds)", arg);
			return -1;
		}
		cc->ta.run_ms = (unsigned)v;
		return 1;
	case OPT_KEEP:
		cc->ta.keep = true;
		return 1;
	case OPT_SYSROOT:
	case OPT_SOLIB_PATH:
		if (c == OPT_SYSROOT)
			cc->sysroot = arg;
		else
			cc->solib_path = arg;
		vm_target_set_file_search(cc->sysroot, cc->solib_path);
		return 1;
	case OPT_COLOR:
		if (!cli_parse_color(arg, &cc->color)) {
			cli_usage_error(cc->cmd, "bad --color '%s'", arg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

int cli_common_target(cli_common *cc, int argc, char **argv)
{
	if (cc->ta.prog) {
		if (!cc->ta.prog[0])
			return cli_usage_error(cc->cmd, "no PROGRAM after '--'");
	} else {
		if (optind >= argc)
			return cli_usage_error(cc->cmd, "no TARGET given");
		cc->spec = argv[optind++];
	}
	if ((cc->ta.run_ms || cc->ta.keep) && !cc->ta.prog)
		return cli_usage_error(cc->cmd, "--run and --keep go with '-- PROGRAM'");
	return 0;
}

int cli_common_map(cli_common *cc, vm_map_options *mo, vm_target **t, vm_map **m)
{
	int status;
	mo->freeze = cc->freeze;
	mo->manual = cc->manual.v;
	mo->nmanual = cc->manual.n;
	*m = cli_build_map(cc->spec, &cc->ta, mo, t, &status);
	return *m ? 0 : status;
}

void cli_common_end(cli_common *cc)
{
	cli_manual_free(&cc->manual);
}

void cli_json_holes(json_writer *w, const vm_search_hole *h, size_t n)
{
	json_key(w, "holes");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(w);
		json_kaddr(w, "addr", h[i].addr);
		json_ku64(w, "size", h[i].size);
		json_obj_end(w);
	}
	json_arr_end(w);
}
