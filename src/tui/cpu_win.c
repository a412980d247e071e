/* The CPU window: disassembly, registers, memory, stack and log panes on
 * a debugger session, drawn with the ui_* pieces. One thread draws and
 * runs the session; while the target runs (F9, F4, F8 over a call ...)
 * a watcher thread (cpu_watch.c; tui/win/cpu_watch.c on a Windows
 * console) takes ^C or F12 as a pause and calls vm_dbg_interrupt (the
 * only session call allowed from another thread); the keys typed
 * meanwhile go back to curses in order. */
#include "tui/cpu.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/cpu_int.h"
#include "tui/ui.h"
#include "vmatlas/error.h"
#include "vmatlas/map.h"

const char *const cw_pane_name[NPANES] = { "Disassembly", "Registers", "Memory", "Stack", "Log" };
const char *const cw_unit_name[NUNITS] = { "u8", "u16", "u32", "u64", "f32", "f64", "ascii", "utf16", "f80" };
const int cw_unit_size[NUNITS] = { 1, 2, 4, 8, 4, 8, 1, 2, 10 };

/* ---- the log ---- */

void cw_log_add(cpu *c, const char *s)
{
	if (c->nlog == LOGMAX) {
		free(c->log[0]);
		memmove(c->log, c->log + 1, (LOGMAX - 1) * sizeof *c->log);
		c->nlog--;
	}
	c->log[c->nlog++] = strdup(s);
	c->logl.n = c->nlog;
	c->logl.sel = c->nlog - 1;
}

void cw_log_text(cpu *c, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char line[512];
		if (n >= sizeof line)
			n = sizeof line - 1;
		memcpy(line, p, n);
		line[n] = 0;
		cw_log_add(c, line);
		p += n;
		if (*p == '\n')
			p++;
		if (e && p < e + 1)
			p = e + 1;
	}
}

static void on_event(void *arg, vm_dbg *d, const vm_dbg_event *ev)
{
	cpu *c = arg;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	vm_dbg_print_event(d, ev, f);
	fclose(f);
	cw_log_text(c, buf);
	free(buf);
	if (ev->kind == VM_DBG_EV_EXIT)
		c->alive = false;
}

/* ---- running, with a watcher of ^C and F12 ---- */

void cw_run(cpu *c, run_kind k, uint64_t addr)
{
	if (!c->alive) {
		ui_message(true, "the process is not running");
		return;
	}
	c->prev = c->r;
	c->have_prev = true;
	ui_message_clear();
	/* the watcher first, and pauses taken from here on: a pause pressed
	 * once "running" shows is seen, even before the step starts */
	vm_dbg_run_begin(c->d);
	watcher *w = cw_watch_start(c);
	ui_line(LINES - 1, 0, COLS, ui_attr(UI_STATUS), "running...  ^C or F12: pause");
	refresh();
	int rc = 0;
	uint64_t ret = 0;
	switch (k) {
	case R_CONT: rc = vm_dbg_continue(c->d); break;
	case R_STEPI: rc = vm_dbg_stepi(c->d, 1); break;
	case R_NEXTI: rc = vm_dbg_nexti(c->d); break;
	case R_FINISH: rc = vm_dbg_finish(c->d, &ret); break;
	case R_UNTIL: rc = vm_dbg_until(c->d, addr); break;
	}
	char err[256];
	snprintf(err, sizeof err, "%s", rc < 0 ? vm_error() : "");
	cw_watch_stop(w);
	vm_dbg_run_end(c->d);
	if (rc < 0)
		ui_message(true, "%s", err);
	c->alive = vm_dbg_alive(c->d);
	cw_refresh_state(c, true);
	/* the program may have written to the terminal (and scrolled it)
	 * while it ran: paint the whole screen again */
	clear();
}

/* ---- state after a stop ---- */

static bool dis_visible(cpu *c, uint64_t a)
{
	for (size_t i = 0; i < c->nins; i++)
		if (c->ins[i].addr == a)
			return true;
	return false;
}

void cw_push_back(cpu *c, int pane)
{
	uint64_t a = pane == P_DIS ? c->dis_org : pane == P_MEM ? c->mem_org : c->stk_org;
	if (c->nback == HISTMAX) {
		memmove(c->back, c->back + 1, (HISTMAX - 1) * sizeof *c->back);
		c->nback--;
	}
	c->back[c->nback++] = (hist){ pane, a };
}

void cw_dis_goto(cpu *c, uint64_t a)
{
	c->dis_org = a;
	c->dis_sel = 0;
	c->nins = 0;
}

void cw_refresh_state(cpu *c, bool follow_pc)
{
	if (!c->alive)
		return;
	if (vm_dbg_regs(c->d, &c->r) < 0)
		return;
	if (follow_pc && !dis_visible(c, c->r.rip))
		cw_dis_goto(c, c->r.rip);
	if (follow_pc) {
		for (size_t i = 0; i < c->nins; i++)
			if (c->ins[i].addr == c->r.rip)
				c->dis_sel = i;
		c->stk_org = c->r.rsp;
		c->stk.sel = c->stk.top = 0;
	}
	vm_dbg_namer_free(c->namer); /* the heap and threads may have changed */
	c->namer = NULL;
	free(c->frames);
	c->frames = NULL;
	c->nframes = 0;
	if (vm_dbg_backtrace(c->d, &c->frames, &c->nframes) < 0) {
		c->frames = NULL;
		c->nframes = 0;
	}
}

static const ui_help_item help_items[] = {
	{ NULL, "Running" },
	{ "F9", "run (continue); ^C or F12 pauses it" },
	{ "F7", "step into (stepi)" },
	{ "F8", "step over (nexti)" },
	{ "^F8 S-F8 u", "step out (finish)" },
	{ "F4", "run to the cursor (until)" },
	{ "F2", "toggle a breakpoint at the cursor (disassembly)" },
	{ ":", "a debugger command (break, watch, mem, set ...): output in the log" },
	{ NULL, "Moving" },
	{ "Tab S-Tab", "next / previous pane" },
	{ "Up Down PgUp PgDn", "move in the pane" },
	{ "Left Right", "memory: one unit" },
	{ "^G", "go to an expression (in the focused pane)" },
	{ "Enter ^F", "follow (registers: edit; memory: edit with e)" },
	{ "^D", "follow as data (memory pane)" },
	{ "^E", "follow as code (disassembly pane)" },
	{ "^P Backspace", "back" },
	{ "^Left ^Right [ ]", "disassembly: move the origin one byte" },
	{ "*", "disassembly: back to the pc" },
	{ NULL, "Panes" },
	{ "s", "disassembly: source lines on/off" },
	{ "a", "disassembly: Intel / AT&T syntax (also :set syntax att|intel)" },
	{ "f", "registers: general / FPU-SSE-AVX (st0-7, ymm0-15)" },
	{ "Enter e", "registers: edit the register (flags: ZF=1)" },
	{ "e", "memory: edit the value at the cursor" },
	{ "1-9", "memory: u8 u16 u32 u64 f32 f64 ascii utf16 f80" },
	{ "+ -", "grow / shrink the focused pane" },
	{ "< >", "widen / narrow the right column" },
	{ "F1 ?", "this help" },
	{ "^L", "paint the screen again" },
	{ "q F10", "quit (detach an attached process, kill a started one)" },
	{ "^C F12", "while it runs: pause; ^C when stopped quits as q" },
	{ NULL, "Marks" },
	{ "=>  *", "disassembly: the pc, a breakpoint" },
	{ "lines >", "disassembly: jumps to their targets; ^ v: the target is off screen" },
	{ "underlined", "memory: bytes watched by bpm or watch; stack: a return address (ret #N)" },
};

static bool is_enter(int k)
{
	return k == '\n' || k == '\r' || k == KEY_ENTER;
}

static bool key_is(int k, const char *name)
{
	const char *n = keyname(k);
	return n && !strcmp(n, name);
}

static void dis_move(cpu *c, int delta)
{
	if (delta > 0) {
		if (c->dis_sel + 1 < c->nins)
			c->dis_sel++;
		else if (c->nins > 1)
			c->dis_org = c->ins[1].addr;
	} else {
		if (c->dis_sel > 0)
			c->dis_sel--;
		else
			c->dis_org = cw_dis_prev(c, c->dis_org);
	}
}

static void mem_move(cpu *c, int64_t delta, int w)
{
	int per = cw_mem_rows_per(c, w);
	c->mem_cur += (uint64_t)delta;
	c->mem_cur -= (c->mem_cur - c->mem_org) % (uint64_t)cw_unit_size[c->unit] * (c->mem_cur >= c->mem_org);
	if (c->mem_cur < c->mem_org)
		c->mem_org -= (uint64_t)per * ((c->mem_org - c->mem_cur + (uint64_t)per - 1) / (uint64_t)per);
	layout L;
	cw_fit_layout(c, &L);
	uint64_t span = (uint64_t)per * (uint64_t)(L.p[P_MEM].h - 1);
	while (c->mem_cur >= c->mem_org + span)
		c->mem_org += (uint64_t)per;
}

static int handle_key(cpu *c, int k)
{
	layout L;
	cw_fit_layout(c, &L);
	int lw = L.p[P_MEM].w;
	ui_message_clear();
	if (k == 'q' || k == KEY_F(10))
		return 1;
	if (k == KEY_F(1) || k == '?') {
		ui_help("vmatlas debug: the CPU window", help_items, sizeof help_items / sizeof help_items[0]);
		return 0;
	}
	if (k == 12) { /* ^L: repaint, as in a shell */
		clear();
		return 0;
	}
	if (k == '\t') {
		c->focus = (c->focus + 1) % NPANES;
		return 0;
	}
	if (k == KEY_BTAB) {
		c->focus = (c->focus + NPANES - 1) % NPANES;
		return 0;
	}
	if (k == ':')
		return cw_command(c) == 1 ? 2 : 0;
	if (k == 7) { /* ^G */
		cw_go_to(c);
		return 0;
	}
	if (k == 16 || k == KEY_BACKSPACE || k == 127 || k == 8) {
		cw_go_back(c);
		return 0;
	}
	if (k == 4) { /* ^D */
		cw_follow(c, 1);
		return 0;
	}
	if (k == 5) { /* ^E */
		cw_follow(c, 2);
		return 0;
	}
	if (k == 6 || (is_enter(k) && c->focus != P_REGS)) {
		if (c->focus == P_LOG)
			return 0;
		cw_follow(c, 0);
		return 0;
	}
	if (k == KEY_F(2)) {
		if (c->focus != P_DIS)
			ui_message(true, "F2 sets a breakpoint in the disassembly pane");
		else
			cw_toggle_break(c);
		return 0;
	}
	if (k == KEY_F(7)) {
		cw_run(c, R_STEPI, 0);
		return 0;
	}
	if (k == KEY_F(8)) {
		cw_run(c, R_NEXTI, 0);
		return 0;
	}
	if (k == KEY_F(20) || k == KEY_F(32) || k == 'u') {
		cw_run(c, R_FINISH, 0);
		return 0;
	}
	if (k == KEY_F(9)) {
		cw_run(c, R_CONT, 0);
		return 0;
	}
	if (k == KEY_F(4)) {
		if (c->focus != P_DIS || c->dis_sel >= c->nins)
			ui_message(true, "F4 runs to the disassembly cursor");
		else
			cw_run(c, R_UNTIL, c->ins[c->dis_sel].addr);
		return 0;
	}
	if (k == '+' || k == '-') {
		int dlt = k == '+' ? 1 : -1;
		switch (c->focus) {
		case P_DIS: c->dis_h += dlt; break;
		case P_MEM: c->mem_h += dlt; break;
		case P_LOG: c->dis_h -= dlt; break;
		case P_REGS: c->regs_h += dlt; break;
		case P_STACK: c->regs_h -= dlt; break;
		}
		return 0;
	}
	if (k == '<' || k == '>') {
		c->right_w += k == '<' ? 2 : -2;
		return 0;
	}
	switch (c->focus) {
	case P_DIS:
		if (k == KEY_DOWN || k == 'j')
			dis_move(c, 1);
		else if (k == KEY_UP || k == 'k')
			dis_move(c, -1);
		else if (k == KEY_NPAGE)
			for (int i = 0; i < L.p[P_DIS].h - 2; i++)
				dis_move(c, 1);
		else if (k == KEY_PPAGE)
			for (int i = 0; i < L.p[P_DIS].h - 2; i++)
				dis_move(c, -1);
		else if (key_is(k, "kLFT5") || k == '[')
			cw_dis_goto(c, c->dis_org - 1);
		else if (key_is(k, "kRIT5") || k == ']')
			cw_dis_goto(c, c->dis_org + 1);
		else if (k == 's')
			c->show_src = !c->show_src;
		else if (k == 'a')
			vm_dbg_set_att(c->d, !vm_dbg_att(c->d));
		else if (k == '*')
			cw_dis_goto(c, c->r.rip);
		break;
	case P_REGS:
		if (k == 'f') {
			c->fpu = !c->fpu;
			c->regs.sel = c->regs.top = 0;
		} else if (is_enter(k) || k == 'e')
			cw_edit_reg(c);
		else
			ui_list_key(&c->regs, k);
		break;
	case P_MEM: {
		int per = cw_mem_rows_per(c, lw);
		int us = cw_unit_size[c->unit];
		if (k == KEY_RIGHT || k == 'l')
			mem_move(c, us, lw);
		else if (k == KEY_LEFT || k == 'h')
			mem_move(c, -us, lw);
		else if (k == KEY_DOWN || k == 'j')
			mem_move(c, per, lw);
		else if (k == KEY_UP || k == 'k')
			mem_move(c, -per, lw);
		else if (k == KEY_NPAGE)
			mem_move(c, per * (L.p[P_MEM].h - 1), lw);
		else if (k == KEY_PPAGE)
			mem_move(c, -per * (L.p[P_MEM].h - 1), lw);
		else if (k >= '1' && k <= '9') {
			c->unit = k - '1';
			c->mem_cur -= (c->mem_cur - c->mem_org) % (uint64_t)cw_unit_size[c->unit];
		} else if (k == 'e')
			cw_edit_mem(c);
		break;
	}
	case P_STACK:
		ui_list_key(&c->stk, k);
		break;
	case P_LOG:
		ui_list_key(&c->logl, k);
		break;
	}
	return 0;
}

int cpu_run(vm_dbg *d, bool color)
{
	cpu *c = calloc(1, sizeof *c);
	if (!c) {
		vm_dbg_close(d, VM_DBG_QUIT);
		vm_seterr("out of memory");
		return -1;
	}
	c->d = d;
	c->alive = vm_dbg_alive(d);
	const vm_map *m = vm_dbg_map(d);
	bool i386 = m && (m->info.arch == VM_ARCH_I386 || m->info.bits == 32);
	c->ptr = i386 ? 4 : 8;
	c->rows = i386 ? cw_reg_rows32 : cw_reg_rows;
	c->nrows = i386 ? cw_nreg_rows32 : cw_nreg_rows;
	c->show_src = true;
	c->right_w = 38;
	c->dis_h = 11;
	c->mem_h = 6;
	c->regs_h = 13;
	vm_dbg_set_sink(d, on_event, c);
	if (ui_start(color) < 0) {
		vm_dbg_set_sink(d, NULL, NULL);
		vm_dbg_close(d, VM_DBG_QUIT);
		free(c);
		return -1;
	}
	int H = LINES - 2;
	if (H > 22) { /* a bigger terminal: give the panes its rows */
		c->dis_h = H / 2;
		c->mem_h = H / 4;
		c->regs_h = H * 3 / 5;
	}
	if (COLS >= 100) /* room for the stack's names */
		c->right_w = COLS * 45 / 100;
	cw_refresh_state(c, true);
	c->mem_org = c->mem_cur = c->r.rsp;
	const vm_dbg_event *ls = vm_dbg_last_stop(d);
	char where[256] = "";
	if (ls && ls->where[0])
		snprintf(where, sizeof where, "%s", ls->where);
	else /* attached: stopped where it was, no stop event said where */
		vm_dbg_where(d, c->r.rip, where, sizeof where, NULL, NULL);
	char buf[300];
	snprintf(buf, sizeof buf, "stopped at %s", where);
	cw_log_add(c, buf);
	int ended = 0;
	for (;;) {
		cw_draw(c);
		int k = ui_getkey(-1);
		if (k == UI_KEY_QUIT)
			break;
		if (k == KEY_RESIZE || k == ERR)
			continue;
		int r = handle_key(c, k);
		if (r == 1)
			break;
		if (r == 2) {
			ended = 1;
			break;
		}
	}
	ui_stop();
	int rc = 0;
	if (!ended) {
		vm_dbg_set_sink(d, NULL, NULL);
		if (vm_dbg_close(d, VM_DBG_QUIT) < 0) {
			fprintf(stderr, "vmatlas: debug: letting go of the process: %s\n", vm_error());
			rc = -1;
		}
	}
	free(c->frames);
	vm_dbg_namer_free(c->namer);
	for (size_t i = 0; i < c->nlog; i++)
		free(c->log[i]);
	for (size_t i = 0; i < c->nsrc; i++)
		free(c->src_lines[i]);
	free(c->src_lines);
	free(c->src_path);
	free(c);
	ui_reraise();
	if (rc < 0)
		vm_seterr("letting go of the process failed");
	return rc;
}
