/* vmatlas scan: narrowing a value down to its address, round by round
 * (scan start, scan next, scan list). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/expr.h"
#include "vmatlas/scan.h"

static const char *const test_names[] = { "changed", "unchanged", "increased", "decreased",
					  "eq", "ne", "gt", "lt" };

typedef struct scan_args {
	const char *out, *type, *value, *test_v;
	cli_expr from, to;
	int test; /* index in test_names, -1 none */
	bool unaligned, ro, exec;
	unsigned flags;
	uint64_t show;
} scan_args;

static void scan_init(void *p)
{
	scan_args *a = p;
	a->test = -1;
	a->show = 20;
}

/* --u32 VALUE ... */
static int type_opt(cli_ctx *ctx, const cli_option *o, const char *v)
{
	scan_args *a = ctx->args;
	if (a->type)
		return cli_usage_error("scan", "one --TYPE VALUE please");
	a->type = o->name;
	a->value = v;
	return 0;
}

/* --changed ... --eq V */
static int test_opt(cli_ctx *ctx, const cli_option *o, const char *v)
{
	scan_args *a = ctx->args;
	if (a->test >= 0)
		return cli_usage_error("scan", "one TEST please");
	for (int k = 0; k < 8; k++)
		if (!strcmp(test_names[k], o->name))
			a->test = k;
	a->test_v = v;
	return 0;
}

/* the candidates, named by the driver's map (start), or by one made now */
static void show(cli_ctx *ctx, const vm_scan *s, const uint64_t *was, const uint64_t *now, const bool *ok,
		 vm_target *t, size_t before, size_t unreadable, const char *file, const char *was_label)
{
	const scan_args *a = ctx->args;
	bool as_json = ctx->json;
	vm_map_options mo = { .no_stats = true };
	size_t n = a->show && a->show < s->n ? (size_t)a->show : s->n;
	vm_map *own = !ctx->m && n && t ? vm_map_build(t, &mo) : NULL;
	vm_symbolizer *own_sy = own ? vm_symbolizer_new(own, t, 0) : NULL;
	const vm_map *m = ctx->m ? ctx->m : own;
	vm_symbolizer *sy = ctx->m ? ctx->sym : own_sy;
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
	if (own) {
		fflush(stdout);
		cli_print_warnings(own);
	}
	vm_symbolizer_free(own_sy);
	vm_map_free(own);
}

static int start_check(cli_ctx *ctx)
{
	scan_args *a = ctx->args;
	a->flags = (a->ro ? VM_SEARCH_RO : 0) | (a->exec ? VM_SEARCH_EXEC : 0);
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
	return 0;
}

static int start_run(cli_ctx *ctx)
{
	const scan_args *a = ctx->args;
	vm_scan_type type = (vm_scan_type)vm_scan_type_by_name(a->type);
	uint64_t value;
	vm_scan_parse(type, a->value, &value);
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	int rc = 0;
	vm_search_opts so = { .flags = a->flags, .from = a->from.value, .to = a->to.value };
	vm_scan s;
	/* 'next' reads the process again: a core or a dump never changes */
	if (!(vm_target_caps(t) & VM_CAP_LIVE))
		return cli_error(EXIT_RUNTIME, "scan: %s is not a live process (a scan follows a running one)", ctx->spec);
	if (vm_scan_start(m, t, type, value, a->unaligned, &so, &s) < 0)
		rc = cli_error(EXIT_RUNTIME, "scan: %s", vm_error());
	else if (vm_scan_write(&s, a->out) < 0)
		rc = cli_error(EXIT_RUNTIME, "scan: %s", vm_error()), vm_scan_free(&s);
	if (!rc) {
		show(ctx, &s, NULL, NULL, NULL, t, s.n, 0, a->out, NULL);
		vm_scan_free(&s);
	}
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

static int next_or_list_check(cli_ctx *ctx)
{
	const scan_args *a = ctx->args;
	bool next = !strcmp(ctx->mode->name, "next");
	if (next && a->test < 0)
		return cli_usage_error("scan", "next: no TEST given (--changed, --decreased, --eq V ...)");
	if (!next && (a->test >= 0 || a->out))
		return cli_usage_error("scan", "list takes neither a TEST nor -o");
	if (a->type || a->from.text || a->to.text || a->ro || a->exec || a->unaligned || ctx->ta.prog ||
	    ctx->freeze)
		return cli_usage_error("scan", "%s: those options are for 'scan start'", next ? "next" : "list");
	return 0;
}

static int next_or_list_run(cli_ctx *ctx)
{
	const scan_args *a = ctx->args;
	bool next = !strcmp(ctx->mode->name, "next");
	const char *file = ctx->argv[0];
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
			show(ctx, &s, was, NULL, NULL, t, before, unreadable, out, "was");
		free(was);
	} else {
		uint64_t *now = xcalloc(s.n ? s.n : 1, sizeof *now);
		bool *ok = xcalloc(s.n ? s.n : 1, sizeof *ok);
		vm_scan_read(&s, t, now, ok);
		show(ctx, &s, s.value, now, ok, t, s.n, 0, file, "kept");
		free(now);
		free(ok);
	}
	vm_scan_free(&s);
	vm_target_close(t);
	return rc;
}

#define TYPE(L) CLI_OPT_CALL(L, "VALUE", type_opt, NULL)
#define TEST(L, V) CLI_OPT_CALL(L, V, test_opt, NULL)

static const cli_option scan_opts[] = {
	CLI_OPT_HEADING("--TYPE VALUE, for start, is one of:"),
	CLI_OPT_CALL("u8", "VALUE", type_opt, "a number of that type"),
	TYPE("u16"), TYPE("u32"), TYPE("u64"), TYPE("i8"), TYPE("i16"), TYPE("i32"), TYPE("i64"),
	TYPE("f32"), TYPE("f64"),
	CLI_OPT_HEADING("TEST, for next, is one of:"),
	CLI_OPT_CALL("changed", NULL, test_opt, "since the last round"),
	TEST("unchanged", NULL), TEST("increased", NULL), TEST("decreased", NULL),
	CLI_OPT_CALL("eq", "V", test_opt, "against V"),
	TEST("ne", "V"), TEST("gt", "V"), TEST("lt", "V"),
	CLI_OPT_HEADING("Options:"),
	CLI_OPT_STRING("output", 'o', "FILE", scan_args, out,
		       "start: where to keep the candidates; next: write the\n"
		       "narrowed set there instead of back to FILE"),
	CLI_OPT_FORCE,
	CLI_OPT_EXPR("from", "ADDR", scan_args, from, "start: only from ADDR (an expression)"),
	CLI_OPT_EXPR("to", "ADDR", scan_args, to, "start: only below ADDR (an expression)"),
	CLI_OPT_FLAG("include-ro", 0, scan_args, ro, "start: read-only memory too"),
	CLI_OPT_FLAG("exec", 0, scan_args, exec, "start: executable memory too"),
	CLI_OPT_FLAG("unaligned", 0, scan_args, unaligned, "start: at any byte, not only at multiples of the size"),
	CLI_OPT_U64("show", "N", scan_args, show, 0, UINT64_MAX, "list at most N candidates (default 20; 0: all)"),
};

static const cli_command scan_modes[] = {
	{ .name = "start", .needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS, .mo = { .no_stats = true },
	  .check = start_check, .run = start_run },
	{ .name = "next", .args = "FILE", .min_args = 1, .max_args = 1, .check = next_or_list_check,
	  .run = next_or_list_run },
	{ .name = "list", .args = "FILE", .min_args = 1, .max_args = 1, .check = next_or_list_check,
	  .run = next_or_list_run },
};

const cli_command cli_cmd_scan = {
	.name = "scan",
	.summary = "narrow a changing value down to its address (start, next, list)",
	.usage = "start [OPTIONS] TARGET --TYPE VALUE -o FILE\n"
		 "start [OPTIONS] --TYPE VALUE -o FILE -- PROGRAM [ARGS...]\n"
		 "next [OPTIONS] FILE TEST\n"
		 "list [OPTIONS] FILE",
	.about = "Finds the address of a value that the program changes, as scanmem does:\n"
		 "'start' keeps every place that holds VALUE (as TYPE: u8 u16 u32 u64 i8\n"
		 "i16 i32 i64 f32 f64) in FILE; after the program has changed it, 'next'\n"
		 "keeps only the candidates that pass TEST, and so on until few are left.\n"
		 "'list' shows the candidates with their values now. FILE is rewritten\n"
		 "whole each round (mode 0600). The target options are for 'start'.\n"
		 "TARGET must be a live process.\n",
	CLI_OPTS(scan_opts),
	CLI_ARGS(scan_args),
	.init = scan_init,
	.modes = scan_modes,
	.nmodes = sizeof scan_modes / sizeof scan_modes[0],
};
