/* vmatlas threads: every thread with its registers, stack, thread
 * pointer, start routine and call stack. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/threads.h"

static const char threads_help[] =
	"usage: vmatlas threads [OPTIONS] TARGET\n"
	"\n"
	"Every thread: tid, name, state, registers, its stack (bounds, guard,\n"
	"bytes in use and the high-water mark), thread pointer, start routine\n"
	"(from glibc's libthread_db) and call stack (DWARF CFI through libdwfl,\n"
	"frame pointers where there is no CFI), every frame symbolized with\n"
	"file:line where known.\n"
	"\n"
	"Each thread is stopped only while its registers and live stack are\n"
	"copied (microseconds); the unwinding works on the copy.\n"
	"\n"
	"Options:\n"
	"  --frames N        at most N frames per thread (default 64)\n"
	"  --regs            print every register (JSON always has them)\n"
	"  --tid TID         only this thread\n"
	"  --no-lines        skip file:line (faster with large compressed debug files)\n"
	CLI_COMMON_HELP;

enum { OPT_FRAMES = OPT_COMMAND, OPT_REGS, OPT_TID, OPT_NOLINES };

static const struct option opts[] = {
	CLI_COMMON_OPTIONS,
	{ "frames", required_argument, NULL, OPT_FRAMES },
	{ "regs", no_argument, NULL, OPT_REGS },
	{ "tid", required_argument, NULL, OPT_TID },
	{ "no-lines", no_argument, NULL, OPT_NOLINES },
	{ NULL, 0, NULL, 0 },
};

/* Return addresses point after the call: look up the call itself. */
static void frame_symbol(vm_symbolizer *s, const vm_frame *f, size_t idx, vm_symbol_info *si,
			 char *text, size_t n)
{
	uint64_t look = (idx > 0 && !f->signal && f->pc) ? f->pc - 1 : f->pc;
	vm_symbolize(s, look, si);
	if (look != f->pc && (si->symbol || si->module))
		si->offset++;
	vm_symbol_format(si, f->pc, text, n);
}

#define SEH_MAX 256

/* a 32-bit Windows thread's SEH chain; 0 records for everyone else */
static size_t seh(const vm_map *m, vm_target *t, const vm_thread_info *ti, vm_seh_record *out, bool *ended)
{
	*ended = false;
	if (!ti->tls || m->info.bits != 32 || m->info.os != VM_OS_WINDOWS)
		return 0;
	return vm_seh_chain(t, ti->tls, out, SEH_MAX, ended);
}

static void text_thread(const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_thread_info *ti, bool regs)
{
	const vm_thread *th = ti->thread;
	char a[16], b[16], c[16], sym[1024];
	int aw = m->info.bits == 32 ? 8 : 16;
	printf("Thread %lld \"%s\"%s  state %c\n", (long long)th->tid, th->name ? th->name : "",
	       th->is_main ? " (main)" : "", th->state);
	if (th->sp_valid) {
		vm_symbol_info si;
		vm_symbolize(s, th->pc, &si);
		vm_symbol_format(&si, th->pc, sym, sizeof sym);
		printf("  pc %0*llx %s   sp %0*llx\n", aw, (unsigned long long)th->pc, sym, aw,
		       (unsigned long long)th->sp);
	}
	if (th->stack_size) {
		printf("  stack %0*llx-%0*llx (%s)", aw, (unsigned long long)th->stack_base, aw,
		       (unsigned long long)(th->stack_base + th->stack_size),
		       fmt_size(th->stack_size, a, sizeof a));
		printf(", in use %s", fmt_size(ti->used, b, sizeof b));
		if (ti->high_water_valid)
			printf(", high-water %s", fmt_size(ti->high_water, c, sizeof c));
		if (th->guard_size)
			printf(", guard %s at %0*llx", fmt_size(th->guard_size, a, sizeof a), aw,
			       (unsigned long long)th->guard_base);
		putchar('\n');
	}
	if (ti->tls)
		printf("  tls %0*llx\n", aw, (unsigned long long)ti->tls);
	vm_seh_record rec[SEH_MAX];
	bool ended;
	size_t nrec = seh(m, t, ti, rec, &ended);
	if (!nrec && !ended && ti->tls && m->info.bits == 32 && m->info.os == VM_OS_WINDOWS)
		printf("  SEH chain: not readable (the TEB or its first record is not in the dump)\n");
	if (nrec) {
		printf("  SEH chain (%zu record%s%s):\n", nrec, nrec == 1 ? "" : "s", ended ? "" : ", cut short");
		for (size_t k = 0; k < nrec; k++) {
			vm_symbol_info si;
			vm_symbolize(s, rec[k].handler, &si);
			vm_symbol_format(&si, rec[k].handler, sym, sizeof sym);
			printf("    %0*llx  handler %0*llx %s\n", aw, (unsigned long long)rec[k].addr, aw,
			       (unsigned long long)rec[k].handler, sym);
		}
	}
	if (ti->start) {
		vm_symbol_info si;
		vm_symbolize(s, ti->start, &si);
		vm_symbol_format(&si, ti->start, sym, sizeof sym);
		printf("  start %0*llx %s (%s)\n", aw, (unsigned long long)ti->start, sym,
		       ti->start_source);
	}
	if (regs && th->regs_valid)
		for (size_t i = 0; i < th->nregs; i++)
			printf("%s%-8s %0*llx%s", i % 4 == 0 ? "  " : "  ", th->regs[i].name, aw,
			       (unsigned long long)th->regs[i].value,
			       (i % 4 == 3 || i + 1 == th->nregs) ? "\n" : "");
	for (size_t k = 0; k < ti->nframes; k++) {
		const vm_frame *f = &ti->frames[k];
		vm_symbol_info si;
		frame_symbol(s, f, k, &si, sym, sizeof sym);
		printf("  #%-3zu %0*llx  %s", k, aw, (unsigned long long)f->pc, sym);
		if (si.file)
			printf("  %s:%d", si.file, si.line);
		if (f->signal)
			printf("  <signal frame>");
		if (f->method && strcmp(f->method, "fp") == 0)
			printf("  (frame pointer)");
		putchar('\n');
	}
	if (ti->unwind_note)
		printf("  (%s)\n", ti->unwind_note);
	putchar('\n');
}

static void json_thread(json_writer *w, const vm_map *m, vm_target *t, vm_symbolizer *s,
			const vm_thread_info *ti)
{
	const vm_thread *th = ti->thread;
	char st[2] = { th->state, 0 }, sym[1024];
	json_obj_begin(w);
	json_ki64(w, "tid", th->tid);
	json_kstr(w, "name", th->name);
	json_kstr(w, "state", st);
	json_kbool(w, "main", th->is_main);
	if (th->sp_valid) {
		json_kaddr(w, "pc", th->pc);
		json_kaddr(w, "sp", th->sp);
	} else {
		json_key(w, "pc");
		json_null(w);
		json_key(w, "sp");
		json_null(w);
	}
	if (th->regs_valid) {
		json_kaddr(w, "fp", th->fp);
		json_key(w, "registers");
		json_obj_begin(w);
		for (size_t i = 0; i < th->nregs; i++)
			json_kaddr(w, th->regs[i].name, th->regs[i].value);
		json_obj_end(w);
	}
	json_key(w, "stack");
	if (th->stack_size) {
		json_obj_begin(w);
		json_kaddr(w, "base", th->stack_base);
		json_ku64(w, "size", th->stack_size);
		json_kaddr(w, "top", ti->stack_top);
		json_ku64(w, "used", ti->used);
		if (ti->high_water_valid)
			json_ku64(w, "high_water", ti->high_water);
		if (th->guard_size) {
			json_kaddr(w, "guard", th->guard_base);
			json_ku64(w, "guard_size", th->guard_size);
		}
		json_obj_end(w);
	} else {
		json_null(w);
	}
	json_key(w, "tls");
	ti->tls ? json_addr(w, ti->tls) : json_null(w);
	vm_seh_record rec[SEH_MAX];
	bool ended;
	size_t nrec = seh(m, t, ti, rec, &ended);
	if (nrec) {
		json_key(w, "seh");
		json_obj_begin(w);
		json_kbool(w, "complete", ended);
		json_key(w, "records");
		json_arr_begin(w);
		for (size_t k = 0; k < nrec; k++) {
			vm_symbol_info si;
			json_obj_begin(w);
			json_kaddr(w, "addr", rec[k].addr);
			json_kaddr(w, "next", rec[k].next);
			json_kaddr(w, "handler", rec[k].handler);
			vm_symbolize(s, rec[k].handler, &si);
			vm_symbol_format(&si, rec[k].handler, sym, sizeof sym);
			json_kstr(w, "handler_symbol", sym);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_obj_end(w);
	}
	json_key(w, "start");
	if (ti->start) {
		vm_symbol_info si;
		json_addr(w, ti->start);
		vm_symbolize(s, ti->start, &si);
		vm_symbol_format(&si, ti->start, sym, sizeof sym);
		json_kstr(w, "start_symbol", sym);
		json_kstr(w, "start_source", ti->start_source);
	} else {
		json_null(w);
		json_key(w, "start_symbol");
		json_null(w);
	}
	json_key(w, "frames");
	json_arr_begin(w);
	for (size_t k = 0; k < ti->nframes; k++) {
		const vm_frame *f = &ti->frames[k];
		vm_symbol_info si;
		frame_symbol(s, f, k, &si, sym, sizeof sym);
		json_obj_begin(w);
		json_kaddr(w, "pc", f->pc);
		json_key(w, "sp");
		f->sp_valid ? json_addr(w, f->sp) : json_null(w);
		json_kstr(w, "symbol", sym);
		json_kstr(w, "module", si.module ? si.module->name : NULL);
		json_kstr(w, "function", si.symbol);
		if (si.file) {
			json_kstr(w, "file", si.file);
			json_ki64(w, "line", si.line);
		}
		if (f->signal)
			json_kbool(w, "signal", true);
		json_kstr(w, "method", f->method);
		json_obj_end(w);
	}
	json_arr_end(w);
	if (ti->unwind_note)
		json_kstr(w, "unwind_note", ti->unwind_note);
	json_obj_end(w);
}

int cmd_threads(int argc, char **argv)
{
	cli_common cc;
	unsigned frames = 64;
	bool regs = false, lines = true;
	int64_t only = 0;
	argc = cli_common_begin(&cc, "threads", argc, argv);
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = cli_common_option(&cc, c, optarg);
		uint64_t v;
		if (r < 0)
			return cli_common_end(&cc), EXIT_USAGE;
		if (r > 0)
			continue;
		if (c == OPT_FRAMES) {
			if (!parse_u64(optarg, &v) || v == 0 || v > 100000)
				return cli_common_end(&cc), cli_usage_error("threads", "bad --frames '%s'", optarg);
			frames = (unsigned)v;
		} else if (c == OPT_REGS) {
			regs = true;
		} else if (c == OPT_NOLINES) {
			lines = false;
		} else if (c == OPT_TID) {
			if (!parse_u64(optarg, &v) || v == 0 || v > INT32_MAX)
				return cli_common_end(&cc), cli_usage_error("threads", "bad --tid '%s'", optarg);
			only = (int64_t)v;
		} else if (c == 'h') {
			return fputs(threads_help, stdout), cli_common_end(&cc), 0;
		} else {
			return cli_common_end(&cc),
			       cli_usage_error("threads", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if ((rc = cli_common_target(&cc, argc, argv)) || optind < argc)
		return cli_common_end(&cc), rc ? rc : cli_usage_error("threads", "one TARGET please");
	vm_map_options mo = { .no_stats = true, .stacks = true };
	vm_target *t;
	vm_map *m;
	if ((rc = cli_common_map(&cc, &mo, &t, &m)))
		return cli_common_end(&cc), rc;
	bool found = !only;
	for (size_t i = 0; i < m->nthreads; i++)
		found |= m->threads[i].tid == only;
	if (!found) {
		rc = cli_error(EXIT_RUNTIME, "threads: process %lld has no thread %lld",
			       (long long)m->info.pid, (long long)only);
		goto out;
	}
	vm_symbolizer *s = vm_symbolizer_new(m, t, lines ? VM_SYM_LINES : 0);
	vm_threads_report rep;
	vm_threads_inspect(m, t, s, frames, &rep);
	if (cc.json) {
		json_writer *w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
		json_obj_begin(w);
		json_key(w, "thread_db");
		json_str(w, rep.thread_db_note ? rep.thread_db_note : "ok");
		json_key(w, "threads");
		json_arr_begin(w);
		for (size_t i = 0; i < rep.n; i++)
			if (!only || rep.t[i].thread->tid == only)
				json_thread(w, m, t, s, &rep.t[i]);
		json_arr_end(w);
		json_obj_end(w);
		json_done(w);
		free(w);
	} else {
		printf("pid %lld (%s): %zu thread%s\n\n", (long long)m->info.pid,
		       m->info.name ? m->info.name : "?", m->nthreads, m->nthreads == 1 ? "" : "s");
		for (size_t i = 0; i < rep.n; i++)
			if (!only || rep.t[i].thread->tid == only)
				text_thread(m, t, s, &rep.t[i], regs);
		if (rep.thread_db_note)
			printf("(start routines: %s)\n", rep.thread_db_note);
	}
	fflush(stdout);
	cli_print_warnings(m);
	vm_threads_report_free(&rep);
	vm_symbolizer_free(s);
out:
	vm_map_free(m);
	vm_target_close(t);
	cli_common_end(&cc);
	return rc;
}
