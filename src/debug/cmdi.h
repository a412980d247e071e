/* The command language's insides: cmd.c parses and dispatches, the
 * show_*.c files print each result as text or as one JSON object. */
#ifndef VMATLAS_DEBUG_CMDI_H
#define VMATLAS_DEBUG_CMDI_H

#include "dbg.h"

typedef struct cmd_out {
	vm_dbg *d;
	FILE *f;
	bool json;
	const char *name; /* the command word */
} cmd_out;

struct json_writer;
/* a result object: {"command": NAME, "ok": ok, ...} */
void show_json_begin(cmd_out *o, struct json_writer *w, bool ok);
void show_json_end(struct json_writer *w);
/* simple results */
void show_ok(cmd_out *o);
void show_error(cmd_out *o);
void show_end(cmd_out *o, const char *what, int rc);
void show_bp_set(cmd_out *o, int id);
int show_value(cmd_out *o, uint64_t v);
int show_help(cmd_out *o);
/* show_state.c */
int show_breakpoints(cmd_out *o);
int show_breakpoints_of(cmd_out *o, bool bpm_only);
int show_regs(cmd_out *o);
int show_regs_of(cmd_out *o, int what); /* 0 general, 1 avx, 2 all */
/* stack.c: N slots from sp, each value named, frames marked */
int show_stack(cmd_out *o, uint64_t n);
int show_threads(cmd_out *o);
/* limit 0: every frame; else the innermost limit (outer: outermost) */
int show_bt(cmd_out *o, uint64_t limit, bool outer);
/* show_mem.c: a unit's size in bytes (0: ptr), -1 not a unit */
int show_unit_size(const char *unit);
int show_mem(cmd_out *o, uint64_t addr, uint64_t count, const char *unit);
int show_disasm(cmd_out *o, uint64_t addr, uint64_t count);

#endif
