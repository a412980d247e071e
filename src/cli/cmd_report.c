/* vmatlas report: the map as one self-contained HTML page (src/report),
 * or what changed between two snapshots (--diff). The page's data is the
 * JSON of 'map', 'threads', 'heap', 'env' and 'diff', gathered here (the
 * cli layer) and handed to the report front end as one document:
 *
 *   { "vmatlas_report": 1, "source": "target" | "snapshot" | "diff",
 *     "a": A, "b": B or null, "generated": unix time,
 *     "map": map --json (of B for a diff), "threads": threads --json or
 *     null, "heap": heap --json or {"note": why not}, "env": env --json or
 *     null, "diff": diff --json or null } */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "base/atomic_file.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "map_render.h"
#include "report/report.h"
#include "sections.h"

typedef struct report_args {
	const char *out, *diff;
	uint64_t frames;
	bool no_lines;
} report_args;

static void report_init(void *p)
{
	((report_args *)p)->frames = 32;
}

/* a JSON string, or null */
static void json_string_doc(FILE *f, const char *s)
{
	json_writer *w = xmalloc(sizeof *w);
	json_init(w, f, false);
	json_str(w, s);
	json_done(w);
	free(w);
}

static void heap_section(FILE *f, const vm_map *m, const vm_heap_report *r)
{
	if (r && r->walked) {
		cli_heap_json(f, m, NULL, r, false, -1);
		return;
	}
	fputs("{\"note\": ", f);
	json_string_doc(f, r && r->note ? r->note : "the heap was not walked");
	fputs("}", f);
}

static void map_section(FILE *f, const vm_map *m, vm_symbolizer *sym)
{
	map_render_options ro = { .usage_mask = ~0u, .sym = sym };
	map_render_json(m, &ro, f);
}

static void head(FILE *f, const char *source, const char *a, const char *b)
{
	fprintf(f, "{\"vmatlas_report\": 1, \"generated\": %lld, \"source\": \"%s\", \"a\": ", (long long)time(NULL),
		source);
	json_string_doc(f, a);
	fputs(", \"b\": ", f);
	if (b)
		json_string_doc(f, b);
	else
		fputs("null", f);
}

/* the document gathered in memory, or NULL (freed) when it could not be;
 * the stream sets *doc and *len as it closes (it may move the buffer) */
static void close_doc(FILE *f, char **doc)
{
	if (fclose(f) != 0) {
		free(*doc);
		*doc = NULL;
	}
}

/* write the page; a line on stdout says where, unless the page went there
 * (the regions counted are those the page lists: free gaps are not) */
static int finish(cli_ctx *ctx, char *doc, size_t len, const vm_map *m)
{
	const report_args *a = ctx->args;
	if (!doc)
		return cli_error(EXIT_RUNTIME, "report: out of memory");
	map_render_options ro = { .usage_mask = ~0u };
	size_t nregions = 0, nallocs = 0;
	int rc = 0;
	for (size_t i = 0; i < m->nallocs; i++)
		if (map_alloc_shown(&m->allocs[i], &ro)) {
			nallocs++;
			nregions += m->allocs[i].count;
		}
	if (report_write_file(a->out, doc, len) < 0) {
		rc = cli_error(EXIT_RUNTIME, "report: %s", vm_error());
	} else if (!af_names_stdout(a->out)) {
		struct stat sb;
		char size[16];
		long long bytes = stat(a->out, &sb) == 0 ? (long long)sb.st_size : -1;
		if (ctx->json) {
			printf("{\"file\": ");
			fflush(stdout);
			json_string_doc(stdout, a->out);
			printf(", \"bytes\": %lld, \"regions\": %zu, \"allocations\": %zu}\n", bytes, nregions,
			       nallocs);
		} else {
			printf("report: %zu regions in %zu allocations to %s (%s)\n", nregions, nallocs, a->out,
			       fmt_size(bytes < 0 ? 0 : (uint64_t)bytes, size, sizeof size));
		}
	}
	free(doc);
	return rc;
}

/* the map of a live process, core or minidump, opened by the driver */
static int report_target(cli_ctx *ctx)
{
	const report_args *a = ctx->args;
	vm_map *m = ctx->m;
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	if (!f)
		return cli_error(EXIT_RUNTIME, "report: out of memory");
	head(f, "target", ctx->spec ? ctx->spec : ctx->ta.prog[0], NULL);
	fputs(", \"map\": ", f);
	map_section(f, m, ctx->sym);
	fputs(", \"threads\": ", f);
	vm_threads_report rep;
	vm_threads_inspect(m, ctx->t, ctx->sym, (unsigned)a->frames, &rep);
	cli_threads_json(f, m, ctx->t, ctx->sym, &rep, 0);
	vm_threads_report_free(&rep);
	fputs(", \"heap\": ", f);
	heap_section(f, m, m->heap);
	fputs(", \"env\": ", f);
	cli_env_json(f, m, ctx->t, ctx->sym);
	fputs(", \"diff\": null}\n", f);
	close_doc(f, &doc); /* len is known once closed */
	return finish(ctx, doc, len, m);
}

/* a saved snapshot: its map and heap, nothing read now */
static int report_snapshot(cli_ctx *ctx)
{
	vm_snapshot s;
	if (vm_snapshot_read(ctx->spec, &s) < 0)
		return cli_error(EXIT_RUNTIME, "report: %s", vm_error());
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	if (!f) {
		vm_snapshot_free(&s);
		return cli_error(EXIT_RUNTIME, "report: out of memory");
	}
	head(f, "snapshot", ctx->spec, NULL);
	fputs(", \"map\": ", f);
	map_section(f, s.map, NULL);
	fputs(", \"threads\": null, \"heap\": ", f);
	heap_section(f, s.map, &s.heap);
	fputs(", \"env\": null, \"diff\": null}\n", f);
	close_doc(f, &doc);
	int rc = finish(ctx, doc, len, s.map);
	vm_snapshot_free(&s);
	return rc;
}

/* A --diff B: the map of B, and what changed from A */
static int report_diff(cli_ctx *ctx)
{
	const report_args *ra = ctx->args;
	cli_diff_sides s;
	int rc = cli_diff_load(ctx->spec, ra->diff, &s);
	if (rc)
		return rc;
	const vm_snapshot *b = &s.b;
	vm_diff d;
	vm_diff_compute(&s.a, b, &d);
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	if (!f) {
		rc = cli_error(EXIT_RUNTIME, "report: out of memory");
	} else {
		head(f, "diff", ctx->spec, ra->diff);
		fputs(", \"map\": ", f);
		map_section(f, b->map, NULL);
		fputs(", \"threads\": null, \"heap\": ", f);
		heap_section(f, b->map, &b->heap);
		fputs(", \"env\": null, \"diff\": ", f);
		cli_diff_json(f, &d);
		fputs("}\n", f);
		close_doc(f, &doc);
		rc = finish(ctx, doc, len, b->map);
	}
	vm_diff_free(&d);
	cli_diff_release(&s);
	return rc;
}

static int report_check(cli_ctx *ctx)
{
	report_args *a = ctx->args;
	if (!a->out)
		return cli_usage_error("report", "no -o FILE given");
	if (a->diff && ctx->ta.prog)
		return cli_usage_error("report", "--diff compares A (a snapshot or TARGET) with B, not '-- PROGRAM'");
	ctx->sym_flags = a->no_lines ? 0 : VM_SYM_LINES;
	ctx->mo.stacks = true;
	ctx->mo.heap = VM_MAP_HEAP | VM_MAP_HEAP_PLACE;
	/* a snapshot, or a pair of sides: read in run, not by the driver */
	if (a->diff || (ctx->spec && cli_is_snapshot_file(ctx->spec)))
		ctx->open = ctx->build = ctx->symbols = false;
	return 0;
}

static int report_run(cli_ctx *ctx)
{
	const report_args *a = ctx->args;
	if (a->diff)
		return report_diff(ctx);
	if (!ctx->m)
		return report_snapshot(ctx);
	return report_target(ctx);
}

static const cli_option report_opts[] = {
	CLI_OPT_STRING("output", 'o', "FILE", report_args, out, "where to write the page ('-': standard output)"),
	CLI_OPT_FORCE,
	CLI_OPT_STRING("diff", 0, "B", report_args, diff, "what changed from TARGET (or snapshot) A to B, a\n"
		       "snapshot or a TARGET"),
	CLI_OPT_U64("frames", "N", report_args, frames, 1, 100000, "at most N frames per call stack (default 32)"),
	CLI_OPT_FLAG("no-lines", 0, report_args, no_lines, "skip file:line in call stacks (faster)"),
};

const cli_command cli_cmd_report = {
	.name = "report",
	.summary = "the map as a self-contained HTML page",
	.usage = "[OPTIONS] TARGET -o FILE\n[OPTIONS] -o FILE -- PROGRAM [ARGS...]\n[OPTIONS] A --diff B -o FILE",
	.about = "Writes the annotated map as one HTML file that any browser opens, with\n"
		 "nothing fetched from the network: a picture of the address space (a\n"
		 "strip to scale with free space compressed, and a treemap by usage and\n"
		 "module), the summary by usage, the allocation tree with every region\n"
		 "and its contents, modules (loader list against the region scan),\n"
		 "threads with their stacks and call stacks, the heap and the process\n"
		 "environment, and a search box that filters by address, path or text.\n"
		 "TARGET may also be a snapshot file ('vmatlas snapshot').\n"
		 "\n"
		 "With --diff B the page shows the map of B and what changed from A:\n"
		 "regions added, removed, resized and re-protected, modules, threads,\n"
		 "heaps and, with page hashes, pages. A and B are as for 'vmatlas diff'.\n",
	.notes = "FILE appears whole or not at all, with mode 0600. With --json, one line\n"
		 "says what was written: {\"file\", \"bytes\", \"regions\", \"allocations\"}.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	CLI_OPTS(report_opts),
	CLI_ARGS(report_args),
	.init = report_init,
	.check = report_check,
	.run = report_run,
};
