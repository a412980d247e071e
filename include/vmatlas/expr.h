/* Address expressions, as view, whatis and search take them:
 *
 *   expr   := term (('+' | '-') term)*
 *   term   := factor ('*' factor)*
 *   factor := NUMBER | SYMBOL | REGISTER | '[' expr ']' | '(' expr ')'
 *   NUMBER   0x1f00 (hex), 7936 (decimal)
 *   SYMBOL   module!name (libc.so.6!malloc) or name (first match)
 *   REGISTER name@TID (rsp@1234), or name alone for the main thread
 *   [expr]   the pointer-sized word at expr
 *
 * Registers are those the target reports for a thread (rip, rsp, rbp,
 * fs_base ... on x86-64). A Windows target has WinDbg's pseudo-registers
 * too: $teb and $peb (of the main thread, or $teb@TID), $teb32 and $peb32
 * (a WoW64 thread's 32-bit ones; a 32-bit target's own) and $kuser
 * (KUSER_SHARED_DATA, 0x7ffe0000). */
#ifndef VMATLAS_EXPR_H
#define VMATLAS_EXPR_H

#include <stdbool.h>
#include <stdint.h>

#include "map.h"
#include "symbols.h"
#include "target.h"

typedef struct vm_expr_ctx {
	const vm_map *m;
	vm_target *t;
	vm_symbolizer *s;
} vm_expr_ctx;

/* 0; -1 with an error when the target lacks what the text names (a
 * symbol, thread, register, readable word); -2 with an error when the
 * text itself is malformed. Callers take -2 as a usage error. */
int vm_expr_eval(const vm_expr_ctx *c, const char *text, uint64_t *out);

#endif
