/* The Windows build has no libdw (Debian builds none for mingw-w64; the
 * Makefile leaves lines.c out): DWARF line numbers come from dbghelp
 * there (native_dbghelp.c). Each answers "not here", as it does on Linux
 * for a file without that data. */
#include <stdlib.h>

#include "symbols/lines.h"
#include "vmatlas/symbols.h"

line_index *lines_open(int fd)
{
	(void)fd;
	return NULL;
}

line_index *lines_open_sections(const lines_section *sec, size_t n)
{
	(void)sec;
	(void)n;
	return NULL;
}

bool lines_lookup(line_index *li, uint64_t addr, const char **file, int *line)
{
	(void)li;
	(void)addr;
	(void)file;
	(void)line;
	return false;
}

bool lines_row(line_index *li, uint64_t addr, line_row *out)
{
	(void)li;
	(void)addr;
	(void)out;
	return false;
}

bool lines_prologue_end(line_index *li, uint64_t lo, uint64_t hi, uint64_t *at)
{
	(void)li;
	(void)lo;
	(void)hi;
	(void)at;
	return false;
}

bool lines_find(line_index *li, const char *file, int line, uint64_t *addr)
{
	(void)li;
	(void)file;
	(void)line;
	(void)addr;
	return false;
}

void lines_close(line_index *li)
{
	(void)li;
}
