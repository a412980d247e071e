/* What the parts of vmatlas tui share (tui_app.c: the main screen;
 * tui_mem.c: the memory view; tui_ops.c: search, dump, whatis). */
#ifndef VMATLAS_TUI_INT_H
#define VMATLAS_TUI_INT_H

#include <stdint.h>

#include "tui.h"
#include "ui.h"

typedef enum row_kind { ROW_ALLOC, ROW_REGION, ROW_GONE } row_kind;

typedef struct tui_row {
	row_kind kind;
	size_t i; /* allocation, region or gone index */
} tui_row;

/* a region the last refresh found removed */
typedef struct tui_gone {
	uint64_t base, size;
	uint32_t prot;
	vm_state state;
	vm_type type;
	vm_usage usage;
	char *path;
} tui_gone;

#define MARK_ADDED 0x1u
#define MARK_SIZE 0x2u
#define MARK_PROT 0x4u
#define MARK_OTHER 0x8u
#define MARK_WRITTEN 0x10u /* its pages' contents changed */

typedef struct tui_app {
	vm_target *t;
	vm_map **mp;
	vm_symbolizer **sp;
	tui_options o;
	bool live;
	/* the tree */
	unsigned usage_mask; /* 1 << usage shown */
	bool show_free;
	int sort_col;
	bool sort_desc;
	uint64_t *expanded; /* bases of the expanded allocations */
	size_t nexp, ecap;
	tui_row *rows;
	size_t nrows, rcap;
	ui_list tree, sum, det;
	int focus;
	char find[256];
	/* since the last refresh */
	uint8_t *mark; /* per region */
	uint64_t *written; /* per region: bytes whose page changed */
	struct vm_page_hashes *hashes; /* per region of the map, NULL when not hashed */
	tui_gone *gone;
	size_t ngone;
	unsigned refreshes;
	char changes[256];
	double last_refresh;
} tui_app;

static inline vm_map *tui_map(const tui_app *a)
{
	return *a->mp;
}

/* digits of an address in this map */
int tui_aw(const vm_map *m);
/* the title bar (row 0) */
void tui_draw_title(const tui_app *a, const char *what);
/* a one-line description of addr: "libc.so.6!malloc+0x10", "[heap]+0x20",
 * else its region's usage and details */
void tui_describe(const tui_app *a, uint64_t addr, char *buf, size_t n);

/* an address expression (vmatlas/expr.h): 0, or -1 with an error; with
 * no target (a snapshot) "[...]" is refused: there is no memory */
int tui_eval(const tui_app *a, const char *text, uint64_t *out);

/* the memory view from addr until q/Esc */
void tui_memview(tui_app *a, uint64_t addr);
/* ask for a pattern, search, list the hits (Enter: memory view) */
void tui_search(tui_app *a);
/* ask for a file, dump [addr, addr+size) to it */
void tui_dump(tui_app *a, uint64_t addr, uint64_t size);
/* ask for an expression (addr the default), show what it is */
void tui_whatis(tui_app *a, uint64_t addr);

#endif
