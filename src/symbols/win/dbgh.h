/* One dbghelp session over a map (Windows build only): SymInitialize on a
 * handle of its own, not the target's process (the same code then serves
 * live processes, minidumps and image files, and nothing reaches into
 * target/windows), each PE module loaded once at its live base from its
 * file (SymLoadModuleEx), when the file is the very image. dbghelp reads
 * PDBs and, in Wine, the DWARF of mingw images. */
#ifndef VMATLAS_SYMBOLS_WIN_DBGH_H
#define VMATLAS_SYMBOLS_WIN_DBGH_H

#include <windows.h>

#include <stdbool.h>

#include "vmatlas/map.h"
#include "vmatlas/target.h"

typedef struct dbgh dbgh;

/* NULL when dbghelp cannot start */
dbgh *dbgh_open(const vm_map *m, vm_target *t);
void dbgh_close(dbgh *d);
/* the handle dbghelp knows this session by */
HANDLE dbgh_handle(const dbgh *d);
/* mod loaded into the session (once); false if it has no file to load */
bool dbgh_load(dbgh *d, const vm_module *mod);
/* every module of the map, for StackWalk64 */
void dbgh_load_all(dbgh *d);
/* what dbghelp found for mod: "dbghelp:dwarf", "dbghelp:pdb",
 * "dbghelp:coff"; NULL: nothing beyond exports */
const char *dbgh_source(dbgh *d, const vm_module *mod);
/* a UTF-8 string from UTF-16, malloc'd */
char *dbgh_utf8(const wchar_t *w);

#endif
