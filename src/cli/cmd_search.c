/* vmatlas search: find bytes, strings, numbers or pointers in memory. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/expr.h"
#include "vmatlas/search.h"

static const char search_help[] =
	"usage: vmatlas search [OPTIONS] TARGET PATTERN\n"
	"\n"
	"Searches committed, readable, writable memory (with --include-ro also\n"
	"read-only, with --exec also executable memory). Every hit is named by\n"
	"its region, usage and symbol. A match that straddles two regions is not\n"
	"a hit; one that straddles the chunks the search reads is always found.\n"
	"\n"
	"PATTERN is one of:\n"
	"  --ascii S          the bytes of S\n"
	"  --utf16 S          S as UTF-16LE\n"
	"  --hex \"DE AD ?? EF\" bytes, ?? for any byte\n"
	"  --u8/--u16/--u32/--u64/--i32/--i64/--f32/--f64 VALUE\n"
	"                     a number of that type, little-endian, at any offset\n"
	"  --ptr-to WHERE     aligned pointers into WHERE: an address or expression\n"
	"                     (its region), LO-HI, a module name, or [heap], [stack]\n"
	"  --regex RE         an extended regular expression over printable ASCII\n"
	"\n"
	"Options:\n"
	"  --from ADDR, --to ADDR   only this range (expressions)\n"
	"  --include-ro       read-only memory too\n"
	"  --exec             executable memory too\n"
	"  --max N            stop after N hits (the first N by address)\n"
	CLI_COMMON_HELP;

enum { OPT_ASCII = OPT_COMMAND, OPT_UTF16, OPT_HEX, OPT_NUM, OPT_PTR, OPT_REGEX, OPT_FROM, OPT_TO,
       OPT_RO, OPT_EXEC, OPT_MAX, OPT_THREADS };

static const struct option opts[] = {
	CLI_COMMON_OPTIONS,
	{ "ascii", required_argument, NULL, OPT_ASCII },
	{ "utf16", required_argument, NULL, OPT_UTF16 },
	{ "hex", required_argument, NULL, OPT_HEX },
	{ "u8", required_argument, NULL, OPT_NUM },
	{ "u16", required_argument, NULL, OPT_NUM },
	{ "u32", required_argument, NULL, OPT_NUM },
	{ "u64", required_argument, NULL, OPT_NUM },
	{ "i32", required_argument, NULL, OPT_NUM },
	{ "i64", required_argument, NULL, OPT_NUM },
	{ "f32", required_argument, NULL, OPT_NUM },
	{ "f64", required_argument, NULL, OPT_NUM },
	{ "ptr-to", required_argument, NULL, OPT_PTR },
	{ "regex", required_argument, NULL, OPT_REGEX },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "include-ro", no_argument, NULL, OPT_RO },
	{ "exec", no_argument, NULL, OPT_EXEC },
	{ "max", required_argument, NULL, OPT_MAX },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

/* the range --ptr-to means */
static int ptr_range(const vm_map *m, const vm_expr_ctx *ec, const char *w, uint64_t *lo, uint64_t *hi)
{
	const char *dash = strchr(w, '-');
	uint64_t a, b;
	if (dash && dash != w) {
		char *l = xstrndup(w, (size_t)(dash - w));
		bool ok = parse_u64(l, &a) && parse_u64(dash + 1, &b) && b > a;
		free(l);
		if (ok) {
			*lo = a;
			*hi = b;
			return 0;
		}
	}
	const vm_module *mod = vm_map_module_by_name(m, w);
	if (mod && mod->size) {
		*lo = mod->base;
		*hi = mod->base + mod->size;
		return 0;
	}
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].path && !strcmp(m->regions[i].path, w)) {
			*lo = m->regions[i].base;
			*hi = m->regions[i].base + m->regions[i].size;
			return 0;
		}
	if (vm_expr_eval(ec, w, &a) < 0)
		return -1;
	const vm_region *r = vm_map_region_at(m, a);
	if (!r || r->state == VM_STATE_FREE) {
		vm_seterr("--ptr-to: 0x%llx is in no region", (unsigned long long)a);
		return -1;
	}
	*lo = r->base;
	*hi = r->base + r->size;
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

int cmd_search(int argc, char **argv)
{
	cli_common cc;
	const char *ptr_to = NULL, *from = NULL, *to = NULL;
	vm_pattern pat;
	bool have_pat = false;
	int rc = 0;
	vm_search_opts so = { 0 };
	memset(&pat, 0, sizeof pat);
	argc = cli_common_begin(&cc, "search", argc, argv);
	int c, idx;
	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		int r = cli_common_option(&cc, c, optarg);
		uint64_t v;
		if (r < 0) {
			rc = EXIT_USAGE;
			goto out;
		}
		if (r > 0)
			continue;
		int prc = 0;
		bool pattern = c == OPT_ASCII || c == OPT_UTF16 || c == OPT_HEX || c == OPT_NUM ||
			       c == OPT_PTR || c == OPT_REGEX;
		if (pattern && (have_pat || ptr_to)) {
			rc = cli_usage_error("search", "one PATTERN please");
			goto out;
		}
		switch (c) {
		case OPT_ASCII: prc = vm_pattern_ascii(&pat, optarg); break;
		case OPT_UTF16: prc = vm_pattern_utf16(&pat, optarg); break;
		case OPT_HEX: prc = vm_pattern_hex(&pat, optarg); break;
		case OPT_NUM: prc = vm_pattern_number(&pat, opts[idx].name, optarg); break;
		case OPT_REGEX: prc = vm_pattern_regex(&pat, optarg); break;
		case OPT_PTR: ptr_to = optarg; break;
		case OPT_FROM: from = optarg; break;
		case OPT_TO: to = optarg; break;
		case OPT_RO: so.flags |= VM_SEARCH_RO; break;
		case OPT_EXEC: so.flags |= VM_SEARCH_EXEC; break;
		case OPT_MAX:
		case OPT_THREADS:
			if (!parse_u64(optarg, &v) || v == 0 || (c == OPT_THREADS && v > 8)) {
				rc = cli_usage_error("search", "bad --%s '%s'", opts[idx].name, optarg);
				goto out;
			}
			if (c == OPT_MAX)
				so.max_hits = v;
			else
				so.threads = (unsigned)v;
			break;
		case 'h':
			fputs(search_help, stdout);
			goto out;
		default:
			rc = cli_usage_error("search", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
		if (prc < 0) {
			rc = cli_usage_error("search", "%s", vm_error());
			goto out;
		}
		have_pat |= pattern && c != OPT_PTR;
	}
	if (!have_pat && !ptr_to) {
		rc = cli_usage_error("search", "no PATTERN given (--ascii, --hex, --u32 ...)");
		goto out;
	}
	if ((rc = cli_common_target(&cc, argc, argv)))
		goto out;
	if (optind < argc) {
		rc = cli_usage_error("search", "unexpected '%s'", argv[optind]);
		goto out;
	}
	vm_map_options mo = { .no_stats = true };
	vm_target *t;
	vm_map *m;
	if ((rc = cli_common_map(&cc, &mo, &t, &m)))
		goto out;
	vm_symbolizer *s = vm_symbolizer_new(m, t, 0);
	vm_expr_ctx ec = { m, t, s };
	if ((from && vm_expr_eval(&ec, from, &so.from) < 0) || (to && vm_expr_eval(&ec, to, &so.to) < 0)) {
		rc = cli_error(EXIT_USAGE, "search: %s", vm_error());
		goto done;
	}
	if (ptr_to) {
		uint64_t lo, hi;
		if (ptr_range(m, &ec, ptr_to, &lo, &hi) < 0) {
			rc = cli_error(EXIT_USAGE, "search: %s", vm_error());
			goto done;
		}
		vm_pattern_ptr_range(&pat, lo, hi, m->info.bits);
	}
	uint64_t total = 0;
	for (size_t i = 0; i < m->nregions; i++)
		if (vm_search_region_selected(&m->regions[i], so.flags))
			total += m->regions[i].size;
	if (!cc.json && isatty(2) && total > (256u << 20)) {
		so.progress = progress;
		so.progress_arg = &total;
	}
	vm_search_result res;
	vm_search(m, t, &pat, &so, &res);
	if (so.progress)
		fprintf(stderr, "\r%60s\r", "");
	int aw = m->info.bits == 32 ? 8 : 16;
	char sym[512], a[16];
	json_writer *jw = NULL;
	if (cc.json) {
		jw = xmalloc(sizeof *jw);
		json_init(jw, stdout, true);
		json_obj_begin(jw);
		json_kstr(jw, "pattern", pat.text);
		json_key(jw, "hits");
		json_arr_begin(jw);
	} else {
		printf("%zu hit%s for %s in %s searched (%.3f s)%s\n", res.nhits, res.nhits == 1 ? "" : "s",
		       pat.text, fmt_size(res.scanned, a, sizeof a), res.seconds,
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
			uint8_t ctx[16];
			ssize_t n = vm_read(t, h, ctx, sizeof ctx);
			printf("%0*llx  %-9s %-40s ", aw, (unsigned long long)h, vm_usage_name(r->usage), sym);
			for (ssize_t k = 0; k < n; k++)
				putchar(ctx[k] >= 0x20 && ctx[k] < 0x7f ? ctx[k] : '.');
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
	fflush(stdout);
	vm_search_result_free(&res);
done:
	vm_symbolizer_free(s);
	vm_map_free(m);
	vm_target_close(t);
out:
	vm_pattern_free(&pat);
	cli_common_end(&cc);
	return rc;
}
