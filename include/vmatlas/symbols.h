/* Symbols for any address: module!symbol+offset, and file:line where
 * debug information exists. Each module's table is built once (sorted,
 * binary search) from, in order: .symtab, .dynsym, MiniDebugInfo
 * (.gnu_debugdata), a separate debug file (by build id, or by
 * .gnu_debuglink); the dynamic symbols in target memory when there is no
 * file. PE modules: the export table in target memory, the public
 * symbols of the PDB the CodeView record names (its GUID matched), and
 * from the image's file on disk (by path, Wine's Z:, or --image-path;
 * timestamp and SizeOfImage matched) its exports and COFF symbol table.
 * Tables are shared between modules with the same build id. */
#ifndef VMATLAS_SYMBOLS_H
#define VMATLAS_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "target.h"

typedef struct vm_symbolizer vm_symbolizer;

#define VM_SYM_LINES 0x1u    /* look up file:line too (DWARF) */
#define VM_SYM_DEMANGLE 0x2u /* C++ names demangled (symbols, exports) */
#define VM_SYM_VERSIONS 0x4u /* symbol versions of the dynamic tables (exports) */

typedef struct vm_symbol_info {
	const vm_module *module;  /* NULL: in no module */
	const vm_region *region;  /* the region (or free gap) holding it */
	const char *symbol;       /* NULL: no symbol; demangled with VM_SYM_DEMANGLE */
	const char *mangled;      /* the name as the table has it, when demangled */
	uint64_t symbol_addr;     /* live address of the symbol */
	uint64_t symbol_size;
	uint64_t offset;          /* from the symbol, else from the module base */
	const char *file;         /* NULL: unknown */
	int line;                 /* 0: unknown */
	bool jit;                 /* in anonymous executable memory (JIT code): no
				     module; symbol from the runtime's perf map */
	uint64_t alias_of;        /* in another mapping of a module's file (V8
				     maps node's builtins again near its JIT
				     code): the module's address it stands for,
				     which module, symbol and offset are of; 0 if
				     not so */
} vm_symbol_info;

vm_symbolizer *vm_symbolizer_new(const vm_map *m, vm_target *t, unsigned flags);
void vm_symbolizer_free(vm_symbolizer *s);

/* directories (':'-separated) where PE images are looked up by file
 * name, for symbols and unwind information (WinDbg's image path); NULL:
 * none */
void vm_pe_image_path_set(const char *dirs);
/* directories (':'-separated) where PDB files are looked up by the name
 * an image's CodeView record gives (their GUID must match); NULL: none */
void vm_pdb_symbol_path_set(const char *dirs);

/* always fills `out`; returns true when a module or symbol was found */
bool vm_symbolize(vm_symbolizer *s, uint64_t addr, vm_symbol_info *out);
/* The DWARF line-table row holding a live address, as gdb picks it (the
 * last row at or below it; an is_stmt row at the same address rather
 * than one that is not): [addr, end) up to the next row's address. */
typedef struct vm_line_row {
	uint64_t addr, end;
	const char *file;
	int line;
	bool is_stmt;
} vm_line_row;
bool vm_symbol_line_row(vm_symbolizer *s, uint64_t addr, vm_line_row *out);
/* the live address of FILE:LINE (FILE a path or its tail) in the first
 * module whose DWARF has it (the next line with code if LINE has none) */
bool vm_symbol_line_addr(vm_symbolizer *s, const char *file, int line, uint64_t *addr);
/* the first row of [lo, hi) marked prologue_end (DWARF), live address */
bool vm_symbol_prologue_end(vm_symbolizer *s, uint64_t lo, uint64_t hi, uint64_t *at);

/* The function an IFUNC symbol at addr (memcpy, strlen: its resolver)
 * was bound to, read from the GOT slot of a module's NAME@plt stub once
 * the loader has filled it (x86-64); false when addr is no IFUNC or no
 * module has bound it yet. A breakpoint belongs there: the resolver runs
 * once. */
bool vm_symbol_ifunc_target(vm_symbolizer *s, uint64_t addr, uint64_t *target);

/* "libc.so.6!malloc+0x14", "libc.so.6+0x2a000", "[jit]!LazyCompile:foo+0x8",
 * "[jit]+0x40", or "[heap]+0x10" */
void vm_symbol_format(const vm_symbol_info *si, uint64_t addr, char *buf, size_t n);

/* Where each module's symbols came from ("symtab,dynsym,debug:/usr/...");
 * NULL if none were found. Loads the table if needed. */
const char *vm_symbolizer_sources(vm_symbolizer *s, const vm_module *mod);

/* a symbol's live address by name; module may be NULL (first match in
 * module order, global symbols before local ones). A C++ name as it
 * reads demangled (shapes::Circle::area) finds the function of that
 * name, whatever its parameters (the first overload); with its
 * parameters (shapes::scale(double, int), spaces aside) that overload. */
bool vm_symbol_lookup(vm_symbolizer *s, const char *module, const char *name, uint64_t *addr);
/* how long the symbol name at p is, as expressions take one: letters,
 * digits, _ . $ @, C++'s scope "::" (a destructor's "::~" too) and a
 * template's arguments before one (Box<long>::area); or anything in
 * single quotes, as gdb takes what the grammar cannot hold
 * ('shapes::scale(double, int)', 'max<int>') */
size_t vm_symbol_name_len(const char *p);
/* the name vm_symbol_name_len measured at p, without its quotes (the
 * caller frees it) */
char *vm_symbol_name_dup(const char *p, size_t len);

/* a demangled C++ name (a symbol, or a type as typeinfo keeps it:
 * "N6shapes6CircleE"), malloc'd; NULL if it cannot be */
char *vm_demangle(const char *mangled);
/* a symbol's demangled name ("_ZN4node3fooEv@@V1" -> "node::foo()@@V1"),
 * malloc'd; NULL when it is not a mangled C++ name */
char *vm_demangle_symbol(const char *name);

/* a thread-local symbol's offset in its module's TLS block */
bool vm_symbol_tls_offset(vm_symbolizer *s, const vm_module *mod, const char *name, uint64_t *off);

typedef struct vm_export {
	const vm_module *module;
	const char *name;
	const char *mangled; /* the name as the table has it, when demangled */
	const char *version; /* "@@GLIBC_2.14", "@GLIBC_2.2.5" (hidden); NULL: none */
	uint64_t addr, size;
	const char *kind;  /* func, object, ifunc, tls, notype ... */
	const char *bind;  /* global, weak, unique */
	bool exported;     /* in the dynamic symbol table */
	const char *forwarder; /* a PE export forwarded to "DLL.name": no
				  address (addr 0, kind "forwarder") */
} vm_export;

/* every defined global symbol of every module, in module then address
 * order, each module's forwarders after its symbols; the array is owned
 * by the symbolizer */
size_t vm_exports(vm_symbolizer *s, const vm_export **out);

#endif
