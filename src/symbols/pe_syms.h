/* PE modules' symbols: exports from memory and from the file on disk,
 * and the COFF symbol table of the file (pe_syms.c). */
#ifndef VMATLAS_PE_SYMS_H
#define VMATLAS_PE_SYMS_H

#include "symtab.h"
#include "vmatlas/pe.h"
#include "vmatlas/target.h"

void pe_syms_load(sym_table *t, vm_target *tg, const vm_module *mod);
/* the image at base in target memory (mapped layout); close with
 * pe_close_module_memory */
int pe_open_module_memory(vm_target *t, uint64_t base, pe_image *pe);
void pe_close_module_memory(pe_image *pe);
/* a module's file on disk, from the path the target names (a Unix path,
 * or Wine's Z:\ drive), else by its name in the image path (whose
 * SizeOfImage must be want_size, when not 0); *fdp is its descriptor for
 * the caller to close */
int pe_open_module_file(const char *path, uint64_t want_size, pe_image *pe, int *fdp);
/* the path of a module's file, found as pe_open_module_file finds it
 * (native first: a path the host opens as it is, the Windows build's own
 * paths; NULL: none), when it is the very image (timestamp and
 * SizeOfImage as in target memory, where that is readable); malloc'd,
 * NULL if none */
char *pe_module_file_path(vm_target *t, const vm_module *mod, const char *native);
/* an i386 COFF name without the C compiler's decoration ("_f", "_f@8",
 * "@f@8": f); NULL when it has none; malloc'd */
char *pe_i386_undecorated(const char *name);
/* the host path of a path a Windows target names; NULL if none; malloc'd */
char *pe_module_host_path(const char *path);

#endif
