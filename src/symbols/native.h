/* The platform's own symbol engine for PE modules, beside our tables:
 * dbghelp in the Windows build (symbols/win/native_dbghelp.c: full PDBs,
 * DWARF in PE images), none elsewhere (native_none.c). Strings live as
 * long as the native_syms. */
#ifndef VMATLAS_SYMBOLS_NATIVE_H
#define VMATLAS_SYMBOLS_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmatlas/symbols.h"

typedef struct native_syms native_syms;

typedef struct native_sym {
	const char *name;
	const char *mangled; /* the name as the image has it, when demangled */
	uint64_t addr, size; /* live address; size 0: unknown */
} native_sym;

/* NULL where there is no engine (or it cannot start) */
native_syms *native_syms_new(const vm_map *m, vm_target *t);
void native_syms_free(native_syms *n);
/* the function (or data) symbol at or below a live address of mod;
 * demangled when asked and it is a C++ name */
bool native_syms_find(native_syms *n, const vm_module *mod, uint64_t addr, bool demangle, native_sym *out);
/* the source line holding a live address: file, line, [addr, end) */
bool native_syms_line(native_syms *n, const vm_module *mod, uint64_t addr, vm_line_row *out);
/* the live address where a breakpoint on file:line of mod goes (file:
 * the name or its last components) */
bool native_syms_line_addr(native_syms *n, const vm_module *mod, const char *file, int line, uint64_t *addr);
/* what the engine found for mod ("dbghelp:dwarf", "dbghelp:pdb"); NULL: nothing */
const char *native_syms_source(native_syms *n, const vm_module *mod);

#endif
