/* vmatlas threads: every thread with its registers, stack, thread
 * pointer, start routine and call stack. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/threads.h"
#include "sections.h"

typedef struct threads_args {
	uint64_t frames, tid;
	bool regs, no_lines;
} threads_args;

static void threads_init(void *p)
{
	((threads_args *)p)->frames = 64;
}

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
static size_t seh(const vm_map *m, vm_target *t, const vm_thread_info *ti, vm_seh_record *out, bool *ended,
		  bool *scanned)
{
	*ended = *scanned = false;
	if (m->info.bits != 32 || m->info.os != VM_OS_WINDOWS)
		return 0;
	return vm_seh_chain_find(m, t, ti->thread, out, SEH_MAX, ended, scanned);
}

static void text_thread(const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_thread_info *ti, bool regs)
{
	const vm_thread *th = ti->thread;
	char a[16], b[16], c[16], sym[1024];
	int aw = m->info.bits == 32 ? 8 : 16;
	printf("Thread %lld%s%s%s%s  state %c\n", (long long)th->tid, th->name ? " \"" : "", th->name ? th->name : "",
	       th->name ? "\"" : "", th->is_main ? " (main)" : "", th->state);
	if (th->sp_valid) {
		vm_symbol_info si;
		vm_symbolize(s, th->pc, &si);
		vm_symbol_format(&si, th->pc, sym, sizeof sym);
		printf("  pc %0*llx %s   sp %0*llx\n", aw, (unsigned long long)th->pc, sym, aw,
		       (unsigned long long)th->sp);
		if (th->regs_exception)
			printf("  (registers from the exception record's context, as .ecxr)\n");
	}
	if (th->stack_size) {
		printf("  stack %0*llx-%0*llx (%s)", aw, (unsigned long long)th->stack_base, aw,
		       (unsigned long long)(th->stack_base + th->stack_size),
		       fmt_size(th->stack_size, a, sizeof a));
		if (th->sp_valid)
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
	bool ended, scanned;
	size_t nrec = seh(m, t, ti, rec, &ended, &scanned);
	if (!nrec && !ended && ti->tls && m->info.bits == 32 && m->info.os == VM_OS_WINDOWS)
		printf("  SEH chain: not readable (the TEB or its first record is not in the dump, nor a chain "
		       "on the stack)\n");
	if (nrec) {
		printf("  SEH chain (%zu record%s%s%s):\n", nrec, nrec == 1 ? "" : "s", ended ? "" : ", cut short",
		       scanned ? ", found on the stack: the TEB's head is not in the dump" : "");
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
	if (ti->nframes)
		printf("  %-4s %-*s  %-*s  %-*s  %s\n", "#", aw, "Child-SP", aw, "RetAddr", aw, "Address", "Call site");
	for (size_t k = 0; k < ti->nframes; k++) {
		const vm_frame *f = &ti->frames[k];
		vm_symbol_info si;
		frame_symbol(s, f, k, &si, sym, sizeof sym);
		/* the frame's stack pointer and where it returns to (the
		 * next frame's pc), as a debugger's call stack shows them */
		char spc[20] = "-", ret[20] = "-";
		if (f->sp_valid)
			snprintf(spc, sizeof spc, "%0*llx", aw, (unsigned long long)f->sp);
		if (k + 1 < ti->nframes)
			snprintf(ret, sizeof ret, "%0*llx", aw, (unsigned long long)ti->frames[k + 1].pc);
		printf("  #%-3zu %-*s  %-*s  %0*llx  %s", k, aw, spc, aw, ret, aw, (unsigned long long)f->pc, sym);
		if (si.file)
			printf("  %s:%d", si.file, si.line);
		if (f->signal)
			printf(m->info.os == VM_OS_WINDOWS ? "  <trap frame>" : "  <signal frame>");
		if (f->method && strcmp(f->method, "fp") == 0)
			printf("  (frame pointer)");
		if (f->method && strcmp(f->method, "scan") == 0)
			printf("  (stack scan)");
		if (f->method && strcmp(f->method, "seh") == 0)
			printf("  (SEH record's frame)");
		putchar('\n');
	}
	if (ti->unwind_note && ti->thread->tracer)
		printf("  (%s: process %lld traces it)\n", ti->unwind_note, (long long)ti->thread->tracer);
	else if (ti->unwind_note)
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
		if (th->regs_exception)
			json_kbool(w, "exception_context", true);
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
		if (th->sp_valid) {
			json_ku64(w, "used", ti->used);
		} else {
			json_key(w, "used");
			json_null(w);
		}
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
	bool ended, scanned;
	size_t nrec = seh(m, t, ti, rec, &ended, &scanned);
	if (nrec) {
		json_key(w, "seh");
		json_obj_begin(w);
		json_kbool(w, "complete", ended);
		json_kstr(w, "found_by", scanned ? "stack" : "teb");
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
		json_key(w, "return_address");
		k + 1 < ti->nframes ? json_addr(w, ti->frames[k + 1].pc) : json_null(w);
		json_kstr(w, "symbol", sym);
		json_kstr(w, "module", si.module ? si.module->name : NULL);
		json_kstr(w, "function", si.symbol);
		if (si.mangled)
			json_kstr(w, "mangled", si.mangled);
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
	if (ti->thread->tracer)
		json_ki64(w, "tracer", ti->thread->tracer);
	json_obj_end(w);
}

void cli_threads_json(FILE *f, const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_threads_report *rep,
		      int64_t only)
{
	json_writer *w = xmalloc(sizeof *w);
	json_init(w, f, true);
	json_obj_begin(w);
	json_key(w, "thread_db");
	if (m->info.os == VM_OS_WINDOWS)
		json_null(w); /* glibc's thread library has no place there */
	else
		json_str(w, rep->thread_db_note ? rep->thread_db_note : "ok");
	json_key(w, "threads");
	json_arr_begin(w);
	for (size_t i = 0; i < rep->n; i++)
		if (!only || rep->t[i].thread->tid == only)
			json_thread(w, m, t, s, &rep->t[i]);
	json_arr_end(w);
	json_obj_end(w);
	json_done(w);
	free(w);
}

static int threads_check(cli_ctx *ctx)
{
	ctx->sym_flags = ((threads_args *)ctx->args)->no_lines ? 0 : VM_SYM_LINES;
	return 0;
}

static int threads_run(cli_ctx *ctx)
{
	const threads_args *a = ctx->args;
	unsigned frames = (unsigned)a->frames;
	bool regs = a->regs;
	int64_t only = (int64_t)a->tid;
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	bool found = !only;
	for (size_t i = 0; i < m->nthreads; i++)
		found |= m->threads[i].tid == only;
	if (!found)
		return cli_error(EXIT_RUNTIME, "threads: process %lld has no thread %lld",
				 (long long)m->info.pid, (long long)only);
	vm_symbolizer *s = ctx->sym;
	vm_threads_report rep;
	vm_threads_inspect(m, t, s, frames, &rep);
	if (ctx->json) {
		cli_threads_json(stdout, m, t, s, &rep, only);
	} else {
		printf("pid %lld (%s): %zu thread%s\n\n", (long long)m->info.pid,
		       m->info.name ? m->info.name : "?", m->nthreads, m->nthreads == 1 ? "" : "s");
		for (size_t i = 0; i < rep.n; i++)
			if (!only || rep.t[i].thread->tid == only)
				text_thread(m, t, s, &rep.t[i], regs);
		if (rep.thread_db_note)
			printf("(start routines: %s)\n", rep.thread_db_note);
	}
	vm_threads_report_free(&rep);
	return 0;
}

static const cli_option threads_opts[] = {
	CLI_OPT_U64("frames", "N", threads_args, frames, 1, 100000, "at most N frames per thread (default 64)"),
	CLI_OPT_FLAG("regs", 0, threads_args, regs, "print every register (JSON always has them)"),
	CLI_OPT_U64("tid", "TID", threads_args, tid, 1, INT32_MAX, "only this thread"),
	CLI_OPT_FLAG("no-lines", 0, threads_args, no_lines,
		     "skip file:line (faster with large compressed debug files)"),
};

const cli_command cli_cmd_threads = {
	.name = "threads",
	.summary = "threads: registers, stacks, start routines, call stacks",
	.usage = "[OPTIONS] TARGET\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "Every thread: tid, name, state, registers, its stack (bounds, guard,\n"
		 "bytes in use and the high-water mark), thread pointer, start routine\n"
		 "(from glibc's libthread_db) and call stack (DWARF CFI through libdwfl,\n"
		 "frame pointers where there is no CFI; Windows: x64 .pdata, and on\n"
		 "32-bit frame pointers, stack scans whose calls decode and the frames\n"
		 "of SEH records, each frame marked how it was found), every frame\n"
		 "symbolized with file:line where known. 32-bit Windows threads show\n"
		 "their SEH chain (from the TEB, else found on the stack).\n"
		 "\n"
		 "Each thread is stopped only while its registers and live stack are\n"
		 "copied (microseconds); the unwinding works on the copy.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	.mo = { .no_stats = true, .stacks = true, .no_heaps = true },
	CLI_OPTS(threads_opts),
	CLI_ARGS(threads_args),
	.init = threads_init,
	.check = threads_check,
	.run = threads_run,
};
