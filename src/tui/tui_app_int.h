/* The main screen's internals, shared by its files: tui_app.c (rows,
 * keys, the loop), tui_draw.c (drawing), tui_find.c (find, refresh). */
#ifndef VMATLAS_TUI_APP_INT_H
#define VMATLAS_TUI_APP_INT_H

#include "tui_int.h"

enum { COL_ADDR, COL_SIZE, COL_USAGE, COL_STATE, COL_PROT, COL_TYPE, COL_RSS, COL_PRIV, COL_DETAILS, NCOLS };
extern const char *const ta_col_names[NCOLS];
enum { FOCUS_TREE, FOCUS_SUM, FOCUS_DET, NFOCUS };

/* the rows of the summary: the usages but free, total, free */
#define SUM_ROWS (VM_USAGE_COUNT + 1)
#define SUM_TOTAL (VM_USAGE_COUNT - 1)

void ta_contents_inline(const vm_region *r, strbuf *sb);
bool ta_usage_shown(const tui_app *a, vm_usage u);
void ta_region_details(const vm_region *r, strbuf *sb);
ui_role ta_usage_role(vm_usage u);
char ta_usage_letter(vm_usage u);
uint64_t ta_row_addr(const tui_app *a, const tui_row *r);
double ta_now(void);
void ta_set_expanded(tui_app *a, uint64_t base, bool on);
bool ta_is_expanded(const tui_app *a, uint64_t base);
void ta_build_rows(tui_app *a);
double ta_log2_u64(uint64_t x);
void ta_alloc_stats(const vm_map *m, const vm_alloc *al, uint64_t *rss, uint64_t *priv, bool *valid);
void ta_draw(tui_app *a);
bool ta_find_next(tui_app *a, int dir);
void ta_refresh_map(tui_app *a);
void ta_free_gone(tui_app *a);
struct vm_page_hashes *ta_hash_map(tui_app *a, const vm_map *m);
const vm_region *ta_row_region(const tui_app *a, const tui_row *r);
const tui_row *ta_selected(const tui_app *a);
const char *ta_hints(const tui_app *a);

#endif
