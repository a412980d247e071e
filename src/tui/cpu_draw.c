/* The CPU window's panes: disassembly with source lines, registers,
 * memory, stack, log; the layout. */
#include "tui/cpu_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmatlas/error.h"
#include "vmatlas/map.h"

/* ---- source lines ---- */

static const char *src_line(cpu *c, const char *path, int line)
{
	if (!path || line <= 0)
		return NULL;
	if (!c->src_path || strcmp(c->src_path, path)) {
		for (size_t i = 0; i < c->nsrc; i++)
			free(c->src_lines[i]);
		free(c->src_lines);
		free(c->src_path);
		c->src_lines = NULL;
		c->nsrc = 0;
		c->src_path = strdup(path);
		FILE *f = fopen(path, "re");
		if (f) {
			char *l = NULL;
			size_t cap = 0, cp = 0;
			ssize_t n;
			while ((n = getline(&l, &cap, f)) >= 0) {
				while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
					l[--n] = 0;
				if (c->nsrc == cp) {
					cp = cp ? cp * 2 : 256;
					c->src_lines = realloc(c->src_lines, cp * sizeof *c->src_lines);
					if (!c->src_lines)
						abort();
				}
				for (char *t = l; *t; t++)
					if (*t == '\t')
						*t = ' ';
				c->src_lines[c->nsrc++] = strdup(l);
			}
			free(l);
			fclose(f);
		}
	}
	if ((size_t)line > c->nsrc)
		return NULL;
	return c->src_lines[line - 1];
}

/* ---- disassembly ---- */

uint64_t cw_dis_prev(cpu *c, uint64_t a)
{
	/* the instruction before a: decode from a little before and keep
	 * the start that lands on a */
	for (uint64_t back = 32; back >= 1; back--) {
		if (a < back)
			continue;
		vm_dbg_insn in[32];
		size_t n = vm_dbg_disasm(c->d, a - back, 32, in);
		for (size_t i = 0; i < n; i++) {
			if (in[i].addr + in[i].len == a)
				return in[i].addr;
			if (in[i].addr >= a)
				break;
		}
	}
	return a ? a - 1 : 0;
}

static void draw_dis(cpu *c, ui_rect r)
{
	int h = r.h - 1;
	if (h <= 0)
		return;
	size_t want = (size_t)h < MAXROWS ? (size_t)h : MAXROWS;
	c->nins = c->alive ? vm_dbg_disasm(c->d, c->dis_org, want, c->ins) : 0;
	if (!c->nins) {
		ui_textf(r.y + 1, r.x, r.w, ui_attr(UI_DIM), "%016llx  (cannot read)", (unsigned long long)c->dis_org);
		return;
	}
	/* rows: an optional source line, then the instruction; the jump
	 * arrows' gutter between the pc mark and the address */
	int y = r.y + 1;
	const char *lastfile = NULL;
	int lastline = -1;
	size_t shown = 0;
	bool wide = r.w >= 70;
	int lanes = wide ? 6 : 4; /* the gutter: lanes - 1 lines and the heads */
	int row_of[MAXROWS], attr_of[MAXROWS * 2];
	for (int k = 0; k < MAXROWS * 2; k++)
		attr_of[k] = ui_attr(UI_NORMAL);
	for (size_t i = 0; i < c->nins && y < r.y + r.h && y - (r.y + 1) < MAXROWS * 2; i++) {
		vm_dbg_insn *in = &c->ins[i];
		if (c->show_src) {
			char wbuf[256];
			const char *file = NULL;
			int line = 0;
			vm_dbg_where(c->d, in->addr, wbuf, sizeof wbuf, &file, &line);
			if (file && line > 0 && (line != lastline || !lastfile || strcmp(file, lastfile))) {
				const char *s = src_line(c, file, line);
				const char *base = strrchr(file, '/');
				/* right of the gutter: the arrows' lines go on across it */
				ui_line(y, r.x, r.w, ui_attr(UI_NORMAL), "");
				ui_textf(y++, r.x + 4 + lanes, r.w - 4 - lanes, ui_attr(UI_CAT2), "%s:%d  %s",
					 base ? base + 1 : file, line, s ? s : "");
				lastfile = c->src_path;
				lastline = line;
				if (y >= r.y + r.h || y - (r.y + 1) >= MAXROWS * 2)
					break;
			}
		}
		bool sel = i == c->dis_sel && c->focus == P_DIS;
		bool bp = vm_dbg_has_break(c->d, in->addr);
		bool pc = in->addr == c->r.rip;
		char bytes[48] = "";
		if (wide)
			for (int b = 0; b < in->len && b < 8; b++)
				snprintf(bytes + b * 2, sizeof bytes - (size_t)b * 2, "%02x", in->bytes[b]);
		char line[400];
		snprintf(line, sizeof line, "%c%s%*s %012llx %-*s%s", bp ? '*' : ' ', pc ? "=>" : "  ", lanes, "",
			 (unsigned long long)in->addr, wide ? 17 : 0, bytes, in->text);
		int attr = sel ? ui_attr(UI_SELECT)
			       : i == c->dis_sel ? ui_attr(UI_SELECT_DIM)
			       : pc ? (int)(ui_attr(UI_CAT1) | A_BOLD)
			       : bp ? ui_attr(UI_ERROR)
			       : ui_attr(UI_NORMAL);
		row_of[i] = y - (r.y + 1);
		attr_of[y - (r.y + 1)] = attr;
		ui_line(y++, r.x, r.w, attr, line);
		shown++;
	}
	c->nins = shown; /* what is on screen */
	cw_arrows(c, r, r.x + 3, lanes, row_of, attr_of);
}

/* ---- registers ---- */


#define RR(n) { #n, offsetof(vm_regs, n) }
#define RE(n, f) { n, offsetof(vm_regs, f) }
const reg_row cw_reg_rows[] = {
	/* rip and the flags first: they stay in sight at 80x24 */
	RR(rip), RR(rflags), { "flags", 0 }, RR(rax), RR(rbx), RR(rcx), RR(rdx), RR(rsi), RR(rdi), RR(rbp),
	RR(rsp), RR(r8), RR(r9), RR(r10), RR(r11), RR(r12), RR(r13), RR(r14), RR(r15), RR(fs_base),
	RR(gs_base), RR(cs), RR(ss), RR(ds), RR(es), RR(fs), RR(gs),
};
const size_t cw_nreg_rows = sizeof cw_reg_rows / sizeof cw_reg_rows[0];
const reg_row cw_reg_rows32[] = {
	RE("eip", rip), RE("eflags", rflags), { "flags", 0 }, RE("eax", rax), RE("ebx", rbx), RE("ecx", rcx),
	RE("edx", rdx), RE("esi", rsi), RE("edi", rdi), RE("ebp", rbp), RE("esp", rsp), RR(fs_base),
	RR(gs_base), RR(cs), RR(ss), RR(ds), RR(es), RR(fs), RR(gs),
};
const size_t cw_nreg_rows32 = sizeof cw_reg_rows32 / sizeof cw_reg_rows32[0];
const char *const cw_flag_names[] = { "CF", "PF", "AF", "ZF", "SF", "TF", "IF", "DF", "OF" };
const int cw_flag_bits[] = { 0, 2, 4, 6, 7, 8, 9, 10, 11 };

uint64_t cw_reg_val(const cpu *c, const vm_regs *r, size_t i)
{
	uint64_t v;
	memcpy(&v, (const char *)r + c->rows[i].off, sizeof v);
	return v;
}

/* the FPU/SSE/AVX rows: st0-7, fcw, fsw, mxcsr, then ymm0-15 in two
 * rows each (the high half, then the low = xmm), or xmm0-15 without AVX */
#define NFPHEAD 11

static size_t fp_rows(const cpu *c)
{
	int nx = c->ptr == 4 ? 8 : 16;
	return NFPHEAD + (size_t)(c->nymm ? 2 * c->nymm : nx);
}

static void fp_read(cpu *c)
{
	c->fp_ok = c->alive && vm_dbg_fpregs(c->d, &c->fp) == 0;
	c->nymm = c->fp_ok ? vm_dbg_ymm(c->d, c->ymm) : 0;
	if (c->nymm < 0)
		c->nymm = 0;
}

static void hex_bytes(char *out, size_t n, const uint8_t *b, int len)
{
	int o = 0;
	for (int k = len - 1; k >= 0 && o >= 0 && (size_t)o < n; k--)
		o += snprintf(out + o, n - (size_t)o, "%02x", b[k]);
}

static void fp_row(cpu *c, size_t i, char *buf, size_t n)
{
	if (!c->fp_ok) {
		snprintf(buf, n, i ? "" : "(no FP state)");
		return;
	}
	const uint8_t *x = c->fp.fxsave;
	char v[80];
	if (i < 8) {
		snprintf(buf, n, "st%zu   %s", i, vm_f80_format(x + 32 + i * 16, v, sizeof v));
	} else if (i == 8) {
		snprintf(buf, n, "fcw   %04x", (unsigned)(x[0] | x[1] << 8));
	} else if (i == 9) {
		snprintf(buf, n, "fsw   %04x", (unsigned)(x[2] | x[3] << 8));
	} else if (i == 10) {
		snprintf(buf, n, "mxcsr %08x", (unsigned)(x[24] | x[25] << 8 | x[26] << 16 | (unsigned)x[27] << 24));
	} else if (c->nymm) {
		size_t k = (i - NFPHEAD) / 2;
		bool hi = (i - NFPHEAD) % 2 == 0;
		hex_bytes(v, sizeof v, c->ymm[k] + (hi ? 16 : 0), 16);
		if (hi)
			snprintf(buf, n, "ymm%-2zu %s", k, v);
		else
			snprintf(buf, n, "      %s", v);
	} else {
		size_t k = i - NFPHEAD;
		hex_bytes(v, sizeof v, x + 160 + k * 16, 16);
		snprintf(buf, n, "xmm%-2zu %s", k, v);
	}
}

static void reg_row_draw(size_t i, int y, int w, bool sel, void *arg)
{
	cpu *c = arg;
	int x = COLS - c->right_w;
	char buf[160];
	int attr = sel ? ui_attr(c->focus == P_REGS ? UI_SELECT : UI_SELECT_DIM) : ui_attr(UI_NORMAL);
	if (c->fpu) {
		fp_row(c, i, buf, sizeof buf);
		ui_line(y, x, w, attr, buf);
		return;
	}
	if (!strcmp(c->rows[i].name, "flags")) {
		int o = 0;
		for (size_t f = 0; f < sizeof cw_flag_bits / sizeof cw_flag_bits[0]; f++)
			o += snprintf(buf + o, sizeof buf - (size_t)o, "%s%d ", cw_flag_names[f],
				      (int)(c->r.rflags >> cw_flag_bits[f] & 1));
		ui_line(y, x, w, attr, buf);
		if (!sel && c->have_prev)
			for (size_t f = 0, cx = 0; f < sizeof cw_flag_bits / sizeof cw_flag_bits[0]; f++, cx += 4)
				if ((c->r.rflags ^ c->prev.rflags) >> cw_flag_bits[f] & 1)
					ui_textf(y, x + (int)cx, w - (int)cx, ui_attr(UI_CHANGED), "%s%d", cw_flag_names[f],
						 (int)(c->r.rflags >> cw_flag_bits[f] & 1));
		return;
	}
	uint64_t v = cw_reg_val(c, &c->r, i);
	bool changed = c->have_prev && v != cw_reg_val(c, &c->prev, i);
	snprintf(buf, sizeof buf, "%-7s %0*llx", c->rows[i].name, c->ptr * 2, (unsigned long long)v);
	ui_line(y, x, w, sel ? attr : changed ? ui_attr(UI_CHANGED) : attr, buf);
}

/* ---- memory ---- */

static int mem_per_row(int w)
{
	return w >= 76 ? 16 : 8;
}

void cw_mem_cell(cpu *c, const uint8_t *p, char *out, size_t n)
{
	switch (c->unit) {
	case U_U8: snprintf(out, n, "%02x", p[0]); break;
	case U_U16: snprintf(out, n, "%04x", (unsigned)(p[0] | p[1] << 8)); break;
	case U_U32: {
		uint32_t v;
		memcpy(&v, p, 4);
		snprintf(out, n, "%08x", v);
		break;
	}
	case U_U64: {
		uint64_t v;
		memcpy(&v, p, 8);
		snprintf(out, n, "%016llx", (unsigned long long)v);
		break;
	}
	case U_F32: {
		float v;
		memcpy(&v, p, 4);
		snprintf(out, n, "%.6g", (double)v);
		break;
	}
	case U_F64: {
		double v;
		memcpy(&v, p, 8);
		snprintf(out, n, "%.10g", v);
		break;
	}
	case U_F80: {
		/* the decoded value, shortened to the pane's cell */
		char v[64], *end;
		vm_f80_format(p, v, sizeof v);
		long double x = strtold(v, &end);
		if (end != v && !*end)
			snprintf(out, n, "%.12Lg", x);
		else
			snprintf(out, n, "%s", v);
		break;
	}
	case U_ASCII: snprintf(out, n, "%c", isprint(p[0]) ? p[0] : '.'); break;
	case U_UTF16: {
		unsigned v = (unsigned)(p[0] | p[1] << 8);
		snprintf(out, n, "%c", v < 128 && isprint((int)v) ? (int)v : '.');
		break;
	}
	}
}

static int cell_width(int unit)
{
	switch (unit) {
	case U_U8: return 3;
	case U_U16: return 5;
	case U_U32: return 9;
	case U_U64: return 17;
	case U_F32: return 13;
	case U_F64: return 17;
	case U_F80: return 20;
	default: return 1;
	}
}

/* the ranges bpm and watch breakpoints watch (enabled ones) */
static void read_watched(cpu *c)
{
	vm_bp_info *b;
	size_t n = c->alive ? vm_dbg_breakpoints(c->d, &b) : 0;
	c->nwatched = 0;
	for (size_t i = 0; i < n && c->nwatched < sizeof c->watched / sizeof c->watched[0]; i++) {
		uint64_t len = b[i].access ? b[i].mlen : b[i].kind == VM_BP_WATCH ? (uint64_t)b[i].len : 0;
		if (!b[i].enabled || b[i].pending || !len || b[i].addr + len < b[i].addr)
			continue;
		c->watched[c->nwatched].lo = b[i].addr;
		c->watched[c->nwatched].hi = b[i].addr + len;
		c->watched[c->nwatched++].id = b[i].id;
	}
}

/* the breakpoint watching a byte of [a, a+len), 0 none */
static int watched_at(const cpu *c, uint64_t a, uint64_t len)
{
	for (size_t i = 0; i < c->nwatched; i++)
		if (a < c->watched[i].hi && c->watched[i].lo < a + len)
			return c->watched[i].id;
	return 0;
}

static void draw_mem(cpu *c, ui_rect r)
{
	int per = cw_mem_rows_per(c, r.w);
	int us = cw_unit_size[c->unit];
	read_watched(c);
	for (int row = 0; row < r.h - 1; row++) {
		int y = r.y + 1 + row;
		uint64_t a = c->mem_org + (uint64_t)row * (uint64_t)per;
		uint8_t b[32];
		ssize_t got = c->alive ? vm_dbg_read(c->d, a, b, (size_t)per) : -1;
		ui_textf(y, r.x, r.w, ui_attr(UI_DIM), "%012llx", (unsigned long long)a);
		int x = r.x + 13;
		for (int o = 0; o + us <= per; o += us) {
			char cell[64];
			bool ok = got >= o + us;
			if (ok)
				cw_mem_cell(c, b + o, cell, sizeof cell);
			else
				snprintf(cell, sizeof cell, "%.*s", cell_width(c->unit) - (cell_width(c->unit) > 1), "????????????????");
			bool cur = a + (uint64_t)o == c->mem_cur;
			int attr = cur ? ui_attr(c->focus == P_MEM ? UI_SELECT : UI_SELECT_DIM)
				       : ok ? ui_attr(UI_NORMAL) : ui_attr(UI_DIM);
			if (watched_at(c, a + (uint64_t)o, (uint64_t)us)) /* a bpm or watch on it */
				attr = (cur ? attr : ui_attr(UI_CAT5)) | A_UNDERLINE;
			if (x >= r.x + r.w)
				break;
			ui_text(y, x, r.x + r.w - x, attr, cell);
			x += cell_width(c->unit);
		}
		if (c->unit == U_U8 && x + per + 1 <= r.x + r.w && got > 0) {
			char asc[17];
			for (int o = 0; o < per; o++)
				asc[o] = o < got && isprint(b[o]) ? (char)b[o] : '.';
			asc[per] = 0;
			ui_text(y, x + 1, per, ui_attr(UI_CAT3), asc);
		}
	}
}

int cw_mem_rows_per(cpu *c, int w)
{
	if (c->unit == U_F80) /* whole units of 10 bytes */
		return w >= 13 + 2 * cell_width(U_F80) ? 20 : 10;
	int per = mem_per_row(w);
	if (c->unit == U_U64 || c->unit == U_F64)
		per = w >= 60 ? 16 : 8;
	return per;
}

/* ---- stack ---- */

static void stk_row_draw(size_t i, int y, int w, bool sel, void *arg)
{
	cpu *c = arg;
	int x = COLS - c->right_w;
	uint64_t a = c->stk_org + i * (uint64_t)c->ptr, v = 0;
	char line[400], name[256] = "";
	int frame = -1;
	bool ret = false;
	if (!c->alive || vm_dbg_read(c->d, a, &v, (size_t)c->ptr) != c->ptr) {
		snprintf(line, sizeof line, "%012llx ????????", (unsigned long long)a);
	} else {
		if (!c->namer)
			c->namer = vm_dbg_namer_new(c->d);
		vm_dbg_name_value(c->namer, v, name, sizeof name);
		/* the unwinder's frames: frame f holds [sp of f, sp of f+1), its
		 * last slot the return address into frame f+1 */
		for (size_t f = 0; f + 1 < c->nframes; f++)
			if (a >= c->frames[f].sp && a < c->frames[f + 1].sp) {
				frame = (int)f;
				ret = a + (uint64_t)c->ptr == c->frames[f + 1].sp && v == c->frames[f + 1].pc;
			}
		char fr[24] = "";
		if (ret)
			snprintf(fr, sizeof fr, "ret #%d ", frame + 1);
		char at[24];
		if (w < 50) /* narrow: the offset from rsp, the names in sight */
			snprintf(at, sizeof at, "%c%04llx", a >= c->r.rsp ? '+' : '-',
				 (unsigned long long)(a >= c->r.rsp ? a - c->r.rsp : c->r.rsp - a));
		else
			snprintf(at, sizeof at, "%012llx", (unsigned long long)a);
		snprintf(line, sizeof line, "%s %0*llx %s%s", at, c->ptr * 2, (unsigned long long)v, fr, name);
	}
	bool atsp = a == c->r.rsp;
	int attr = sel ? ui_attr(c->focus == P_STACK ? UI_SELECT : UI_SELECT_DIM)
		       : atsp ? (int)(ui_attr(UI_CAT1) | A_BOLD) : ret ? ui_attr(UI_CAT4) : ui_attr(UI_NORMAL);
	if (ret) /* the frame's boundary: a line under its return address */
		attr |= A_UNDERLINE;
	ui_line(y, x, w, attr, line);
}

static void log_row_draw(size_t i, int y, int w, bool sel, void *arg)
{
	cpu *c = arg;
	ui_line(y, 0, w, sel && c->focus == P_LOG ? ui_attr(UI_SELECT) : ui_attr(UI_NORMAL), c->log[i]);
}

/* ---- layout ---- */


void cw_fit_layout(cpu *c, layout *L)
{
	int top = 1, bottom = LINES - 1; /* title, status */
	int H = bottom - top;
	if (c->right_w > COLS - 30)
		c->right_w = COLS - 30;
	if (c->right_w < 24)
		c->right_w = 24;
	int lw = COLS - c->right_w;
	if (c->dis_h < 3)
		c->dis_h = 3;
	if (c->mem_h < 2)
		c->mem_h = 2;
	if (c->dis_h + c->mem_h > H - 2) {
		c->dis_h = H - 2 - c->mem_h;
		if (c->dis_h < 3) {
			c->dis_h = 3;
			c->mem_h = H - 5 > 2 ? H - 5 : 2;
		}
	}
	if (c->regs_h < 3)
		c->regs_h = 3;
	if (c->regs_h > H - 2)
		c->regs_h = H - 2;
	/* a blank column between the two: a long comment of the disassembly
	 * does not run into the registers' names */
	L->p[P_DIS] = (ui_rect){ top, 0, c->dis_h, lw - 1 };
	L->p[P_MEM] = (ui_rect){ top + c->dis_h, 0, c->mem_h, lw - 1 };
	L->p[P_LOG] = (ui_rect){ top + c->dis_h + c->mem_h, 0, H - c->dis_h - c->mem_h, lw - 1 };
	L->p[P_REGS] = (ui_rect){ top, lw, c->regs_h, c->right_w };
	L->p[P_STACK] = (ui_rect){ top + c->regs_h, lw, H - c->regs_h, c->right_w };
}

static void status_where(cpu *c, uint64_t a, char *buf, size_t n)
{
	char w[256] = "";
	const char *file = NULL;
	int line = 0;
	vm_dbg_where(c->d, a, w, sizeof w, &file, &line);
	const vm_map *m = vm_dbg_map(c->d);
	const vm_region *rg = m ? vm_map_region_at(m, a) : NULL;
	char reg[200] = "unmapped";
	if (rg)
		snprintf(reg, sizeof reg, "%llx-%llx %s %s", (unsigned long long)rg->base,
			 (unsigned long long)(rg->base + rg->size), vm_usage_name(rg->usage), rg->path ? rg->path : "");
	snprintf(buf, n, "%llx %s  [%s]", (unsigned long long)a, w, reg);
}

void cw_draw(cpu *c)
{
	erase();
	if (LINES < 14 || COLS < 60) {
		ui_textf(0, 0, COLS, ui_attr(UI_ERROR), "the CPU window needs 60x14 (this is %dx%d); q quits", COLS, LINES);
		refresh();
		return;
	}
	layout L;
	cw_fit_layout(c, &L);
	char title[256];
	snprintf(title, sizeof title, " vmatlas debug  pid %lld  thread %lld  %s", (long long)vm_dbg_pid(c->d),
		 (long long)(c->alive ? vm_dbg_thread(c->d) : 0), c->alive ? "stopped" : "exited");
	ui_line(0, 0, COLS, ui_attr(UI_TITLE), title);
	if (c->fpu)
		fp_read(c);
	for (int i = 0; i < NPANES; i++) {
		char t[64];
		if (i == P_MEM)
			snprintf(t, sizeof t, "%s %s", cw_pane_name[i], cw_unit_name[c->unit]);
		else if (i == P_REGS && c->fpu)
			snprintf(t, sizeof t, "Registers FPU/SSE%s", c->nymm ? "/AVX" : "");
		else if (i == P_DIS && vm_dbg_att(c->d))
			snprintf(t, sizeof t, "%s AT&T", cw_pane_name[i]);
		else
			snprintf(t, sizeof t, "%s", cw_pane_name[i]);
		ui_frame(L.p[i], t, c->focus == i);
	}
	draw_dis(c, L.p[P_DIS]);
	ui_rect in;
	in = L.p[P_REGS];
	in.y++;
	in.h--;
	c->regs.n = c->fpu ? fp_rows(c) : c->nrows;
	ui_list_draw(&c->regs, in, reg_row_draw, c);
	draw_mem(c, L.p[P_MEM]);
	in = L.p[P_STACK];
	in.y++;
	in.h--;
	c->stk.n = 4096;
	ui_list_draw(&c->stk, in, stk_row_draw, c);
	in = L.p[P_LOG];
	in.y++;
	in.h--;
	c->logl.n = c->nlog;
	if (c->nlog)
		ui_list_draw(&c->logl, in, log_row_draw, c);
	char st[400] = "";
	if (c->alive) {
		uint64_t a = c->focus == P_MEM ? c->mem_cur
			     : c->focus == P_STACK ? c->stk_org + c->stk.sel * (uint64_t)c->ptr
			     : c->dis_sel < c->nins ? c->ins[c->dis_sel].addr : c->r.rip;
		status_where(c, a, st, sizeof st);
	}
	char hints[600];
	snprintf(hints, sizeof hints, "F1 help  F2 bp  F7 into  F8 over  F9 run  q quit  %s", st);
	ui_status_draw(LINES - 1, hints);
	refresh();
}

