/* File and line of a link-time address, from DWARF through libdw. */
#ifndef VMATLAS_LINES_H
#define VMATLAS_LINES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct line_index line_index;

/* NULL if the file has no usable line information; fd stays the caller's */
line_index *lines_open(int fd);
bool lines_lookup(line_index *li, uint64_t addr, const char **file, int *line);
void lines_close(line_index *li);

#endif
