/* The CPU window's actions: follow, back, go to, breakpoints, edits,
 * the command line. */
#include "tui/cpu_int.h"

#include <ctype.h>
#include <float.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmatlas/error.h"
#include "vmatlas/map.h"

_Static_assert(LDBL_MANT_DIG == 64, "long double is the x87 extended format (f80 edits)");

/* ---- actions ---- */

/* the value under the cursor: a register's, the stack slot's or the
 * memory's pointer; an instruction's target or operand */
static bool cursor_value(cpu *c, uint64_t *v, bool *code)
{
	*code = false;
	switch (c->focus) {
	case P_DIS:
		if (c->dis_sel >= c->nins)
			return false;
		if (c->ins[c->dis_sel].target) {
			*v = c->ins[c->dis_sel].target;
			*code = true;
			return true;
		}
		if (c->ins[c->dis_sel].ref) {
			*v = c->ins[c->dis_sel].ref;
			return true;
		}
		return false;
	case P_REGS:
		if (c->fpu || !strcmp(c->rows[c->regs.sel].name, "flags"))
			return false;
		*v = cw_reg_val(c, &c->r, c->regs.sel);
		*code = c->regs.sel == 0; /* rip / eip */
		return true;
	case P_STACK:
	case P_MEM: {
		uint64_t a = c->focus == P_MEM ? c->mem_cur : c->stk_org + c->stk.sel * (uint64_t)c->ptr;
		*v = 0;
		if (vm_dbg_read(c->d, a, v, (size_t)c->ptr) != c->ptr)
			return false;
		const vm_region *rg = vm_dbg_map(c->d) ? vm_map_region_at(vm_dbg_map(c->d), *v) : NULL;
		*code = rg && (rg->prot & VM_PROT_EXEC);
		return true;
	}
	default: return false;
	}
}

void cw_follow(cpu *c, int as) /* 0 natural, 1 data, 2 code */
{
	uint64_t v;
	bool code;
	if (!cursor_value(c, &v, &code)) {
		ui_message(true, "nothing to follow here");
		return;
	}
	if (as == 1 || (as == 0 && !code)) {
		cw_push_back(c, P_MEM);
		c->mem_org = c->mem_cur = v;
		c->focus = P_MEM;
	} else {
		cw_push_back(c, P_DIS);
		cw_dis_goto(c, v);
		c->focus = P_DIS;
	}
}

void cw_go_back(cpu *c)
{
	if (!c->nback) {
		ui_message(false, "nothing to go back to");
		return;
	}
	hist h = c->back[--c->nback];
	c->focus = h.pane;
	if (h.pane == P_DIS)
		cw_dis_goto(c, h.addr);
	else if (h.pane == P_MEM)
		c->mem_org = c->mem_cur = h.addr;
	else {
		c->stk_org = h.addr;
		c->stk.sel = c->stk.top = 0;
	}
}

void cw_go_to(cpu *c)
{
	char buf[256] = "";
	if (!ui_prompt("Go to expression: ", buf, sizeof buf) || !buf[0])
		return;
	uint64_t v;
	if (vm_dbg_eval(c->d, buf, &v) < 0) {
		ui_message(true, "%s", vm_error());
		return;
	}
	int p = c->focus == P_REGS || c->focus == P_LOG ? P_DIS : c->focus;
	cw_push_back(c, p);
	c->focus = p;
	if (p == P_DIS)
		cw_dis_goto(c, v);
	else if (p == P_MEM)
		c->mem_org = c->mem_cur = v;
	else {
		c->stk_org = v & ~(uint64_t)(c->ptr - 1);
		c->stk.sel = c->stk.top = 0;
	}
}

void cw_toggle_break(cpu *c)
{
	if (c->dis_sel >= c->nins)
		return;
	uint64_t a = c->ins[c->dis_sel].addr;
	if (vm_dbg_has_break(c->d, a)) {
		vm_bp_info *bps;
		size_t n = vm_dbg_breakpoints(c->d, &bps);
		for (size_t i = 0; i < n; i++)
			if (bps[i].kind == VM_BP_CODE && bps[i].addr == a) {
				int id = bps[i].id;
				if (vm_dbg_delete(c->d, id) < 0)
					ui_message(true, "%s", vm_error());
				else
					ui_message(false, "breakpoint %d deleted", id);
				return;
			}
		return;
	}
	char e[32];
	snprintf(e, sizeof e, "0x%llx", (unsigned long long)a);
	vm_bp_spec s;
	memset(&s, 0, sizeof s);
	int id;
	if (vm_dbg_break(c->d, e, &s, &id) < 0)
		ui_message(true, "%s", vm_error());
	else
		ui_message(false, "breakpoint %d at %s", id, e);
}

void cw_edit_reg(cpu *c)
{
	if (c->fpu)
		return;
	const char *name = c->rows[c->regs.sel].name;
	char buf[128];
	char label[64];
	if (!strcmp(name, "flags")) {
		buf[0] = 0;
		snprintf(label, sizeof label, "Set flag (ZF=1): ");
		if (!ui_prompt(label, buf, sizeof buf) || !buf[0])
			return;
		char *eq = strchr(buf, '=');
		if (!eq) {
			ui_message(true, "write FLAG=0 or FLAG=1");
			return;
		}
		*eq = 0;
		char *fl = buf;
		while (*fl == ' ')
			fl++;
		for (char *t = fl + strlen(fl); t > fl && t[-1] == ' ';)
			*--t = 0;
		uint64_t v;
		if (vm_dbg_eval(c->d, eq + 1, &v) < 0 || vm_dbg_reg_set(c->d, fl, v) < 0)
			ui_message(true, "%s", vm_error());
	} else {
		snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)cw_reg_val(c, &c->r, c->regs.sel));
		snprintf(label, sizeof label, "%s = ", name);
		if (!ui_prompt(label, buf, sizeof buf) || !buf[0])
			return;
		uint64_t v;
		if (vm_dbg_eval(c->d, buf, &v) < 0 || vm_dbg_reg_set(c->d, name, v) < 0)
			ui_message(true, "%s", vm_error());
	}
	vm_dbg_regs(c->d, &c->r);
}

void cw_edit_mem(cpu *c)
{
	uint64_t a = c->mem_cur;
	int us = cw_unit_size[c->unit];
	uint8_t cur[16] = { 0 };
	if (vm_dbg_read(c->d, a, cur, (size_t)us) != us) {
		ui_message(true, "cannot read %llx", (unsigned long long)a);
		return;
	}
	char buf[256], label[64];
	cw_mem_cell(c, cur, buf, sizeof buf);
	snprintf(label, sizeof label, "%llx %s = ", (unsigned long long)a, cw_unit_name[c->unit]);
	if (!ui_prompt(label, buf, sizeof buf) || !buf[0])
		return;
	uint8_t out[256];
	size_t n = 0;
	if (c->unit == U_ASCII) {
		n = strlen(buf);
		memcpy(out, buf, n);
	} else if (c->unit == U_UTF16) {
		for (size_t i = 0; buf[i] && n + 2 <= sizeof out; i++) {
			out[n++] = (uint8_t)buf[i];
			out[n++] = 0;
		}
	} else if (c->unit == U_F80) {
		char *e;
		long double lv = strtold(buf, &e);
		if (e == buf) {
			ui_message(true, "not a number: %s", buf);
			return;
		}
		memcpy(out, &lv, 10); /* the x87 format's 10 bytes */
		n = 10;
	} else if (c->unit == U_F32 || c->unit == U_F64) {
		char *e;
		double dv = strtod(buf, &e);
		if (e == buf) {
			ui_message(true, "not a number: %s", buf);
			return;
		}
		if (c->unit == U_F32) {
			float fv = (float)dv;
			memcpy(out, &fv, 4);
			n = 4;
		} else {
			memcpy(out, &dv, 8);
			n = 8;
		}
	} else {
		/* hex cells: "2a" or an expression ("0x2a", "rax+1") */
		uint64_t v;
		char ex[260];
		bool hex = true;
		for (const char *p = buf; *p; p++)
			hex = hex && isxdigit((unsigned char)*p);
		snprintf(ex, sizeof ex, "%s%s", hex ? "0x" : "", buf);
		if (vm_dbg_eval(c->d, ex, &v) < 0) {
			ui_message(true, "%s", vm_error());
			return;
		}
		memcpy(out, &v, (size_t)us);
		n = (size_t)us;
	}
	if (vm_dbg_write(c->d, a, out, n) < 0)
		ui_message(true, "%s", vm_error());
	else
		ui_message(false, "wrote %zu byte%s at %llx", n, n == 1 ? "" : "s", (unsigned long long)a);
}

/* returns 1 when the cw_command ended the session */
int cw_command(cpu *c)
{
	char buf[512] = "";
	if (!ui_prompt(":", buf, sizeof buf) || !buf[0])
		return 0;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return 0;
	char echo[600];
	snprintf(echo, sizeof echo, ":%s", buf);
	cw_log_add(c, echo);
	c->prev = c->r;
	c->have_prev = true;
	/* a cw_command may cw_run the target: it can be paused as F9; one
	 * that ends the session frees it, out of the watcher's sight */
	watcher *w = vm_dbg_ends_session(buf) ? NULL : cw_watch_start(c);
	int rc = vm_dbg_exec(c->d, buf, f);
	if (w)
		cw_watch_stop(w);
	fclose(f);
	cw_log_text(c, out);
	free(out);
	if (rc == 1)
		return 1;
	c->alive = vm_dbg_alive(c->d);
	cw_refresh_state(c, true);
	return 0;
}

