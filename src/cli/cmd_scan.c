/* vmatlas scan: narrowing a value down to its address, round by round
 * (scan start, scan next, scan list). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/expr.h"
#include "vmatlas/scan.h"

static const char scan_help[] =
	"usage: vmatlas scan start [OPTIONS] TARGET --TYPE VALUE -o FILE\n"
	"       vmatlas scan next [OPTIONS] FILE TEST\n"
	"       vmatlas scan list [OPTIONS] FILE\n"
	"\n"
	"Finds the address of a value that the program changes, as scanmem does:\n"
	"'start' keeps every place that holds VALUE (as TYPE: u8 u16 u32 u64 i8\n"
	"i16 i32 i64 f32 f64) in FILE; after the program has changed it, 'next'\n"
	"keeps only the candidates that pass TEST, and so on until few are left.\n"
	"'list' shows the candidates with their values now. FILE is rewritten\n"
	"whole each round (mode 0600).\n"
	"\n"
	"TEST is one of:\n"
	"  --changed, --unchanged, --increased, --decreased   since the last round\n"
	"  --eq V, --ne V, --gt V, --lt V                      against V\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE  start: where to keep the candidates; next: write the\n"
	"                     narrowed set there instead of back to FILE\n"
	"  --from ADDR, --to ADDR   start: only this range (expressions)\n"
	"  --include-ro       start: read-only memory too\n"
	"  --exec             start: executable memory too\n"
	"  --unaligned        start: at any byte, not only at multiples of the size\n"
	"  --show N           list at most N candidates (default 20; 0: all)\n"
	"  --json             machine-readable output (see docs/json.md)\n"
	"  --add-module, --freeze, --run MS, --keep: as for 'vmatlas map' (start)\n";

enum { OPT_FROM = OPT_COMMAND, OPT_TO, OPT_RO, OPT_EXEC, OPT_UNALIGNED, OPT_SHOW, OPT_TYPE,
       OPT_TEST, OPT_TEST_V };

static const char *const test_names[] = { "changed", "unchanged", "increased", "decreased",
					  "eq", "ne", "gt", "lt" };

static const struct option opts[] = {
	CLI_COMMON_OPTIONS,
	{ "output", required_argument, NULL, 'o' },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "include-ro", no_argument, NULL, OPT_RO },
	{ "exec", no_argument, NULL, OPT_EXEC },
	{ "unaligned", no_argument, NULL, OPT_UNALIGNED },
	{ "show", required_argument, NULL, OPT_SHOW },
	{ "u8", required_argument, NULL, OPT_TYPE },
	{ "u16", required_argument, NULL, OPT_TYPE },
	{ "u32", required_argument, NULL, OPT_TYPE },
	{ "u64", required_argument, NULL, OPT_TYPE },
	{ "i8", required_argument, NULL, OPT_TYPE },
	{ "i16", required_argument, NULL, OPT_TYPE },
	{ "i32", required_argument, NULL, OPT_TYPE },
	{ "i64", required_argument, NULL, OPT_TYPE },
	{ "f32", required_argument, NULL, OPT_TYPE },
	{ "f64", required_argument, NULL, OPT_TYPE },
	{ "changed", no_argument, NULL, OPT_TEST },
	{ "unchanged", no_argument, NULL, OPT_TEST },
	{ "increased", no_argument, NULL, OPT_TEST },
	{ "decreased", no_argument, NULL, OPT_TEST },
	{ "eq", required_argument, NULL, OPT_TEST_V },
	{ "ne", required_argument, NULL, OPT_TEST_V },
	{ "gt", required_argument, NULL, OPT_TEST_V },
	{ "lt", required_argument, NULL, OPT_TEST_V },
	{ NULL, 0, NULL, 0 },
};

typedef struct scan_args {
	const char *mode, *out, *from, *to, *type, *value, *test_v;
	int test; /* index in test_names, -1 none */
	bool unaligned;
	unsigned flags;
	uint64_t show;
} scan_args;

/* the candidates, named by region and symbol when a map can be had */
static void show(const vm_scan *s, const uint64_t *was, const uint64_t *now, const bool *ok, const scan_args *a,
		 vm_target *t, bool as_json, size_t before, size_t unreadable, const char *file, const char *was_label)
{
	vm_map_options mo = { .no_stats = true };
	size_t n = a->show && a->show < s->n ? (size_t)a->show : s->n;
	vm_map *m = n && t ? vm_map_build(t, &mo) : NULL;
	vm_symbolizer *sy = m ? vm_symbolizer_new(m, t, 0) : NULL;
	char v[64], w[64], sym[512];
	json_writer *jw = NULL;
	if (as_json) {
		jw = xmalloc(sizeof *jw);
		json_init(jw, stdout, true);
		json_obj_begin(jw);
		json_kstr(jw, "file", file);
		json_kstr(jw, "type", vm_scan_type_name(s->type));
		json_ki64(jw, "pid", s->pid);
		json_ku64(jw, "round", s->round);
		json_ku64(jw, "before", before);
		json_ku64(jw, "candidates", s->n);
		json_ku64(jw, "unreadable", unreadable);
		json_key(jw, "shown");
		json_arr_begin(jw);
	} else if (a->test >= 0) {
		printf("round %u: %zu of %zu candidates left (%s --%s%s%s)\n", s->round, s->n, before,
		       vm_scan_type_name(s->type), test_names[a->test], a->test_v ? " " : "",
		       a->test_v ? a->test_v : "");
		if (unreadable)
			printf("  %zu could not be read any more (unmapped?) and were dropped\n", unreadable);
	} else {
		printf("round %u: %zu candidates (%s) in process %lld\n", s->round, s->n,
		       vm_scan_type_name(s->type), (long long)s->pid);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t addr = s->addr[i];
		const vm_region *r = m ? vm_map_region_at(m, addr) : NULL;
		vm_symbol_info si = { 0 };
		sym[0] = 0;
		if (sy) {
			vm_symbolize(sy, addr, &si);
			vm_symbol_format(&si, addr, sym, sizeof sym);
		}
		bool readable = !ok || ok[i];
		uint64_t value = now ? now[i] : s->value[i];
		vm_scan_format(s->type, value, v, sizeof v);
		if (was)
			vm_scan_format(s->type, was[i], w, sizeof w);
		if (jw) {
			json_obj_begin(jw);
			json_kaddr(jw, "addr", addr);
			if (readable)
				json_kstr(jw, "value", v);
			else {
				json_key(jw, "value");
				json_null(jw);
			}
			if (was)
				json_kstr(jw, "previous", w);
			if (r) {
				json_kaddr(jw, "region", r->base);
				json_kstr(jw, "usage", vm_usage_name(r->usage));
			}
			if (si.module)
				json_kstr(jw, "symbol", sym);
			json_obj_end(jw);
		} else {
			printf("  %016llx  %-20s", (unsigned long long)addr, readable ? v : "(unreadable)");
			if (was)
				printf(" %s %-20s", was_label, w);
			printf(" %-9s %s\n", r ? vm_usage_name(r->usage) : "", si.module ? sym : "");
		}
	}
	if (jw) {
		json_arr_end(jw);
		json_obj_end(jw);
		json_done(jw);
		free(jw);
	} else if (n < s->n) {
		printf("  ... and %zu more (--show 0 lists them all)\n", s->n - n);
	}
	vm_symbolizer_free(sy);
	vm_map_free(m);
}

static int parse_args(int argc, char **argv, cli_common *cc, scan_args *a)
{
	int c, idx;
	while ((c = getopt_long(argc, argv, "ho:", opts, &idx)) != -1) {
		int r = cli_common_option(cc, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case 'o': a->out = optarg; break;
		case OPT_FROM: a->from = optarg; break;
		case OPT_TO: a->to = optarg; break;
		case OPT_RO: a->flags |= VM_SEARCH_RO; break;
		case OPT_EXEC: a->flags |= VM_SEARCH_EXEC; break;
		case OPT_UNALIGNED: a->unaligned = true; break;
		case OPT_SHOW:
			if (!parse_u64(optarg, &a->show))
				return cli_usage_error("scan", "bad --show '%s'", optarg);
			break;
		case OPT_TYPE:
			if (a->type)
				return cli_usage_error("scan", "one --TYPE VALUE please");
			a->type = opts[idx].name;
			a->value = optarg;
			break;
		case OPT_TEST:
		case OPT_TEST_V:
			if (a->test >= 0)
				return cli_usage_error("scan", "one TEST please");
			for (int k = 0; k < 8; k++)
				if (!strcmp(test_names[k], opts[idx].name))
					a->test = k;
			a->test_v = c == OPT_TEST_V ? optarg : NULL;
			break;
		case 'h':
			fputs(scan_help, stdout);
			return -1;
		default:
			return cli_usage_error("scan", "unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

static int scan_start(cli_common *cc, scan_args *a, int argc, char **argv)
{
	if (!a->type)
		return cli_usage_error("scan", "start: no --TYPE VALUE given (--u32 100, --f64 1.5 ...)");
	if (!a->out)
		return cli_usage_error("scan", "start: no -o FILE given");
	if (a->test >= 0)
		return cli_usage_error("scan", "start takes a value, not a TEST");
	vm_scan_type type = (vm_scan_type)vm_scan_type_by_name(a->type);
	uint64_t value;
	if (vm_scan_parse(type, a->value, &value) < 0)
		return cli_usage_error("scan", "%s", vm_error());
	int rc = cli_common_target(cc, argc, argv);
	if (rc)
		return rc;
	if (optind < argc)
		return cli_usage_error("scan", "unexpected '%s'", argv[optind]);
	vm_map_options mo = { .no_stats = true };
	vm_target *t;
	vm_map *m;
	if ((rc = cli_common_map(cc, &mo, &t, &m)))
		return rc;
	vm_symbolizer *sy = vm_symbolizer_new(m, t, 0);
	vm_expr_ctx ec = { m, t, sy };
	vm_search_opts so = { .flags = a->flags };
	vm_scan s;
	if ((a->from && vm_expr_eval(&ec, a->from, &so.from) < 0) || (a->to && vm_expr_eval(&ec, a->to, &so.to) < 0))
		rc = cli_error(EXIT_USAGE, "scan: %s", vm_error());
	else if (vm_scan_start(m, t, type, value, a->unaligned, &so, &s) < 0)
		rc = cli_error(EXIT_RUNTIME, "scan: %s", vm_error());
	else if (vm_scan_write(&s, a->out) < 0)
		rc = cli_error(EXIT_RUNTIME, "scan: %s", vm_error()), vm_scan_free(&s);
	if (!rc) {
		show(&s, NULL, NULL, NULL, a, t, cc->json, s.n, 0, a->out, NULL);
		vm_scan_free(&s);
	}
	vm_symbolizer_free(sy);
	vm_map_free(m);
	vm_target_close(t);
	return rc;
}

/* the process a scan file was made of, if it is still that process */
static vm_target *reopen(const vm_scan *s, int *rc)
{
	char spec[32];
	snprintf(spec, sizeof spec, "%lld", (long long)s->pid);
	vm_target *t = vm_target_open(spec);
	vm_target_info in;
	if (!t) {
		*rc = cli_error(EXIT_RUNTIME, "scan: %s", vm_error());
		return NULL;
	}
	if (vm_target_info_get(t, &in) < 0 || (s->start_time && in.start_time && in.start_time != s->start_time)) {
		vm_target_close(t);
		*rc = cli_error(EXIT_RUNTIME, "scan: process %lld is not the one scanned: it exited and its pid was reused",
				(long long)s->pid);
		return NULL;
	}
	return t;
}

static int scan_next_or_list(cli_common *cc, scan_args *a, bool next, int argc, char **argv)
{
	if (optind >= argc)
		return cli_usage_error("scan", "%s: no FILE given", next ? "next" : "list");
	const char *file = argv[optind++];
	if (optind < argc)
		return cli_usage_error("scan", "unexpected '%s'", argv[optind]);
	if (next && a->test < 0)
		return cli_usage_error("scan", "next: no TEST given (--changed, --decreased, --eq V ...)");
	if (!next && (a->test >= 0 || a->out))
		return cli_usage_error("scan", "list takes neither a TEST nor -o");
	if (a->type || a->from || a->to || a->flags || a->unaligned || cc->ta.prog || cc->freeze)
		return cli_usage_error("scan", "%s: those options are for 'scan start'", next ? "next" : "list");
	vm_scan s;
	if (vm_scan_read_file(file, &s) < 0)
		return cli_error(EXIT_RUNTIME, "scan: %s", vm_error());
	uint64_t operand = 0;
	if (a->test_v && vm_scan_parse(s.type, a->test_v, &operand) < 0) {
		vm_scan_free(&s);
		return cli_usage_error("scan", "%s", vm_error());
	}
	int rc = 0;
	vm_target *t = reopen(&s, &rc);
	if (!t) {
		vm_scan_free(&s);
		return rc;
	}
	if (next) {
		size_t before = s.n, unreadable;
		uint64_t *was = xcalloc(s.n ? s.n : 1, sizeof *was);
		vm_scan_next(&s, t, (vm_scan_test)a->test, operand, &unreadable, was);
		const char *out = a->out ? a->out : file;
		if (vm_scan_write(&s, out) < 0)
			rc = cli_error(EXIT_RUNTIME, "scan: %s", vm_error());
		else
			show(&s, was, NULL, NULL, a, t, cc->json, before, unreadable, out, "was");
		free(was);
	} else {
		uint64_t *now = xcalloc(s.n ? s.n : 1, sizeof *now);
		bool *ok = xcalloc(s.n ? s.n : 1, sizeof *ok);
		vm_scan_read(&s, t, now, ok);
		show(&s, s.value, now, ok, a, t, cc->json, s.n, 0, file, "kept");
		free(now);
		free(ok);
	}
	vm_scan_free(&s);
	vm_target_close(t);
	return rc;
}

int cmd_scan(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "start") && strcmp(argv[1], "next") && strcmp(argv[1], "list"))) {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
			return fputs(scan_help, stdout), 0;
		return cli_usage_error("scan", "start, next or list please");
	}
	const char *mode = argv[1];
	cli_common cc;
	scan_args a = { .mode = mode, .test = -1, .show = 20 };
	argc = cli_common_begin(&cc, "scan", argc - 1, argv + 1);
	int rc = parse_args(argc, argv + 1, &cc, &a);
	if (rc)
		return cli_common_end(&cc), rc < 0 ? 0 : rc;
	if (!strcmp(mode, "start"))
		rc = scan_start(&cc, &a, argc, argv + 1);
	else
		rc = scan_next_or_list(&cc, &a, !strcmp(mode, "next"), argc, argv + 1);
	cli_common_end(&cc);
	return rc;
}
