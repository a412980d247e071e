/* vmatlas tui: a map to browse in a terminal (summary by usage, the
 * allocation tree, details, a memory view, search, dump, whatis, and for
 * a live target refreshes that show what changed). The generic ncurses
 * pieces it is made of are in ui.h. */
#ifndef VMATLAS_TUI_H
#define VMATLAS_TUI_H

#include <stdbool.h>

#include "vmatlas/map.h"
#include "vmatlas/symbols.h"
#include "vmatlas/target.h"

typedef struct tui_options {
	bool color;
	unsigned refresh_s;   /* refresh a live target every N seconds; 0: only on 'r' */
	vm_map_options mo;    /* how the map is built again on a refresh */
	unsigned sym_flags;   /* how the symbolizer is made again */
	const char *target;   /* the TARGET as named, for the title */
	const char *note;     /* shown on the bottom line at the start, or NULL */
} tui_options;

/* Browse until the user quits (or a terminating signal): 0, or -1 with
 * an error when the terminal cannot be used. A refresh replaces the map
 * and the symbolizer: the caller frees what *m and *sym hold afterwards.
 * The terminal is restored on every way out. */
int tui_run(vm_target *t, vm_map **m, vm_symbolizer **sym, const tui_options *o);

#endif
