/* The CPU window: disassembly, registers, memory, stack and log panes on
 * a debugger session, drawn with the ui_* pieces. One thread draws and
 * runs the session; while the target runs (F9, F4, F8 over a call ...)
 * a second thread watches the terminal for ^C or F12 and calls
 * vm_dbg_interrupt (the only session call allowed from another thread). */
#include "tui/cpu.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui/ui.h"
#include "vmatlas/error.h"
#include "vmatlas/map.h"

enum { P_DIS, P_REGS, P_MEM, P_STACK, P_LOG, NPANES };
static const char *const pane_name[NPANES] = { "Disassembly", "Registers", "Memory", "Stack", "Log" };

enum { U_U8, U_U16, U_U32, U_U64, U_F32, U_F64, U_ASCII, U_UTF16, NUNITS };
static const char *const unit_name[NUNITS] = { "u8", "u16", "u32", "u64", "f32", "f64", "ascii", "utf16" };
static const int unit_size[NUNITS] = { 1, 2, 4, 8, 4, 8, 1, 2 };

#define MAXROWS 256
#define LOGMAX 2000
#define HISTMAX 64

typedef struct hist {
	int pane;
	uint64_t addr;
} hist;

typedef struct reg_row reg_row;

typedef struct cpu {
	vm_dbg *d;
	bool alive;
	int ptr;               /* 8, or 4 for an i386 process */
	const reg_row *rows;   /* its registers */
	size_t nrows;
	int focus;
	/* layout: heights of disassembly and memory (log takes the rest of
	 * the left column), of registers (stack the rest), the right width */
	int dis_h, mem_h, regs_h, right_w;
	/* disassembly */
	uint64_t dis_org;
	size_t dis_sel;
	bool show_src;
	vm_dbg_insn ins[MAXROWS];
	size_t nins;
	/* registers */
	vm_regs r, prev;
	bool have_prev;
	ui_list regs;
	bool fpu;
	/* memory */
	uint64_t mem_org, mem_cur;
	int unit;
	/* stack */
	uint64_t stk_org;
	ui_list stk;
	vm_dbg_frame *frames; /* the unwinder's, at the last stop */
	size_t nframes;
	/* log */
	char *log[LOGMAX];
	size_t nlog;
	ui_list logl;
	/* back */
	hist back[HISTMAX];
	size_t nback;
	/* source cache */
	char *src_path;
	char **src_lines;
	size_t nsrc;
} cpu;

/* ---- the log ---- */

static void log_add(cpu *c, const char *s)
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

static void log_text(cpu *c, const char *text)
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
		log_add(c, line);
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
	log_text(c, buf);
	free(buf);
	if (ev->kind == VM_DBG_EV_EXIT)
		c->alive = false;
}

/* ---- running, with a watcher of ^C and F12 ---- */

typedef struct watcher {
	vm_dbg *d;
	int wake[2];
	/* the other bytes typed meanwhile, given back to ncurses after
	 * (ungetch: keys typed ahead of a step are not lost) */
	unsigned char kept[256];
	size_t nkept;
	pthread_t th;
} watcher;

static void *watch_keys(void *arg)
{
	watcher *w = arg;
	char seq[8];
	size_t n = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = w->wake[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			return NULL;
		char ch;
		if (read(0, &ch, 1) != 1)
			return NULL;
		if (ch == 3) {
			vm_dbg_interrupt(w->d);
			n = 0;
			continue;
		}
		if (w->nkept < sizeof w->kept)
			w->kept[w->nkept++] = (unsigned char)ch;
		if (ch == 27)
			n = 0;
		if (n < sizeof seq - 1)
			seq[n++] = ch;
		seq[n] = 0;
		if (!strcmp(seq, "\033[24~")) { /* F12 */
			vm_dbg_interrupt(w->d);
			w->nkept -= w->nkept >= 5 ? 5 : w->nkept;
			n = 0;
		}
	}
}

static void watch_start(cpu *c, watcher *w)
{
	memset(w, 0, sizeof *w);
	w->d = c->d;
	w->wake[0] = w->wake[1] = -1;
	raw(); /* ^C is a key for the watcher, not a SIGINT */
	if (pipe(w->wake) < 0) {
		w->wake[0] = w->wake[1] = -1;
		return;
	}
	if (pthread_create(&w->th, NULL, watch_keys, w) != 0) {
		close(w->wake[0]);
		close(w->wake[1]);
		w->wake[0] = w->wake[1] = -1;
	}
}

static void watch_stop(watcher *w)
{
	if (w->wake[1] >= 0) {
		ssize_t wr = write(w->wake[1], "x", 1);
		(void)wr;
		pthread_join(w->th, NULL);
		close(w->wake[0]);
		close(w->wake[1]);
	}
	noraw();
	cbreak();
	/* the bytes as keys (ungetch does not decode escape sequences):
	 * the terminal's strings of the keys the window uses */
	static const struct {
		const char *cap;
		int key;
	} caps[] = {
		{ "kf1", KEY_F(1) }, { "kf2", KEY_F(2) }, { "kf4", KEY_F(4) }, { "kf7", KEY_F(7) },
		{ "kf8", KEY_F(8) }, { "kf9", KEY_F(9) }, { "kf10", KEY_F(10) }, { "kf20", KEY_F(20) },
		{ "kf32", KEY_F(32) }, { "kcuu1", KEY_UP }, { "kcud1", KEY_DOWN }, { "kcub1", KEY_LEFT },
		{ "kcuf1", KEY_RIGHT }, { "knp", KEY_NPAGE }, { "kpp", KEY_PPAGE }, { "kcbt", KEY_BTAB },
		{ "kbs", KEY_BACKSPACE },
	};
	int keys[256];
	size_t nk = 0;
	for (size_t i = 0; i < w->nkept && nk < 256;) {
		size_t best = 0;
		int key = 0;
		for (size_t j = 0; j < sizeof caps / sizeof caps[0]; j++) {
			const char *seq = tigetstr((char *)caps[j].cap);
			if (!seq || seq == (char *)-1)
				continue;
			size_t l = strlen(seq);
			if (l > best && l <= w->nkept - i && !memcmp(seq, w->kept + i, l)) {
				best = l;
				key = caps[j].key;
			}
		}
		if (best > 1) {
			keys[nk++] = key;
			i += best;
		} else {
			keys[nk++] = w->kept[i++];
		}
	}
	for (size_t i = nk; i-- > 0;)
		ungetch(keys[i]);
}

typedef enum { R_CONT, R_STEPI, R_NEXTI, R_FINISH, R_UNTIL } run_kind;

static void refresh_state(cpu *c, bool follow_pc);

static void run(cpu *c, run_kind k, uint64_t addr)
{
	if (!c->alive) {
		ui_message(true, "the process is not running");
		return;
	}
	c->prev = c->r;
	c->have_prev = true;
	ui_message_clear();
	ui_line(LINES - 1, 0, COLS, ui_attr(UI_STATUS), "running...  ^C or F12: pause");
	refresh();
	watcher w;
	watch_start(c, &w);
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
	watch_stop(&w);
	if (rc < 0)
		ui_message(true, "%s", err);
	c->alive = vm_dbg_alive(c->d);
	refresh_state(c, true);
}

/* ---- state after a stop ---- */

static bool dis_visible(cpu *c, uint64_t a)
{
	for (size_t i = 0; i < c->nins; i++)
		if (c->ins[i].addr == a)
			return true;
	return false;
}

static void push_back(cpu *c, int pane)
{
	uint64_t a = pane == P_DIS ? c->dis_org : pane == P_MEM ? c->mem_org : c->stk_org;
	if (c->nback == HISTMAX) {
		memmove(c->back, c->back + 1, (HISTMAX - 1) * sizeof *c->back);
		c->nback--;
	}
	c->back[c->nback++] = (hist){ pane, a };
}

static void dis_goto(cpu *c, uint64_t a)
{
	c->dis_org = a;
	c->dis_sel = 0;
	c->nins = 0;
}

static void refresh_state(cpu *c, bool follow_pc)
{
	if (!c->alive)
		return;
	if (vm_dbg_regs(c->d, &c->r) < 0)
		return;
	if (follow_pc && !dis_visible(c, c->r.rip))
		dis_goto(c, c->r.rip);
	if (follow_pc) {
		for (size_t i = 0; i < c->nins; i++)
			if (c->ins[i].addr == c->r.rip)
				c->dis_sel = i;
		c->stk_org = c->r.rsp;
		c->stk.sel = c->stk.top = 0;
	}
	free(c->frames);
	c->frames = NULL;
	c->nframes = 0;
	if (vm_dbg_backtrace(c->d, &c->frames, &c->nframes) < 0) {
		c->frames = NULL;
		c->nframes = 0;
	}
}

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

static uint64_t dis_prev(cpu *c, uint64_t a)
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
	/* rows: an optional source line, then the instruction */
	int y = r.y + 1;
	const char *lastfile = NULL;
	int lastline = -1;
	size_t shown = 0;
	bool wide = r.w >= 70;
	uint64_t lo = c->ins[0].addr, hi = c->ins[c->nins - 1].addr;
	for (size_t i = 0; i < c->nins && y < r.y + r.h; i++) {
		vm_dbg_insn *in = &c->ins[i];
		if (c->show_src) {
			char wbuf[256];
			const char *file = NULL;
			int line = 0;
			vm_dbg_where(c->d, in->addr, wbuf, sizeof wbuf, &file, &line);
			if (file && line > 0 && (line != lastline || !lastfile || strcmp(file, lastfile))) {
				const char *s = src_line(c, file, line);
				const char *base = strrchr(file, '/');
				ui_textf(y++, r.x, r.w, ui_attr(UI_CAT2), "%s:%d  %s", base ? base + 1 : file, line, s ? s : "");
				lastfile = c->src_path;
				lastline = line;
				if (y >= r.y + r.h)
					break;
			}
		}
		bool sel = i == c->dis_sel && c->focus == P_DIS;
		bool bp = vm_dbg_has_break(c->d, in->addr);
		bool pc = in->addr == c->r.rip;
		/* a simple arrow column: branch rows point up or down to a target
		 * on screen, the targets show '>' */
		char arrow = ' ';
		if (in->target && in->is_branch && !in->is_call && in->target >= lo && in->target <= hi)
			arrow = in->target > in->addr ? 'v' : '^';
		for (size_t j = 0; j < c->nins && arrow == ' '; j++)
			if (c->ins[j].target == in->addr && c->ins[j].is_branch && !c->ins[j].is_call)
				arrow = '>';
		char bytes[48] = "";
		if (wide)
			for (int b = 0; b < in->len && b < 8; b++)
				snprintf(bytes + b * 2, sizeof bytes - (size_t)b * 2, "%02x", in->bytes[b]);
		char line[400];
		snprintf(line, sizeof line, "%c%s%c %012llx %-*s%s", bp ? '*' : ' ', pc ? "=>" : "  ", arrow,
			 (unsigned long long)in->addr, wide ? 17 : 0, bytes, in->text);
		int attr = sel ? ui_attr(UI_SELECT)
			       : i == c->dis_sel ? ui_attr(UI_SELECT_DIM)
			       : pc ? (int)(ui_attr(UI_CAT1) | A_BOLD)
			       : bp ? ui_attr(UI_ERROR)
			       : ui_attr(UI_NORMAL);
		ui_line(y++, r.x, r.w, attr, line);
		shown++;
	}
	c->nins = shown; /* what is on screen */
}

/* ---- registers ---- */

struct reg_row {
	const char *name;
	size_t off; /* in vm_regs */
};

#define RR(n) { #n, offsetof(vm_regs, n) }
#define RE(n, f) { n, offsetof(vm_regs, f) }
static const reg_row reg_rows[] = {
	/* rip and the flags first: they stay in sight at 80x24 */
	RR(rip), RR(rflags), { "flags", 0 }, RR(rax), RR(rbx), RR(rcx), RR(rdx), RR(rsi), RR(rdi), RR(rbp),
	RR(rsp), RR(r8), RR(r9), RR(r10), RR(r11), RR(r12), RR(r13), RR(r14), RR(r15), RR(fs_base),
	RR(gs_base), RR(cs), RR(ss), RR(ds), RR(es), RR(fs), RR(gs),
};
static const reg_row reg_rows32[] = {
	RE("eip", rip), RE("eflags", rflags), { "flags", 0 }, RE("eax", rax), RE("ebx", rbx), RE("ecx", rcx),
	RE("edx", rdx), RE("esi", rsi), RE("edi", rdi), RE("ebp", rbp), RE("esp", rsp), RR(fs_base),
	RR(gs_base), RR(cs), RR(ss), RR(ds), RR(es), RR(fs), RR(gs),
};
static const char *const flag_names[] = { "CF", "PF", "AF", "ZF", "SF", "TF", "IF", "DF", "OF" };
static const int flag_bits[] = { 0, 2, 4, 6, 7, 8, 9, 10, 11 };

static uint64_t reg_val(const cpu *c, const vm_regs *r, size_t i)
{
	uint64_t v;
	memcpy(&v, (const char *)r + c->rows[i].off, sizeof v);
	return v;
}

#define NFPROWS 27 /* st0-7, mxcsr, fcw, fsw, xmm0-15 */

static void fp_row(cpu *c, size_t i, char *buf, size_t n)
{
	vm_fpregs f;
	if (vm_dbg_fpregs(c->d, &f) < 0) {
		snprintf(buf, n, "(no FP state)");
		return;
	}
	const uint8_t *x = f.fxsave;
	if (i < 8) {
		const uint8_t *s = x + 32 + i * 16;
		snprintf(buf, n, "st%zu   %02x%02x %02x%02x%02x%02x%02x%02x%02x%02x", i, s[9], s[8], s[7], s[6], s[5], s[4],
			 s[3], s[2], s[1], s[0]);
	} else if (i == 8) {
		snprintf(buf, n, "mxcsr %08x", (unsigned)(x[24] | x[25] << 8 | x[26] << 16 | (unsigned)x[27] << 24));
	} else if (i == 9) {
		snprintf(buf, n, "fcw   %04x", (unsigned)(x[0] | x[1] << 8));
	} else if (i == 10) {
		snprintf(buf, n, "fsw   %04x", (unsigned)(x[2] | x[3] << 8));
	} else {
		size_t k = i - 11;
		const uint8_t *s = x + 160 + k * 16;
		int o = snprintf(buf, n, "xmm%-2zu ", k);
		for (int b = 15; b >= 0 && o > 0 && (size_t)o < n; b--)
			o += snprintf(buf + o, n - (size_t)o, "%02x", s[b]);
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
		for (size_t f = 0; f < sizeof flag_bits / sizeof flag_bits[0]; f++)
			o += snprintf(buf + o, sizeof buf - (size_t)o, "%s%d ", flag_names[f],
				      (int)(c->r.rflags >> flag_bits[f] & 1));
		ui_line(y, x, w, attr, buf);
		if (!sel && c->have_prev)
			for (size_t f = 0, cx = 0; f < sizeof flag_bits / sizeof flag_bits[0]; f++, cx += 4)
				if ((c->r.rflags ^ c->prev.rflags) >> flag_bits[f] & 1)
					ui_textf(y, x + (int)cx, w - (int)cx, ui_attr(UI_CHANGED), "%s%d", flag_names[f],
						 (int)(c->r.rflags >> flag_bits[f] & 1));
		return;
	}
	uint64_t v = reg_val(c, &c->r, i);
	bool changed = c->have_prev && v != reg_val(c, &c->prev, i);
	snprintf(buf, sizeof buf, "%-7s %0*llx", c->rows[i].name, c->ptr * 2, (unsigned long long)v);
	ui_line(y, x, w, sel ? attr : changed ? ui_attr(UI_CHANGED) : attr, buf);
}

/* ---- memory ---- */

static int mem_per_row(int w)
{
	return w >= 76 ? 16 : 8;
}

static void mem_cell(cpu *c, const uint8_t *p, char *out, size_t n)
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
	default: return 1;
	}
}

static void draw_mem(cpu *c, ui_rect r)
{
	int per = mem_per_row(r.w);
	int us = unit_size[c->unit];
	if (c->unit == U_U64 || c->unit == U_F64)
		per = r.w >= 60 ? 16 : 8;
	for (int row = 0; row < r.h - 1; row++) {
		int y = r.y + 1 + row;
		uint64_t a = c->mem_org + (uint64_t)row * (uint64_t)per;
		uint8_t b[16];
		ssize_t got = c->alive ? vm_dbg_read(c->d, a, b, (size_t)per) : -1;
		ui_textf(y, r.x, r.w, ui_attr(UI_DIM), "%012llx", (unsigned long long)a);
		int x = r.x + 13;
		for (int o = 0; o + us <= per; o += us) {
			char cell[40];
			bool ok = got >= o + us;
			if (ok)
				mem_cell(c, b + o, cell, sizeof cell);
			else
				snprintf(cell, sizeof cell, "%.*s", cell_width(c->unit) - (cell_width(c->unit) > 1), "????????????????");
			bool cur = a + (uint64_t)o == c->mem_cur;
			int attr = cur ? ui_attr(c->focus == P_MEM ? UI_SELECT : UI_SELECT_DIM)
				       : ok ? ui_attr(UI_NORMAL) : ui_attr(UI_DIM);
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

static int mem_rows_per(cpu *c, int w)
{
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
	if (!c->alive || vm_dbg_read(c->d, a, &v, (size_t)c->ptr) != c->ptr) {
		snprintf(line, sizeof line, "%012llx ????????", (unsigned long long)a);
	} else {
		const vm_region *rg = vm_dbg_map(c->d) ? vm_map_region_at(vm_dbg_map(c->d), v) : NULL;
		if (rg && rg->state == VM_STATE_FREE)
			rg = NULL;
		bool ret = false;
		if (rg) {
			vm_dbg_where(c->d, v, name, sizeof name, NULL, NULL);
			if (!strncmp(name, "0x", 2)) /* no name: the region's */
				snprintf(name, sizeof name, "%s", rg->path ? rg->path : vm_usage_name(rg->usage));
			if (rg->prot & VM_PROT_EXEC) {
				uint8_t call[5];
				/* a return address: a call right before it */
				if (v >= 5 && vm_dbg_read(c->d, v - 5, call, 5) == 5 && call[0] == 0xe8)
					ret = true;
				else if (v >= 2 && vm_dbg_read(c->d, v - 2, call, 2) == 2 && call[0] == 0xff &&
					 (call[1] & 0x38) == 0x10)
					ret = true;
				else if (v >= 3 && vm_dbg_read(c->d, v - 3, call, 3) == 3 && call[0] == 0xff &&
					 (call[1] & 0x38) == 0x10)
					ret = true;
			}
		}
		/* frame i+1 starts where frame i's return address is: the
		 * unwinder's sp of frame i+1 is just above it */
		int frame = -1;
		for (size_t f = 1; f < c->nframes; f++)
			if (c->frames[f].pc == v && a >= c->frames[f - 1].sp && a < c->frames[f].sp + (uint64_t)c->ptr) {
				ret = true;
				frame = (int)f;
			}
		char fr[16] = "";
		if (frame > 0)
			snprintf(fr, sizeof fr, "#%d ", frame);
		char at[24];
		if (w < 50) /* narrow: the offset from rsp, the names in sight */
			snprintf(at, sizeof at, "%c%04llx", a >= c->r.rsp ? '+' : '-',
				 (unsigned long long)(a >= c->r.rsp ? a - c->r.rsp : c->r.rsp - a));
		else
			snprintf(at, sizeof at, "%012llx", (unsigned long long)a);
		snprintf(line, sizeof line, "%s %0*llx %s%s%s", at, c->ptr * 2, (unsigned long long)v, ret ? "ret " : "", fr,
			 name);
	}
	bool atsp = a == c->r.rsp;
	int attr = sel ? ui_attr(c->focus == P_STACK ? UI_SELECT : UI_SELECT_DIM)
		       : atsp ? (int)(ui_attr(UI_CAT1) | A_BOLD) : strstr(line, " ret ") ? ui_attr(UI_CAT4) : ui_attr(UI_NORMAL);
	ui_line(y, x, w, attr, line);
}

static void log_row_draw(size_t i, int y, int w, bool sel, void *arg)
{
	cpu *c = arg;
	ui_line(y, 0, w, sel && c->focus == P_LOG ? ui_attr(UI_SELECT) : ui_attr(UI_NORMAL), c->log[i]);
}

/* ---- layout ---- */

typedef struct layout {
	ui_rect p[NPANES];
} layout;

static void fit_layout(cpu *c, layout *L)
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
	L->p[P_DIS] = (ui_rect){ top, 0, c->dis_h, lw };
	L->p[P_MEM] = (ui_rect){ top + c->dis_h, 0, c->mem_h, lw };
	L->p[P_LOG] = (ui_rect){ top + c->dis_h + c->mem_h, 0, H - c->dis_h - c->mem_h, lw };
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

static void draw(cpu *c)
{
	erase();
	if (LINES < 14 || COLS < 60) {
		ui_textf(0, 0, COLS, ui_attr(UI_ERROR), "the CPU window needs 60x14 (this is %dx%d); q quits", COLS, LINES);
		refresh();
		return;
	}
	layout L;
	fit_layout(c, &L);
	char title[256];
	snprintf(title, sizeof title, " vmatlas debug  pid %lld  thread %lld  %s", (long long)vm_dbg_pid(c->d),
		 (long long)(c->alive ? vm_dbg_thread(c->d) : 0), c->alive ? "stopped" : "exited");
	ui_line(0, 0, COLS, ui_attr(UI_TITLE), title);
	for (int i = 0; i < NPANES; i++) {
		char t[64];
		if (i == P_MEM)
			snprintf(t, sizeof t, "%s %s", pane_name[i], unit_name[c->unit]);
		else if (i == P_REGS && c->fpu)
			snprintf(t, sizeof t, "Registers FPU/SSE");
		else
			snprintf(t, sizeof t, "%s", pane_name[i]);
		ui_frame(L.p[i], t, c->focus == i);
	}
	draw_dis(c, L.p[P_DIS]);
	ui_rect in;
	in = L.p[P_REGS];
	in.y++;
	in.h--;
	c->regs.n = c->fpu ? NFPROWS : c->nrows;
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
		*v = reg_val(c, &c->r, c->regs.sel);
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

static void follow(cpu *c, int as) /* 0 natural, 1 data, 2 code */
{
	uint64_t v;
	bool code;
	if (!cursor_value(c, &v, &code)) {
		ui_message(true, "nothing to follow here");
		return;
	}
	if (as == 1 || (as == 0 && !code)) {
		push_back(c, P_MEM);
		c->mem_org = c->mem_cur = v;
		c->focus = P_MEM;
	} else {
		push_back(c, P_DIS);
		dis_goto(c, v);
		c->focus = P_DIS;
	}
}

static void go_back(cpu *c)
{
	if (!c->nback) {
		ui_message(false, "nothing to go back to");
		return;
	}
	hist h = c->back[--c->nback];
	c->focus = h.pane;
	if (h.pane == P_DIS)
		dis_goto(c, h.addr);
	else if (h.pane == P_MEM)
		c->mem_org = c->mem_cur = h.addr;
	else {
		c->stk_org = h.addr;
		c->stk.sel = c->stk.top = 0;
	}
}

static void go_to(cpu *c)
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
	push_back(c, p);
	c->focus = p;
	if (p == P_DIS)
		dis_goto(c, v);
	else if (p == P_MEM)
		c->mem_org = c->mem_cur = v;
	else {
		c->stk_org = v & ~(uint64_t)(c->ptr - 1);
		c->stk.sel = c->stk.top = 0;
	}
}

static void toggle_break(cpu *c)
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

static void edit_reg(cpu *c)
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
		snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)reg_val(c, &c->r, c->regs.sel));
		snprintf(label, sizeof label, "%s = ", name);
		if (!ui_prompt(label, buf, sizeof buf) || !buf[0])
			return;
		uint64_t v;
		if (vm_dbg_eval(c->d, buf, &v) < 0 || vm_dbg_reg_set(c->d, name, v) < 0)
			ui_message(true, "%s", vm_error());
	}
	vm_dbg_regs(c->d, &c->r);
}

static void edit_mem(cpu *c)
{
	uint64_t a = c->mem_cur;
	int us = unit_size[c->unit];
	uint8_t cur[8] = { 0 };
	if (vm_dbg_read(c->d, a, cur, (size_t)us) != us) {
		ui_message(true, "cannot read %llx", (unsigned long long)a);
		return;
	}
	char buf[256], label[64];
	mem_cell(c, cur, buf, sizeof buf);
	snprintf(label, sizeof label, "%llx %s = ", (unsigned long long)a, unit_name[c->unit]);
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

/* returns 1 when the command ended the session */
static int command(cpu *c)
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
	log_add(c, echo);
	c->prev = c->r;
	c->have_prev = true;
	/* a command may run the target: it can be paused as F9 */
	watcher w;
	watch_start(c, &w);
	int rc = vm_dbg_exec(c->d, buf, f);
	watch_stop(&w);
	fclose(f);
	log_text(c, out);
	free(out);
	if (rc == 1)
		return 1;
	c->alive = vm_dbg_alive(c->d);
	refresh_state(c, true);
	return 0;
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
	{ "f", "registers: general / FPU-SSE" },
	{ "Enter e", "registers: edit the register (flags: ZF=1)" },
	{ "e", "memory: edit the value at the cursor" },
	{ "1-8", "memory: u8 u16 u32 u64 f32 f64 ascii utf16" },
	{ "+ -", "grow / shrink the focused pane" },
	{ "< >", "widen / narrow the right column" },
	{ "F1 ?", "this help" },
	{ "q F10", "quit (detach an attached process, kill a started one)" },
	{ "^C F12", "while it runs: pause; ^C when stopped quits as q" },
	{ NULL, "Disassembly is Intel syntax only (the engine has no AT&T)" },
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
			c->dis_org = dis_prev(c, c->dis_org);
	}
}

static void mem_move(cpu *c, int64_t delta, int w)
{
	int per = mem_rows_per(c, w);
	c->mem_cur += (uint64_t)delta;
	c->mem_cur -= (c->mem_cur - c->mem_org) % (uint64_t)unit_size[c->unit] * (c->mem_cur >= c->mem_org);
	if (c->mem_cur < c->mem_org)
		c->mem_org -= (uint64_t)per * ((c->mem_org - c->mem_cur + (uint64_t)per - 1) / (uint64_t)per);
	layout L;
	fit_layout(c, &L);
	uint64_t span = (uint64_t)per * (uint64_t)(L.p[P_MEM].h - 1);
	while (c->mem_cur >= c->mem_org + span)
		c->mem_org += (uint64_t)per;
}

static int handle_key(cpu *c, int k)
{
	layout L;
	fit_layout(c, &L);
	int lw = L.p[P_MEM].w;
	ui_message_clear();
	if (k == 'q' || k == KEY_F(10))
		return 1;
	if (k == KEY_F(1) || k == '?') {
		ui_help("vmatlas debug: the CPU window", help_items, sizeof help_items / sizeof help_items[0]);
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
		return command(c) == 1 ? 2 : 0;
	if (k == 7) { /* ^G */
		go_to(c);
		return 0;
	}
	if (k == 16 || k == KEY_BACKSPACE || k == 127 || k == 8) {
		go_back(c);
		return 0;
	}
	if (k == 4) { /* ^D */
		follow(c, 1);
		return 0;
	}
	if (k == 5) { /* ^E */
		follow(c, 2);
		return 0;
	}
	if (k == 6 || (is_enter(k) && c->focus != P_REGS)) {
		if (c->focus == P_LOG)
			return 0;
		follow(c, 0);
		return 0;
	}
	if (k == KEY_F(2)) {
		if (c->focus != P_DIS)
			ui_message(true, "F2 sets a breakpoint in the disassembly pane");
		else
			toggle_break(c);
		return 0;
	}
	if (k == KEY_F(7)) {
		run(c, R_STEPI, 0);
		return 0;
	}
	if (k == KEY_F(8)) {
		run(c, R_NEXTI, 0);
		return 0;
	}
	if (k == KEY_F(20) || k == KEY_F(32) || k == 'u') {
		run(c, R_FINISH, 0);
		return 0;
	}
	if (k == KEY_F(9)) {
		run(c, R_CONT, 0);
		return 0;
	}
	if (k == KEY_F(4)) {
		if (c->focus != P_DIS || c->dis_sel >= c->nins)
			ui_message(true, "F4 runs to the disassembly cursor");
		else
			run(c, R_UNTIL, c->ins[c->dis_sel].addr);
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
			dis_goto(c, c->dis_org - 1);
		else if (key_is(k, "kRIT5") || k == ']')
			dis_goto(c, c->dis_org + 1);
		else if (k == 's')
			c->show_src = !c->show_src;
		else if (k == '*')
			dis_goto(c, c->r.rip);
		break;
	case P_REGS:
		if (k == 'f') {
			c->fpu = !c->fpu;
			c->regs.sel = c->regs.top = 0;
		} else if (is_enter(k) || k == 'e')
			edit_reg(c);
		else
			ui_list_key(&c->regs, k);
		break;
	case P_MEM: {
		int per = mem_rows_per(c, lw);
		int us = unit_size[c->unit];
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
		else if (k >= '1' && k <= '8') {
			c->unit = k - '1';
			c->mem_cur -= (c->mem_cur - c->mem_org) % (uint64_t)unit_size[c->unit];
		} else if (k == 'e')
			edit_mem(c);
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
	c->rows = i386 ? reg_rows32 : reg_rows;
	c->nrows = i386 ? sizeof reg_rows32 / sizeof reg_rows32[0] : sizeof reg_rows / sizeof reg_rows[0];
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
	refresh_state(c, true);
	c->mem_org = c->mem_cur = c->r.rsp;
	const vm_dbg_event *ls = vm_dbg_last_stop(d);
	if (ls) {
		char buf[300];
		snprintf(buf, sizeof buf, "stopped at %s", ls->where);
		log_add(c, buf);
	}
	int ended = 0;
	for (;;) {
		draw(c);
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
