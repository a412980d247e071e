/* step and next by source line, as gdb does them: run while the pc is in
 * the current line's range; stop at the start of an is_stmt row of
 * another line; a row that is not a statement is stepped through; a
 * return into the middle of a line takes that line as the current one.
 * `step` into a call stops after the callee's prologue when the callee
 * has line info (a PLT stub is followed to its function, through the
 * lazy binder if the slot is not bound yet), else runs to the return. */
#include "dbg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define MAX_LINE_STEPS 1000000
#define MAX_BIND_STEPS 2000000 /* the dynamic linker binding one slot */

static bool row_at(vm_dbg *d, uint64_t pc, vm_line_row *r)
{
	return d->sym && vm_symbol_line_row(d->sym, pc, r) && r->line;
}

/* the function holding pc: its start and end (0 when unknown) */
static uint64_t func_of(vm_dbg *d, uint64_t pc, uint64_t *end)
{
	vm_symbol_info si;
	*end = 0;
	if (!d->sym || !vm_symbolize(d->sym, pc, &si) || !si.symbol)
		return 0;
	*end = si.symbol_size ? si.symbol_addr + si.symbol_size : 0;
	return si.symbol_addr;
}

/* [endbr] push rbp; mov rbp, rsp: the length of that frame setup, 0 when
 * the function does not start with one (gdb: a frameless function has
 * no prologue to skip) */
static uint64_t frame_setup(vm_dbg *d, uint64_t f)
{
	uint8_t c[16];
	if (vm_dbg_read(d, f, c, sizeof c) != (ssize_t)sizeof c)
		return 0;
	size_t p = 0;
	if (c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && (c[3] == 0xfa || c[3] == 0xfb))
		p = 4;
	if (c[p] != 0x55)
		return 0;
	p++;
	if (d->bits == 64 && (c[p] == 0x48 || c[p] == 0x40))
		p++;
	if ((c[p] == 0x89 && c[p + 1] == 0xe5) || (c[p] == 0x8b && c[p + 1] == 0xec))
		return p + 2;
	return 0;
}

/* where `step` into the function at f stops: DWARF's prologue_end, else
 * past a frame setup, on to the end of the line it ends in */
uint64_t dbg_after_prologue(vm_dbg *d, uint64_t f)
{
	uint64_t end, at;
	uint64_t start = func_of(d, f, &end);
	if (start != f || !end)
		end = f + 1;
	if (end > f + 1 && vm_symbol_prologue_end(d->sym, f, end, &at))
		return at;
	uint64_t pc = f + frame_setup(d, f);
	vm_line_row r;
	if (pc != f && row_at(d, pc, &r) && r.addr != pc && r.end < end)
		pc = r.end;
	return pc;
}

static bool is_plt(vm_dbg *d, uint64_t pc, const vm_module **mod)
{
	vm_symbol_info si;
	if (!d->sym || !vm_symbolize(d->sym, pc, &si) || !si.symbol)
		return false;
	size_t n = strlen(si.symbol);
	*mod = si.module;
	return n > 4 && !strcmp(si.symbol + n - 4, "@plt");
}

/* cur is at the PLT stub at pc: the function it goes to. A bound slot
 * names it; an unbound one (lazy binding) is bound by the dynamic linker
 * first, stepped through until the pc is where the slot now points */
static int through_plt(vm_dbg *d, uint64_t pc, const vm_module *mod, uint64_t *fn, bool *stopped)
{
	uint64_t slot, v = 0;
	size_t w = (size_t)d->bits / 8;
	*fn = pc;
	if (!dbg_plt_slot(d, pc, d->bits == 32 ? d->regs.rbx : 0, &slot) || vm_dbg_read(d, slot, &v, w) != (ssize_t)w)
		return 0;
	if (vm_map_module_at(d->m, v) != mod) {
		*fn = v;
		return 0;
	}
	/* the function is where the binder jumps with the stack as the stub
	 * had it (an IFUNC resolver it calls runs deeper), or what the slot
	 * says once written */
	uint64_t sp = d->regs.rsp;
	const vm_module *binder = NULL;
	for (int n = 0; n < MAX_BIND_STEPS; n++) {
		if (dbg_step_one(d, stopped) < 0)
			return -1;
		if (*stopped || dbg_refresh_regs(d) < 0)
			return *stopped ? 0 : -1;
		if (d->regs.rsp > sp)
			return 0; /* returned: nothing bound */
		uint64_t p = d->regs.rip;
		const vm_module *m = vm_map_module_at(d->m, p);
		if (m == mod)
			continue;
		if (!binder)
			binder = m; /* the stub's first jump out: the dynamic linker */
		if ((m != binder && d->regs.rsp == sp) ||
		    (vm_dbg_read(d, slot, &v, w) == (ssize_t)w && v == p)) {
			*fn = p;
			return 0;
		}
	}
	return 0;
}

/* cur has just entered a function (called, or jumped to its start) that
 * returns to ret: stop after its prologue when it has line info (*done),
 * else run on to ret */
static int entered(vm_dbg *d, uint64_t ret, bool *stopped, bool *done)
{
	*done = false;
	if (dbg_refresh_regs(d) < 0)
		return -1;
	uint64_t pc = d->regs.rip, sp = d->regs.rsp, fn = pc;
	const vm_module *mod = NULL;
	if (is_plt(d, pc, &mod)) {
		if (through_plt(d, pc, mod, &fn, stopped) < 0 || *stopped)
			return *stopped ? 0 : -1;
		if (dbg_refresh_regs(d) < 0)
			return -1;
	}
	vm_line_row r;
	if (d->regs.rsp <= sp && row_at(d, fn, &r)) {
		uint64_t at = dbg_after_prologue(d, fn);
		if (at != d->regs.rip && (dbg_run_to(d, at, 0, stopped) < 0 || *stopped))
			return *stopped ? 0 : -1;
		dbg_stopped_here(d, VM_DBG_EV_STEP, 0);
		*done = true;
		return 0;
	}
	if (d->regs.rsp > sp)
		return 0; /* back in the caller already */
	return dbg_run_to(d, ret, sp, stopped);
}

int dbg_step_into_call(vm_dbg *d, uint64_t ret, bool *stopped, bool *done)
{
	*done = false;
	if (dbg_step_one(d, stopped) < 0)
		return -1;
	if (*stopped)
		return 0;
	return entered(d, ret, stopped, done);
}

typedef struct step_range {
	uint64_t lo, hi, func;
	int line;
	char *file;
} step_range;

static void set_range(vm_dbg *d, step_range *s, const vm_line_row *r, uint64_t pc)
{
	uint64_t end;
	s->lo = r->addr;
	s->hi = r->end;
	s->line = r->line;
	free(s->file);
	s->file = xstrdup(r->file ? r->file : "");
	s->func = func_of(d, pc, &end);
}

/* one instruction, a call run over (next) or stepped into (step) */
static int one(vm_dbg *d, bool over_calls, bool *stopped, bool *done)
{
	bool is_call;
	*done = false;
	uint64_t pc = d->regs.rip, sp = d->regs.rsp;
	size_t len = dbg_insn_len(d, pc, &is_call);
	if (!len || !is_call)
		return dbg_step_one(d, stopped);
	if (over_calls)
		return dbg_run_to(d, pc + len, sp - 1, stopped);
	return dbg_step_into_call(d, pc + len, stopped, done);
}

static int step_line(vm_dbg *d, bool over_calls)
{
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	if (dbg_refresh_regs(d) < 0)
		return -1;
	vm_line_row r;
	step_range s = { 0 };
	if (row_at(d, d->regs.rip, &r)) {
		set_range(d, &s, &r, d->regs.rip);
	} else {
		/* gdb's "single stepping until exit from function, which has
		 * no line number information": the function is the range;
		 * step goes into a callee with lines, next over it */
		uint64_t end;
		s.func = s.lo = func_of(d, d->regs.rip, &end);
		s.hi = end;
		if (!s.lo || s.hi <= d->regs.rip) {
			vm_seterr("no line information at 0x%" PRIx64 " and no bounds of a function there to step "
				  "through (stepi, finish)", d->regs.rip);
			return -1;
		}
		s.file = xstrdup("");
	}
	int rc = 0;
	int n;
	for (n = 0; n < MAX_LINE_STEPS; n++) {
		bool stopped, done;
		if (dbg_refresh_regs(d) < 0 || one(d, over_calls, &stopped, &done) < 0) {
			rc = -1;
			break;
		}
		if (stopped || done)
			break;
		if (dbg_refresh_regs(d) < 0) {
			rc = -1;
			break;
		}
		uint64_t pc = d->regs.rip, end;
		if (pc >= s.lo && pc < s.hi)
			continue;
		/* jumped to the start of another function (a tail call) */
		uint64_t f = func_of(d, pc, &end);
		if (f == pc && f != s.func) {
			uint64_t ret = 0;
			size_t w = (size_t)d->bits / 8;
			if (vm_dbg_read(d, d->regs.rsp, &ret, w) != (ssize_t)w) {
				dbg_stopped_here(d, VM_DBG_EV_STEP, 0);
				break;
			}
			if (over_calls)
				rc = dbg_run_to(d, ret, d->regs.rsp, &stopped);
			else
				rc = entered(d, ret, &stopped, &done);
			if (rc < 0 || stopped || done)
				break;
			if (dbg_refresh_regs(d) < 0) {
				rc = -1;
				break;
			}
			pc = d->regs.rip;
		}
		if (!row_at(d, pc, &r)) {
			dbg_stopped_here(d, VM_DBG_EV_STEP, 0); /* out into code without lines */
			break;
		}
		bool other = r.line != s.line || strcmp(r.file ? r.file : "", s.file);
		if (pc == r.addr && other) {
			if (r.is_stmt) {
				dbg_stopped_here(d, VM_DBG_EV_STEP, 0);
				break;
			}
			if (func_of(d, pc, &end) == s.func)
				continue; /* not a statement: on to a better place */
		}
		/* in the middle of a line (back from a call), or the same
		 * line again: it is the current line now */
		set_range(d, &s, &r, pc);
	}
	if (n == MAX_LINE_STEPS) /* a loop without a way out of the range: say where */
		dbg_stopped_here(d, VM_DBG_EV_STEP, 0);
	free(s.file);
	return rc;
}

int vm_dbg_step_line(vm_dbg *d, bool over_calls)
{
	dbg_run_begin(d); /* a pause asked before or between its runs is taken */
	int rc = step_line(d, over_calls);
	dbg_run_end(d);
	return rc;
}
