/* vmatlas track: which pages a process writes between two moments,
 * from the kernel's own bookkeeping (track probe, start, show, stop). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/track.h"

static const char track_help[] =
	"usage: vmatlas track probe [--json]\n"
	"       vmatlas track start [OPTIONS] TARGET -o STATE\n"
	"       vmatlas track show [--json] STATE\n"
	"       vmatlas track stop [--json] STATE\n"
	"\n"
	"Which pages a process writes between 'start' and 'stop', at no hashing\n"
	"cost: the kernel notes every first write to a page. 'probe' says what\n"
	"this kernel offers: soft-dirty bits (CONFIG_MEM_SOFT_DIRTY), or\n"
	"userfaultfd asynchronous write-protect read back with PAGEMAP_SCAN\n"
	"(Linux 6.7+). With the latter, vmatlas makes a userfaultfd inside the\n"
	"process (one injected system call, closed there again at once) and a\n"
	"small process named vmatlas-track keeps it until 'stop', or until the\n"
	"process exits; the write protection goes with it. 'show' reports the\n"
	"pages written so far and goes on tracking; 'stop' reports them, ends\n"
	"the tracking and removes STATE.\n"
	"\n"
	"Options:\n"
	"  -o, --output STATE   start: where to keep the tracking state (mode 0600)\n"
	"  --method M           start: auto (default: soft-dirty if there, else\n"
	"                       uffd), soft-dirty, or uffd\n"
	"  --json               machine-readable output (see docs/json.md)\n";

enum { OPT_METHOD = OPT_COMMAND };

static const struct option opts[] = {
	CLI_COMMON_OPTIONS,
	{ "output", required_argument, NULL, 'o' },
	{ "method", required_argument, NULL, OPT_METHOD },
	{ NULL, 0, NULL, 0 },
};

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
	vm_map_free(m);
	vm_target_close(t);
}

static int start(cli_common *cc, const char *out, vm_track_method method, int argc, char **argv)
{
	if (!out)
		return cli_usage_error("track", "start: no -o STATE given");
	int rc = cli_common_target(cc, argc, argv);
	if (rc)
		return rc;
	if (optind < argc)
		return cli_usage_error("track", "unexpected '%s'", argv[optind]);
	vm_map_options mo = { .no_stats = true };
	vm_target *t;
	vm_map *m;
	if ((rc = cli_common_map(cc, &mo, &t, &m)))
		return rc;
	vm_track_state st;
	if (vm_track_start(t, m, method, &st) < 0) {
		rc = cli_error(EXIT_RUNTIME, "track: %s", vm_error());
	} else if (vm_track_state_write(&st, out) < 0) {
		rc = cli_error(EXIT_RUNTIME, "track: %s", vm_error());
		vm_track_end(&st);
	} else if (cc->json) {
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
	vm_map_free(m);
	vm_target_close(t);
	return rc;
}

static int show_or_stop(bool stop, bool as_json, int argc, char **argv)
{
	if (optind >= argc)
		return cli_usage_error("track", "no STATE file given");
	const char *file = argv[optind++];
	if (optind < argc)
		return cli_usage_error("track", "unexpected '%s'", argv[optind]);
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

int cmd_track(int argc, char **argv)
{
	static const char *const modes[] = { "probe", "start", "show", "stop" };
	int mode = -1;
	for (int i = 0; argc >= 2 && i < 4; i++)
		if (!strcmp(argv[1], modes[i]))
			mode = i;
	if (mode < 0) {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
			return fputs(track_help, stdout), 0;
		return cli_usage_error("track", "probe, start, show or stop please");
	}
	cli_common cc;
	argc = cli_common_begin(&cc, "track", argc - 1, argv + 1);
	argv++;
	const char *out = NULL;
	vm_track_method method = VM_TRACK_AUTO;
	int c, rc = 0;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		int r = cli_common_option(&cc, c, optarg);
		if (r < 0)
			return cli_common_end(&cc), EXIT_USAGE;
		if (r > 0)
			continue;
		if (c == 'o') {
			out = optarg;
		} else if (c == OPT_METHOD) {
			if (!strcmp(optarg, "auto"))
				method = VM_TRACK_AUTO;
			else if (!strcmp(optarg, "soft-dirty"))
				method = VM_TRACK_SOFT_DIRTY;
			else if (!strcmp(optarg, "uffd") || !strcmp(optarg, "uffd-wp"))
				method = VM_TRACK_UFFD_WP;
			else
				return cli_common_end(&cc), cli_usage_error("track", "--method: auto, soft-dirty or uffd");
		} else if (c == 'h') {
			return fputs(track_help, stdout), cli_common_end(&cc), 0;
		} else {
			return cli_common_end(&cc), cli_usage_error("track", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (mode != 1 && (out || method != VM_TRACK_AUTO || cc.ta.prog))
		return cli_common_end(&cc), cli_usage_error("track", "-o, --method and a program are for 'track start'");
	if (mode == 0)
		rc = optind < argc ? cli_usage_error("track", "probe takes no arguments") : probe(cc.json);
	else if (mode == 1)
		rc = start(&cc, out, method, argc, argv);
	else
		rc = show_or_stop(mode == 3, cc.json, argc, argv);
	cli_common_end(&cc);
	return rc;
}
