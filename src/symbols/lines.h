/* File and line of a link-time address, from DWARF through libdw. */
#ifndef VMATLAS_LINES_H
#define VMATLAS_LINES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct line_index line_index;

/* NULL if the file has no usable line information; fd stays the caller's */
line_index *lines_open(int fd);
bool lines_lookup(line_index *li, uint64_t addr, const char **file, int *line);
/* the line-table row for addr as gdb picks it: the last row at or below
 * addr, or an is_stmt row at the same address when that one is not;
 * [addr, end) up to the next row's address (link-time addresses) */
typedef struct line_row {
	uint64_t addr, end;
	const char *file;
	int line;
	bool is_stmt;
} line_row;
bool lines_row(line_index *li, uint64_t addr, line_row *out);
/* the first row in [lo, hi) with the prologue_end flag */
bool lines_prologue_end(line_index *li, uint64_t lo, uint64_t hi, uint64_t *at);
void lines_close(line_index *li);

#endif
