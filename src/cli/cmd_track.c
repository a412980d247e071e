/* vmatlas track: which pages a process writes between two moments,
 * from the kernel's own bookkeeping (track probe, start, show, stop). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/track.h"

typedef struct track_args {
	const char *out;
	vm_track_method method;
	bool method_given;
} track_args;

static int method_opt(cli_ctx *ctx, const cli_option *o, const char *v)
{
	track_args *a = ctx->args;
	(void)o;
	if (!strcmp(v, "auto"))
		a->method = VM_TRACK_AUTO;
	else if (!strcmp(v, "soft-dirty"))
		a->method = VM_TRACK_SOFT_DIRTY;
	else if (!strcmp(v, "uffd") || !strcmp(v, "uffd-wp"))
		a->method = VM_TRACK_UFFD_WP;
	else
		return cli_usage_error("track", "--method: auto, soft-dirty or uffd");
	a->method_given = a->method != VM_TRACK_AUTO;
	return 0;
}

static int probe(bool as_json)
{
	vm_track_caps c;
	vm_track_probe(&c);
	if (as_json) {
		json_writer *w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
		json_obj_begin(w);
		json_kbool(w, "soft_dirty", c.soft_dirty);
		json_kstr(w, "soft_dirty_detail", c.soft_dirty_why);
		json_kbool(w, "uffd_wp_async", c.uffd_wp_async);
		json_kstr(w, "uffd_detail", c.uffd_why);
		json_kstr(w, "method", c.soft_dirty ? "soft-dirty" : c.uffd_wp_async ? "uffd-wp" : NULL);
		json_obj_end(w);
		json_done(w);
		free(w);
	} else {
		printf("soft-dirty bits:                          %s\n", c.soft_dirty_why);
		printf("userfaultfd asynchronous write-protect:   %s\n", c.uffd_why);
		printf("track start would use: %s\n",
		       c.soft_dirty ? "soft-dirty" : c.uffd_wp_async ? "uffd-wp" : "nothing (writes cannot be tracked here)");
	}
	return c.soft_dirty || c.uffd_wp_async ? 0 : EXIT_RUNTIME;
}

static uint64_t now_ms_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t total(const vm_track_range *v, size_t n)
{
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t += v[i].size;
	return t;
}

/* the written ranges, each named by the region it is in now */
static void report(const vm_track_state *st, const vm_track_range *w, size_t nw, bool stopped, bool as_json,
		   const char *file)
{
	char spec[32], a[16], b[16];
	snprintf(spec, sizeof spec, "%lld", (long long)st->pid);
	vm_target *t = nw ? vm_target_open(spec) : NULL;
	vm_map_options mo = { .no_stats = true };
	vm_map *m = t ? vm_map_build(t, &mo) : NULL;
	double secs = (double)(now_ms_wall() - st->started_ms) / 1000.0;
	if (as_json) {
		json_writer *jw = xmalloc(sizeof *jw);
		json_init(jw, stdout, true);
		json_obj_begin(jw);
		json_kstr(jw, "state", file);
		json_kstr(jw, "method", vm_track_method_name(st->method));
		json_ki64(jw, "pid", st->pid);
		json_key(jw, "seconds");
		json_double(jw, secs);
		json_kbool(jw, "stopped", stopped);
		json_key(jw, "tracked");
		json_obj_begin(jw);
		json_ku64(jw, "ranges", st->n);
		json_ku64(jw, "bytes", total(st->ranges, st->n));
		json_obj_end(jw);
		json_key(jw, "skipped");
		json_arr_begin(jw);
		for (size_t i = 0; i < st->nskipped; i++) {
			json_obj_begin(jw);
			json_kaddr(jw, "addr", st->skipped[i].addr);
			json_ku64(jw, "size", st->skipped[i].size);
			json_kstr(jw, "why", strerror(st->skipped[i].err));
			json_obj_end(jw);
		}
		json_arr_end(jw);
		json_ku64(jw, "written_bytes", total(w, nw));
		json_key(jw, "written");
		json_arr_begin(jw);
		for (size_t i = 0; i < nw; i++) {
			const vm_region *r = m ? vm_map_region_at(m, w[i].addr) : NULL;
			json_obj_begin(jw);
			json_kaddr(jw, "addr", w[i].addr);
			json_ku64(jw, "size", w[i].size);
			if (r) {
				json_kaddr(jw, "region", r->base);
				json_kstr(jw, "usage", vm_usage_name(r->usage));
				json_kstr(jw, "path", r->path);
			}
			json_obj_end(jw);
		}
		json_arr_end(jw);
		json_obj_end(jw);
		json_done(jw);
		free(jw);
	} else {
		printf("process %lld, %s, %.1f s: %s written in %zu ranges, of %s tracked%s\n", (long long)st->pid,
		       vm_track_method_name(st->method), secs, fmt_size(total(w, nw), a, sizeof a), nw,
		       fmt_size(total(st->ranges, st->n), b, sizeof b), stopped ? "; tracking ended" : "");
		for (size_t i = 0; i < nw; i++) {
			const vm_region *r = m ? vm_map_region_at(m, w[i].addr) : NULL;
			printf("  %016llx %9s  %-8s %s\n", (unsigned long long)w[i].addr, fmt_size(w[i].size, a, sizeof a),
			       r ? vm_usage_name(r->usage) : "", r && r->path ? r->path : "");
		}
		if (st->nskipped)
			printf("  (%zu writable regions could not be tracked, first: %s)\n", st->nskipped,
			       strerror(st->skipped[0].err));
	}
	if (m) {
		fflush(stdout);
		cli_print_warnings(m);
	}
	vm_map_free(m);
	vm_target_close(t);
}

static int start_run(cli_ctx *ctx)
{
	const track_args *ta = ctx->args;
	const char *out = ta->out;
	vm_track_method method = ta->method;
	vm_target *t = ctx->t;
	vm_map *m = ctx->m;
	int rc = 0;
	vm_track_state st;
	vm_track_range *want;
	size_t nwant = vm_track_writable(m, &want);
	int started = vm_track_start(t, want, nwant, method, out, &st);
	free(want);
	if (started < 0) {
		rc = cli_error(EXIT_RUNTIME, "track: %s", vm_error());
	} else if (ctx->json) {
		report(&st, NULL, 0, false, true, out);
	} else {
		char a[16];
		printf("tracking writes to %s in %zu regions of process %lld (%s)\n",
		       fmt_size(total(st.ranges, st.n), a, sizeof a), st.n, (long long)st.pid,
		       vm_track_method_name(st.method));
		if (st.holder)
			printf("  the userfaultfd is kept by process %lld (vmatlas-track) until 'vmatlas track stop %s'\n",
			       (long long)st.holder, out);
		if (st.nskipped)
			printf("  %zu writable regions cannot be tracked (first: %s)\n", st.nskipped,
			       strerror(st.skipped[0].err));
	}
	vm_track_state_free(&st);
	return rc;
}

static int show_or_stop(cli_ctx *ctx)
{
	bool stop = !strcmp(ctx->mode->name, "stop"), as_json = ctx->json;
	const char *file = ctx->argv[0];
	vm_track_state st;
	if (vm_track_state_read(file, &st) < 0)
		return cli_error(EXIT_RUNTIME, "track: %s", vm_error());
	vm_track_range *w;
	size_t nw;
	int rc = 0;
	if (vm_track_written(&st, &w, &nw) < 0) {
		rc = cli_error(EXIT_RUNTIME, "track: %s", vm_error());
		if (stop) { /* nothing left to read: still end it and clean up */
			vm_track_end(&st);
			unlink(file);
		}
	} else {
		if (stop && vm_track_end(&st) < 0)
			rc = cli_error(EXIT_RUNTIME, "track: %s", vm_error());
		else
			report(&st, w, nw, stop, as_json, file);
		if (stop && !rc)
			unlink(file);
		free(w);
	}
	vm_track_state_free(&st);
	return rc;
}

static int start_check(cli_ctx *ctx)
{
	if (!((track_args *)ctx->args)->out)
		return cli_usage_error("track", "start: no -o STATE given");
	/* a program started for tracking runs on after vmatlas exits (as
	 * with --keep), and is let go from its entry-point stop first: the
	 * userfaultfd is made by stopping it again */
	if (ctx->ta.prog) {
		ctx->ta.keep = true;
		if (!ctx->ta.run_ms)
			ctx->ta.run_ms = 1;
	}
	return 0;
}

/* probe, show, stop */
static int other_check(cli_ctx *ctx)
{
	const track_args *a = ctx->args;
	if (a->out || a->method_given || ctx->ta.prog)
		return cli_usage_error("track", "-o, --method and a program are for 'track start'");
	return 0;
}

static int probe_run(cli_ctx *ctx)
{
	return probe(ctx->json);
}

static const cli_option track_opts[] = {
	CLI_OPT_STRING("output", 'o', "STATE", track_args, out, "start: where to keep the tracking state (mode 0600)"),
	CLI_OPT_FORCE,
	{ .name = "method", .value = "M", .kind = CLI_CALL, .call = method_opt, .choices = "auto soft-dirty uffd",
	  .help = "start: auto (default: soft-dirty if there, else\n"
		  "uffd), soft-dirty, or uffd" },
};

static const cli_command track_modes[] = {
	{ .name = "probe", .check = other_check, .run = probe_run },
	{ .name = "start", .needs = CLI_TARGET | CLI_MAP, .mo = { .no_stats = true }, .check = start_check,
	  .run = start_run },
	{ .name = "show", .args = "STATE", .min_args = 1, .max_args = 1, .check = other_check,
	  .run = show_or_stop },
	{ .name = "stop", .args = "STATE", .min_args = 1, .max_args = 1, .check = other_check,
	  .run = show_or_stop },
};

const cli_command cli_cmd_track = {
	.name = "track",
	.summary = "which pages a process writes between two moments (probe, start, show, stop)",
	.usage = "probe [--json]\n"
		 "start [OPTIONS] TARGET -o STATE\n"
		 "start [OPTIONS] -o STATE -- PROGRAM [ARGS...]\n"
		 "show [--json] STATE\n"
		 "stop [--json] STATE",
	.about = "Which pages a process writes between 'start' and 'stop', at no hashing\n"
		 "cost: the kernel notes every first write to a page. 'probe' says what\n"
		 "this kernel offers: soft-dirty bits (CONFIG_MEM_SOFT_DIRTY), or\n"
		 "userfaultfd asynchronous write-protect read back with PAGEMAP_SCAN\n"
		 "(Linux 6.7+). With the latter, vmatlas makes a userfaultfd inside the\n"
		 "process (one injected system call, closed there again at once) and a\n"
		 "small process named vmatlas-track keeps it until 'stop', or until the\n"
		 "process exits; the write protection goes with it. A start killed\n"
		 "midway leaves nothing behind (docs/track.md). 'show' reports the\n"
		 "pages written so far and goes on tracking; 'stop' reports them, ends\n"
		 "the tracking and removes STATE. TARGET must be a live process; a\n"
		 "PROGRAM after '--' is started, runs on after vmatlas exits (as with\n"
		 "--keep), and is tracked from 1 ms after its start (or from --run MS).\n",
	CLI_OPTS(track_opts),
	CLI_ARGS(track_args),
	.modes = track_modes,
	.nmodes = sizeof track_modes / sizeof track_modes[0],
};
