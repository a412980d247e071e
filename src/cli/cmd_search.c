/* vmatlas search: find bytes, strings, numbers or pointers in memory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/expr.h"
#include "vmatlas/search.h"

typedef struct search_args {
	vm_pattern pat;
	bool have_pat;
	const char *ptr_to;
	cli_expr from, to;
	bool ro, exec;
	uint64_t max, threads;
} search_args;

/* --ascii, --hex, --u32 ... --ptr-to: the one PATTERN */
static int pattern_opt(cli_ctx *ctx, const cli_option *o, const char *v)
{
	search_args *a = ctx->args;
	const char *n = o->name;
	int prc = 0;
	if (a->have_pat || a->ptr_to)
		return cli_usage_error("search", "one PATTERN please");
	if (!strcmp(n, "ptr-to"))
		a->ptr_to = v;
	else if (!strcmp(n, "ascii"))
		prc = vm_pattern_ascii(&a->pat, v);
	else if (!strcmp(n, "utf16"))
		prc = vm_pattern_utf16(&a->pat, v);
	else if (!strcmp(n, "hex"))
		prc = vm_pattern_hex(&a->pat, v);
	else if (!strcmp(n, "regex"))
		prc = vm_pattern_regex(&a->pat, v);
	else
		prc = vm_pattern_number(&a->pat, n, v);
	if (prc < 0)
		return cli_usage_error("search", "%s", vm_error());
	a->have_pat = !a->ptr_to;
	return 0;
}

static void progress(uint64_t done, uint64_t total, void *arg)
{
	(void)total;
	uint64_t all = *(uint64_t *)arg;
	char a[16], b[16];
	fprintf(stderr, "\r  searching: %3.0f%% of %s (%s)", all ? 100.0 * (double)done / (double)all : 0.0,
		fmt_size(all, a, sizeof a), fmt_size(done, b, sizeof b));
}

static int search_check(cli_ctx *ctx)
{
	const search_args *a = ctx->args;
	if (!a->have_pat && !a->ptr_to)
		return cli_usage_error("search", "no PATTERN given (--ascii, --hex, --u32 ...)");
	return 0;
}

static int search_run(cli_ctx *ctx)
{
	search_args *sa = ctx->args;
	vm_pattern *pat = &sa->pat;
	const char *ptr_to = sa->ptr_to;
	vm_search_opts so = { .from = sa->from.value, .to = sa->to.value, .max_hits = sa->max,
			      .threads = (unsigned)sa->threads };
	so.flags = (sa->ro ? VM_SEARCH_RO : 0) | (sa->exec ? VM_SEARCH_EXEC : 0);
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	vm_symbolizer *s = ctx->sym;
	vm_expr_ctx ec = { m, t, s };
	if (sa->from.text && sa->to.text && sa->to.value <= sa->from.value)
		return cli_error(EXIT_USAGE, "search: --to 0x%llx is not above --from 0x%llx",
				 (unsigned long long)sa->to.value, (unsigned long long)sa->from.value);
	if (ptr_to) {
		uint64_t lo, hi;
		int er = vm_ptr_range(&ec, "--ptr-to", ptr_to, &lo, &hi);
		if (er < 0) /* -2: a malformed expression; -1: not in the target */
			return cli_error(er == -2 ? EXIT_USAGE : EXIT_RUNTIME, "search: %s", vm_error());
		vm_pattern_ptr_range(pat, lo, hi, m->info.bits);
	}
	uint64_t total = 0;
	for (size_t i = 0; i < m->nregions; i++)
		if (vm_search_region_selected(&m->regions[i], so.flags))
			total += m->regions[i].size;
	if (!ctx->json && isatty(2) && total > (256u << 20)) {
		so.progress = progress;
		so.progress_arg = &total;
	}
	vm_search_result res;
	vm_search(m, t, pat, &so, &res);
	if (so.progress)
		fprintf(stderr, "\r%60s\r", "");
	if (res.scanned == 0)
		cli_warn("search: 0 bytes searched: no region in range is%s held by the target%s",
			  so.flags & VM_SEARCH_RO ? "" : " writable, readable and",
			  so.flags & VM_SEARCH_RO ? "" : " (--include-ro, --exec search more)");
	int aw = m->info.bits == 32 ? 8 : 16;
	char sym[512], a[16];
	json_writer *jw = NULL;
	if (ctx->json) {
		jw = xmalloc(sizeof *jw);
		json_init(jw, stdout, true);
		json_obj_begin(jw);
		json_kstr(jw, "pattern", pat->text);
		json_key(jw, "hits");
		json_arr_begin(jw);
	} else {
		printf("%zu hit%s for %s in %s searched (%.3f s)%s\n", res.nhits, res.nhits == 1 ? "" : "s",
		       pat->text, fmt_size(res.scanned, a, sizeof a), res.seconds,
		       res.truncated ? ", stopped at --max" : "");
	}
	for (size_t i = 0; i < res.nhits; i++) {
		uint64_t h = res.hits[i];
		const vm_region *r = vm_map_region_at(m, h);
		vm_symbol_info si;
		vm_symbolize(s, h, &si);
		vm_symbol_format(&si, h, sym, sizeof sym);
		if (jw) {
			json_obj_begin(jw);
			json_kaddr(jw, "addr", h);
			json_key(jw, "region");
			json_obj_begin(jw);
			json_kaddr(jw, "base", r->base);
			json_ku64(jw, "size", r->size);
			json_kstr(jw, "path", r->path);
			json_obj_end(jw);
			json_kstr(jw, "usage", vm_usage_name(r->usage));
			if (si.module)
				json_kstr(jw, "symbol", sym);
			if (res.hit_len)
				json_ku64(jw, "len", res.hit_len[i]);
			json_obj_end(jw);
		} else {
			uint8_t near[16];
			ssize_t n = vm_read(t, h, near, sizeof near);
			printf("%0*llx  %-9s %-40s ", aw, (unsigned long long)h, vm_usage_name(r->usage), sym);
			for (ssize_t k = 0; k < n; k++)
				putchar(near[k] >= 0x20 && near[k] < 0x7f ? near[k] : '.');
			putchar('\n');
		}
	}
	if (jw) {
		json_arr_end(jw);
		json_ku64(jw, "scanned", res.scanned);
		json_ku64(jw, "total", res.total);
		json_key(jw, "seconds");
		json_double(jw, res.seconds);
		json_kbool(jw, "truncated", res.truncated);
		cli_json_holes(jw, res.holes, res.nholes);
		json_obj_end(jw);
		json_done(jw);
		free(jw);
	} else {
		for (size_t i = 0; i < res.nholes; i++)
			printf("(could not read %s at %0*llx)\n", fmt_size(res.holes[i].size, a, sizeof a), aw,
			       (unsigned long long)res.holes[i].addr);
	}
	vm_search_result_free(&res);
	return 0;
}

static void search_done(void *p)
{
	vm_pattern_free(&((search_args *)p)->pat);
}

#define PATTERN(L, V, H) CLI_OPT_CALL(L, V, pattern_opt, H)

static const cli_option search_opts[] = {
	CLI_OPT_HEADING("PATTERN is one of:"),
	PATTERN("ascii", "S", "the bytes of S"),
	PATTERN("utf16", "S", "S as UTF-16LE"),
	PATTERN("hex", "\"DE AD ?? EF\"", "bytes, ?? for any byte"),
	PATTERN("u8", "VALUE", "a number of that type, little-endian, at any offset"),
	PATTERN("u16", "VALUE", NULL),
	PATTERN("u32", "VALUE", NULL),
	PATTERN("u64", "VALUE", NULL),
	PATTERN("i32", "VALUE", NULL),
	PATTERN("i64", "VALUE", NULL),
	PATTERN("f32", "VALUE", NULL),
	PATTERN("f64", "VALUE", NULL),
	PATTERN("ptr-to", "WHERE", "aligned pointers into WHERE: an address or expression\n"
		"(its region), LO-HI, a module name, or [heap], [stack]"),
	PATTERN("regex", "RE", "an extended regular expression over printable ASCII"),
	CLI_OPT_HEADING("Options:"),
	CLI_OPT_EXPR("from", "ADDR", search_args, from, "only from ADDR (an expression)"),
	CLI_OPT_EXPR("to", "ADDR", search_args, to, "only below ADDR (an expression)"),
	CLI_OPT_FLAG("include-ro", 0, search_args, ro, "read-only memory too"),
	CLI_OPT_FLAG("exec", 0, search_args, exec, "executable memory too"),
	CLI_OPT_U64("max", "N", search_args, max, 1, UINT64_MAX, "stop after N hits (the first N by address)"),
	CLI_OPT_U64("threads", "N", search_args, threads, 1, 8, "search with N threads, 1 to 8 (default: 2 on a\n"
		    "machine with more than one CPU, else 1)"),
};

const cli_command cli_cmd_search = {
	.name = "search",
	.summary = "find bytes, strings, numbers or pointers in memory",
	.usage = "[OPTIONS] TARGET PATTERN\n[OPTIONS] PATTERN -- PROGRAM [ARGS...]",
	.about = "Searches committed, readable, writable memory (with --include-ro also\n"
		 "read-only, with --exec also executable memory). Every hit is named by\n"
		 "its region, usage and symbol. A match that straddles two regions is not\n"
		 "a hit; one that straddles the chunks the search reads is always found.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	.mo = { .no_stats = true },
	CLI_OPTS(search_opts),
	CLI_ARGS(search_args),
	.check = search_check,
	.run = search_run,
	.done = search_done,
};
