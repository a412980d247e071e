/* The state of the stopped process: breakpoints, registers, threads and
 * the call stack. */
#include "cmdi.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static const char *const bpm_acc[] = { "?", "r", "w", "rw", "x" };

int show_breakpoints(cmd_out *o)
{
	return show_breakpoints_of(o, false);
}

int show_breakpoints_of(cmd_out *o, bool bpm_only)
{
	vm_bp_info *all;
	size_t nall = vm_dbg_breakpoints(o->d, &all), n = 0;
	vm_bp_info *v = all;
	if (bpm_only) { /* the memory breakpoints, in place (the array is the session's) */
		for (size_t i = 0; i < nall; i++)
			if (all[i].access)
				all[n++] = all[i];
	} else {
		n = nall;
	}
	static const char *const rw[] = { "x", "w", "io", "rw" };
	if (!o->json) {
		if (!n)
			fprintf(o->f, "no breakpoints\n");
		for (size_t i = 0; i < n; i++) {
			const vm_bp_info *b = &v[i];
			fprintf(o->f, "%-3d %-5s %-8s 0x%llx %s hits %llu", b->id,
				b->access ? "bpm" : b->kind == VM_BP_WATCH ? "watch" : "break",
				b->enabled ? "enabled" : "disabled", (unsigned long long)b->addr, b->where,
				(unsigned long long)b->hits);
			if (b->access)
				fprintf(o->f, " %s len %llu", bpm_acc[b->access > 4 ? 0 : b->access],
					(unsigned long long)b->mlen);
			if (b->access && b->kind == VM_BP_MEM)
				fprintf(o->f, " pages%s%s%s", b->fast ? " fast" : "", b->uffd ? " uffd" : "",
					b->guard ? " guard" : "");
			else if (b->kind == VM_BP_WATCH && b->access)
				fprintf(o->f, " DR%d", b->slot);
			else if (b->kind == VM_BP_WATCH)
				fprintf(o->f, " len %d %s DR%d", b->len, rw[b->rw & 3], b->slot);
			if (b->temporary)
				fprintf(o->f, " temporary");
			if (b->pending)
				fprintf(o->f, " pending %s", b->expr);
			if (b->cond)
				fprintf(o->f, " if %s", b->cond);
			if (b->log)
				fprintf(o->f, " log \"%s\"", b->log);
			if (b->group)
				fprintf(o->f, " group %s", b->group);
			fputc('\n', o->f);
		}
		if (bpm_only) {
			vm_bpm_counts k;
			vm_dbg_bpm_counts(o->d, &k);
			fprintf(o->f,
				"faults on watched pages: %llu emulated, %llu stepped over (lift, step, re-protect), "
				"%llu by userfaultfd; bpm-mode %s\n",
				(unsigned long long)k.emulated, (unsigned long long)k.stepped,
				(unsigned long long)k.uffd, vm_dbg_bpm_fast(o->d) ? "fast" : "stop");
		}
		return 0;
	}
	json_writer w;
	show_json_begin(o, &w, true);
	json_key(&w, "breakpoints");
	json_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		const vm_bp_info *b = &v[i];
		json_obj_begin(&w);
		json_ki64(&w, "id", b->id);
		json_kstr(&w, "kind", b->access ? "bpm" : b->kind == VM_BP_WATCH ? "watch" : "break");
		json_kaddr(&w, "addr", b->addr);
		json_kstr(&w, "where", b->where);
		json_kstr(&w, "expr", b->expr);
		json_kbool(&w, "enabled", b->enabled);
		json_kbool(&w, "temporary", b->temporary);
		json_kbool(&w, "pending", b->pending);
		json_ku64(&w, "hits", b->hits);
		json_kstr(&w, "cond", b->cond);
		json_kstr(&w, "log", b->log);
		json_kstr(&w, "group", b->group);
		if (b->access) {
			json_ku64(&w, "len", b->mlen);
			json_kstr(&w, "access", bpm_acc[b->access > 4 ? 0 : b->access]);
			json_kbool(&w, "pages", b->kind == VM_BP_MEM);
			if (b->kind == VM_BP_MEM) {
				json_kbool(&w, "fast", b->fast);
				json_kbool(&w, "uffd", b->uffd);
				json_kbool(&w, "guard", b->guard);
			}
			if (b->kind == VM_BP_WATCH)
				json_ki64(&w, "slot", b->slot);
		} else if (b->kind == VM_BP_WATCH) {
			json_ki64(&w, "len", b->len);
			json_kstr(&w, "access", rw[b->rw & 3]);
			json_ki64(&w, "slot", b->slot);
		}
		json_obj_end(&w);
	}
	json_arr_end(&w);
	if (bpm_only) {
		vm_bpm_counts k;
		vm_dbg_bpm_counts(o->d, &k);
		json_key(&w, "page_faults");
		json_obj_begin(&w);
		json_ku64(&w, "emulated", k.emulated);
		json_ku64(&w, "stepped", k.stepped);
		json_ku64(&w, "uffd", k.uffd);
		json_obj_end(&w);
		json_kstr(&w, "bpm_mode", vm_dbg_bpm_fast(o->d) ? "fast" : "stop");
	}
	show_json_end(&w);
	return 0;
}

static const char *const gpr[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8",
				   "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags",
				   "cs",  "ss",  "ds",  "es",  "fs",  "gs",  "fs_base", "gs_base" };
static const char *const flag[] = { "CF", "PF", "AF", "ZF", "SF", "TF", "IF", "DF", "OF" };
#define NGPR (sizeof gpr / sizeof gpr[0])
#define NFLAG (sizeof flag / sizeof flag[0])

/* the x87 stack and controls, and ymm0-15 (xmm0-15 without AVX): `regs
 * avx` shows the vector registers, `regs all` everything */
typedef struct fp_state {
	vm_fpregs f;
	uint8_t y[16][32];
	int ny; /* ymm registers read: 0 without AVX */
} fp_state;

/* read before anything is printed: a state that cannot be read is the
 * command's one error, not a document cut short */
static int read_fp(cmd_out *o, fp_state *st)
{
	if (vm_dbg_fpregs(o->d, &st->f) < 0)
		return -1;
	st->ny = vm_dbg_ymm(o->d, st->y);
	return st->ny < 0 ? -1 : 0;
}

static void show_fp(cmd_out *o, json_writer *w, fp_state *st, bool x87)
{
	const vm_fpregs *f = &st->f;
	uint8_t (*y)[32] = st->y;
	int ny = st->ny;
	int width = ny ? 32 : 16, n = ny ? ny : o->d->bits == 32 ? 8 : 16;
	if (!ny) /* no AVX: the xmm of FXSAVE */
		for (int i = 0; i < n; i++)
			memcpy(y[i], f->fxsave + 160 + 16 * i, 16);
	char name[16], val[80];
	if (x87) {
		if (o->json) {
			json_key(w, "x87");
			json_obj_begin(w);
		}
		for (int i = 0; i < 8; i++) {
			snprintf(name, sizeof name, "st%d", i);
			vm_f80_format(f->fxsave + 32 + 16 * i, val, sizeof val);
			if (o->json)
				json_kstr(w, name, val);
			else
				fprintf(o->f, "%-7s %s\n", name, val);
		}
		static const struct {
			const char *name;
			int off, len;
		} ctl[] = { { "fcw", 0, 2 }, { "fsw", 2, 2 }, { "ftw", 4, 1 }, { "mxcsr", 24, 4 } };
		for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
			uint32_t v = 0;
			memcpy(&v, f->fxsave + ctl[i].off, (size_t)ctl[i].len);
			snprintf(val, sizeof val, "0x%0*x", ctl[i].len * 2, v);
			if (o->json)
				json_kstr(w, ctl[i].name, val);
			else
				fprintf(o->f, "%-7s %s\n", ctl[i].name, val);
		}
		if (o->json)
			json_obj_end(w);
	}
	if (o->json) {
		json_key(w, ny ? "ymm" : "xmm");
		json_obj_begin(w);
	}
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%cmm%d", ny ? 'y' : 'x', i);
		int k = snprintf(val, sizeof val, "0x");
		for (int b = width - 1; b >= 0; b--)
			k += snprintf(val + k, sizeof val - (size_t)k, "%02x", y[i][b]);
		if (o->json)
			json_kstr(w, name, val);
		else
			fprintf(o->f, "%-7s %s\n", name, val);
	}
	if (o->json)
		json_obj_end(w);
}

int show_regs(cmd_out *o)
{
	return show_regs_of(o, 0);
}

/* what: 0 the general registers, 1 the vector ones (avx), 2 all */
int show_regs_of(cmd_out *o, int what)
{
	vm_regs r;
	fp_state fp;
	if (what && read_fp(o, &fp) < 0)
		return -1;
	if (what == 1) {
		if (!o->json) {
			show_fp(o, NULL, &fp, false);
			return 0;
		}
		json_writer w;
		show_json_begin(o, &w, true);
		json_ki64(&w, "tid", vm_dbg_thread(o->d));
		show_fp(o, &w, &fp, false);
		show_json_end(&w);
		return 0;
	}
	if (vm_dbg_regs(o->d, &r) < 0)
		return -1;
	uint64_t v;
	if (!o->json) {
		for (size_t i = 0; i < NGPR; i++) {
			dbg_reg_lookup(&r, gpr[i], &v);
			fprintf(o->f, "%-7s 0x%016llx%s", gpr[i], (unsigned long long)v, i % 3 == 2 ? "\n" : "  ");
		}
		fprintf(o->f, "\nflags  ");
		for (size_t i = 0; i < NFLAG; i++) {
			dbg_reg_lookup(&r, flag[i], &v);
			if (v)
				fprintf(o->f, " %s", flag[i]);
		}
		char where[256];
		const char *file;
		int line;
		vm_dbg_where(o->d, r.rip, where, sizeof where, &file, &line);
		fprintf(o->f, "\npc      %s", where);
		if (file && line)
			fprintf(o->f, " (%s:%d)", file, line);
		fprintf(o->f, "\n");
		if (what == 2)
			show_fp(o, NULL, &fp, true);
		return 0;
	}
	json_writer w;
	show_json_begin(o, &w, true);
	json_ki64(&w, "tid", vm_dbg_thread(o->d));
	json_key(&w, "regs");
	json_obj_begin(&w);
	for (size_t i = 0; i < NGPR; i++) {
		dbg_reg_lookup(&r, gpr[i], &v);
		json_kaddr(&w, gpr[i], v);
	}
	json_obj_end(&w);
	json_key(&w, "flags");
	json_obj_begin(&w);
	for (size_t i = 0; i < NFLAG; i++) {
		dbg_reg_lookup(&r, flag[i], &v);
		json_ki64(&w, flag[i], (int64_t)v);
	}
	json_obj_end(&w);
	if (what == 2)
		show_fp(o, &w, &fp, true);
	show_json_end(&w);
	return 0;
}

/* where a thread is, as it will be reported: one that ran into an int3
 * of ours whose stop is not reported yet (all-stop: another thread's
 * stop came first) stands one byte past it, inside the instruction the
 * int3 replaced; it is shown at the breakpoint, as its hit will say
 * (an instruction of one byte leaves no such doubt only when longer) */
static uint64_t shown_pc(vm_dbg *d, uint64_t pc)
{
	bool is_call;
	dbg_site *s = pc ? dbg_site_at(d, pc - 1) : NULL;
	if (s && s->in && dbg_insn_len(d, pc - 1, &is_call) > 1)
		return pc - 1;
	return pc;
}

/* the thread's name as the map read it (comm; a JVM's "C2 CompilerThre"),
 * NULL for one started since */
static const char *thread_name(vm_dbg *d, int64_t tid)
{
	for (size_t i = 0; d->m && i < d->m->nthreads; i++)
		if (d->m->threads[i].tid == tid)
			return d->m->threads[i].name;
	return NULL;
}

int show_threads(cmd_out *o)
{
	const int64_t *tids;
	size_t n = vm_dbg_threads(o->d, &tids);
	int64_t cur = vm_dbg_thread(o->d);
	json_writer w;
	if (o->json) {
		show_json_begin(o, &w, true);
		json_ki64(&w, "current", cur);
		json_key(&w, "threads");
		json_arr_begin(&w);
	}
	for (size_t i = 0; i < n; i++) {
		vm_regs r;
		char where[256] = "?";
		const char *name = thread_name(o->d, tids[i]);
		bool ok = dbg_get_regs(o->d, tids[i], &r) == 0;
		if (ok) {
			r.rip = shown_pc(o->d, r.rip);
			vm_dbg_where(o->d, r.rip, where, sizeof where, NULL, NULL);
		}
		if (o->json) {
			json_obj_begin(&w);
			json_ki64(&w, "tid", tids[i]);
			if (name)
				json_kstr(&w, "name", name);
			if (ok) {
				json_kaddr(&w, "pc", r.rip);
				json_kstr(&w, "where", where);
			}
			json_obj_end(&w);
		} else {
			fprintf(o->f, "%c %lld %s%s%s%s\n", tids[i] == cur ? '*' : ' ', (long long)tids[i], name ? "\"" : "",
				name ? name : "", name ? "\" " : "", where);
		}
	}
	if (o->json) {
		json_arr_end(&w);
		show_json_end(&w);
	}
	return 0;
}

int show_bt(cmd_out *o, uint64_t limit, bool outer)
{
	vm_dbg_frame *f;
	size_t n;
	if (vm_dbg_backtrace(o->d, &f, &n) < 0)
		return -1;
	size_t from = 0;
	if (limit && limit < n) {
		from = outer ? n - (size_t)limit : 0;
		n = outer ? n : (size_t)limit;
	}
	json_writer w;
	if (o->json) {
		show_json_begin(o, &w, true);
		json_ki64(&w, "tid", vm_dbg_thread(o->d));
		json_key(&w, "frames");
		json_arr_begin(&w);
	}
	for (size_t i = from; i < n; i++) {
		char where[256];
		const char *file;
		int line;
		/* a return address: the call is just before it */
		vm_dbg_where(o->d, i ? f[i].pc - 1 : f[i].pc, where, sizeof where, &file, &line);
		vm_dbg_where(o->d, f[i].pc, where, sizeof where, NULL, NULL);
		if (o->json) {
			json_obj_begin(&w);
			json_kaddr(&w, "pc", f[i].pc);
			json_kaddr(&w, "sp", f[i].sp);
			json_kstr(&w, "where", where);
			json_kstr(&w, "file", file);
			if (line)
				json_ki64(&w, "line", line);
			json_obj_end(&w);
		} else {
			fprintf(o->f, "#%-2zu 0x%016llx %s", i, (unsigned long long)f[i].pc, where);
			if (file && line)
				fprintf(o->f, " (%s:%d)", file, line);
			fputc('\n', o->f);
		}
	}
	if (o->json) {
		json_arr_end(&w);
		show_json_end(&w);
	}
	free(f);
	return 0;
}
