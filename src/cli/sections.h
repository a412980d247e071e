/* The JSON documents of some commands, each a whole document written to
 * f: what 'threads', 'heap', 'env' and 'diff' print with --json, and what
 * 'report' embeds in its page. */
#ifndef VMATLAS_CLI_SECTIONS_H
#define VMATLAS_CLI_SECTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmatlas/diff.h"
#include "vmatlas/heap.h"
#include "vmatlas/snapshot.h"
#include "vmatlas/threads.h"

/* the threads of rep (only the one with tid `only`, unless 0) */
void cli_threads_json(FILE *f, const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_threads_report *rep,
		      int64_t only);
/* the heap report (chunks with blocks; only arena `only`, unless -1) */
void cli_heap_json(FILE *f, const vm_map *m, vm_target *t, const vm_heap_report *r, bool blocks, int only);
/* the same for an NT heap report (heap_nt.c): JSON, and the text of 'heap' */
void cli_heap_nt_json(FILE *f, const vm_heap_report *r, bool blocks, int only);
void cli_heap_nt_text(const vm_map *m, vm_target *t, const vm_heap_report *r, bool blocks, int only);
/* the process environment, read from t (Linux, or the PEB on Windows);
 * sym names the vdso's exports (NULL: one is made for it) */
void cli_env_json(FILE *f, const vm_map *m, vm_target *t, vm_symbolizer *sym);
void cli_diff_json(FILE *f, const vm_diff *d);

/* a path that is neither a live process nor a core or minidump */
bool cli_is_snapshot_file(const char *what);
/* both sides of a diff; a side read now keeps its target (else NULL) */
typedef struct cli_diff_sides {
	vm_snapshot a, b;
	vm_target *ta, *tb;
} cli_diff_sides;
/* each side a snapshot file or a TARGET read to match the other, with a
 * note on stderr when they are different processes: 0, or the status of
 * the error it printed (nothing to release then) */
int cli_diff_load(const char *wa, const char *wb, cli_diff_sides *s);
/* the warnings of a side read now (a saved side had them shown when
 * saved), then both sides freed */
void cli_diff_release(cli_diff_sides *s);

#endif
