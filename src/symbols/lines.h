/* File and line of a link-time address, from DWARF through libdw. */
#ifndef VMATLAS_LINES_H
#define VMATLAS_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct line_index line_index;

/* NULL if the file has no usable line information; fd stays the caller's */
line_index *lines_open(int fd);
/* DWARF sections found elsewhere than in an ELF file (a mingw PE image
 * keeps .debug_* as sections of its own): given to libdw inside an ELF
 * image made in memory; the data is copied */
typedef struct lines_section {
	const char *name; /* ".debug_info" ... */
	const uint8_t *data;
	size_t size;
} lines_section;
line_index *lines_open_sections(const lines_section *sec, size_t n);
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
/* the lowest address of FILE:LINE (FILE a path, or its tail after a
 * '/'; libdw's match), or of the next line after it with code */
bool lines_find(line_index *li, const char *file, int line, uint64_t *addr);
void lines_close(line_index *li);

#endif
