/* The CPU window's internals, shared by its files: cpu_win.c (the loop,
 * running, keys), cpu_draw.c (the panes), cpu_act.c (go to, follow, edit). */
#ifndef VMATLAS_TUI_CPU_INT_H
#define VMATLAS_TUI_CPU_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/ui.h"
#include "vmatlas/debug.h"

enum { P_DIS, P_REGS, P_MEM, P_STACK, P_LOG, NPANES };
extern const char *const cw_pane_name[NPANES];

/* keys 1-9: f80 came last, the others keep their keys */
enum { U_U8, U_U16, U_U32, U_U64, U_F32, U_F64, U_ASCII, U_UTF16, U_F80, NUNITS };
extern const char *const cw_unit_name[NUNITS];
extern const int cw_unit_size[NUNITS];

#define MAXROWS 256
#define LOGMAX 2000
#define HISTMAX 64
#define CW_GUTTER_MAX 8 /* the jump arrows' lanes, at most */

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
	/* the FPU/SSE/AVX view, read once a draw */
	vm_fpregs fp;
	bool fp_ok;
	uint8_t ymm[16][32];
	int nymm;              /* 0: no AVX, the xmm of FXSAVE shown */
	/* memory */
	uint64_t mem_org, mem_cur;
	int unit;
	/* the ranges watched by bpm and watch (marked), read once a draw */
	struct { uint64_t lo, hi; int id; } watched[64];
	size_t nwatched;
	/* stack */
	uint64_t stk_org;
	ui_list stk;
	vm_dbg_frame *frames; /* the unwinder's, at the last stop */
	size_t nframes;
	vm_dbg_namer *namer;  /* names the stack's values; one a stop */
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

/* While the target runs, a watcher (cpu_watch.c on a terminal) takes ^C
 * and F12 as a pause (vm_dbg_interrupt) and keeps the other keys typed,
 * which getch hands out after the run, in the order typed. */
typedef struct watcher watcher;

typedef enum { R_CONT, R_STEPI, R_NEXTI, R_FINISH, R_UNTIL } run_kind;

typedef struct layout {
	ui_rect p[NPANES];
} layout;

struct reg_row {
	const char *name;
	size_t off; /* in vm_regs */
};


void cw_run(cpu *c, run_kind k, uint64_t addr);
/* raw mode and the watcher on; never NULL */
watcher *cw_watch_start(cpu *c);
/* the watcher off (w freed), cbreak mode, the kept keys back */
void cw_watch_stop(watcher *w);
void cw_dis_goto(cpu *c, uint64_t a);
void cw_push_back(cpu *c, int pane);
void cw_refresh_state(cpu *c, bool follow_pc);
void cw_log_text(cpu *c, const char *text);
void cw_log_add(cpu *c, const char *s);
void cw_mem_cell(cpu *c, const uint8_t *p, char *out, size_t n);
uint64_t cw_reg_val(const cpu *c, const vm_regs *r, size_t i);
int cw_mem_rows_per(cpu *c, int w);
void cw_fit_layout(cpu *c, layout *L);
void cw_draw(cpu *c);
/* cpu_arrows.c: the jump arrows in the gutter of `lanes` columns at gx;
 * row_of[i]: the pane row of instruction i, attr_of[row]: its attribute */
void cw_arrows(cpu *c, ui_rect r, int gx, int lanes, const int *row_of, const int *attr_of);
uint64_t cw_dis_prev(cpu *c, uint64_t a);
void cw_go_back(cpu *c);
void cw_edit_mem(cpu *c);
void cw_go_to(cpu *c);
void cw_edit_reg(cpu *c);
void cw_toggle_break(cpu *c);
int cw_command(cpu *c);
void cw_follow(cpu *c, int as);
extern const reg_row cw_reg_rows[], cw_reg_rows32[];
extern const size_t cw_nreg_rows, cw_nreg_rows32;
extern const char *const cw_flag_names[];
extern const int cw_flag_bits[];

#endif
