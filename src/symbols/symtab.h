/* One module's symbols, at link-time addresses, sorted for lookup. */
#ifndef VMATLAS_SYMTAB_H
#define VMATLAS_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmatlas/elf.h"

typedef struct sym_entry {
	uint64_t addr, size;
	uint32_t name;   /* offset into the table's names */
	uint8_t type, bind;
	bool dynamic;    /* from the dynamic symbol table: exported */
	bool versioned;  /* a hidden version (name@VER): an old, compat one */
	uint32_t ver;    /* "@@VER" or "@VER" in the names, 0: none */
	uint8_t rank;    /* how much it is worth at its address (symtab.c) */
	uint16_t len;    /* the name's length, at most 0xffff: for sorting */
} sym_entry;

struct line_index;

typedef struct sym_table {
	sym_entry *e;
	size_t n, cap;
	sym_entry *tls;      /* thread-local symbols: addr is the offset in
				the module's TLS block */
	size_t ntls, tcap;
	char *names;
	size_t nlen, ncap;
	uint8_t build_id[64];
	size_t build_id_len;
	char *sources;       /* "symtab,dynsym,debug:/usr/lib/debug/..." */
	int dwarf_fd;        /* a file with DWARF, -1 if none */
	struct line_index *lines;
	bool lines_tried;
	uint64_t lines_adjust; /* added to a link-time address for the DWARF's
				  (a PE's: its preferred base) */
	char **dm;           /* demangled names, by entry; lazily */
	struct sym_section *sec; /* allocated sections by address; none when
				    the symbols came from memory */
	size_t nsec, seccap;
	struct sym_forward *fwd; /* PE exports forwarded to another DLL: no
				    address here, names only */
	size_t nfwd, fwdcap;
} sym_table;

/* a forwarded export: its name (or "#ORDINAL") and "DLL.name" */
typedef struct sym_forward {
	uint32_t name, target; /* offsets into the table's names */
} sym_forward;

/* an allocated section, for unsized symbols: one names an address only
 * up to the end of its own section */
typedef struct sym_section {
	uint64_t addr, size;
} sym_section;

sym_table *symtab_new(void);
/* add the useful symbols of an ELF symbol table: defined, with an
 * address (no sections, files, TLS offsets or mapping symbols) */
void symtab_add(sym_table *t, const elf_symtab *st, bool dynamic);
/* the same, with each symbol's version suffix ("@@GLIBC_2.14"; NULL: none,
 * as elf_dynsym_versions gives them); a name spelled "name@VER" in a
 * table is split the same way */
void symtab_add_versioned(sym_table *t, const elf_symtab *st, bool dynamic, char *const *vers);
const char *symtab_version(const sym_table *t, const sym_entry *e); /* NULL: none */
/* one symbol (PE exports, COFF symbols: ELF's STT_ and STB_ values) */
void symtab_add_one(sym_table *t, const char *name, uint64_t addr, uint64_t size, uint8_t type, uint8_t bind,
		    bool dynamic);
/* an export forwarded to another DLL: listed, never an address's name */
void symtab_add_forward(sym_table *t, const char *name, const char *target);
void symtab_note_source(sym_table *t, const char *what);
/* the image's allocated sections (once: the first image given wins) */
void symtab_add_sections(sym_table *t, const elf_image *e);
/* "name@plt" for each PLT stub of the image (pltsyms.c) */
void symtab_add_plt(sym_table *t, const elf_image *e);
/* sort and drop duplicates; call once after the last add */
void symtab_finish(sym_table *t);
/* the symbol for a link-time address: a sized symbol containing it, else
 * the nearest unsized one below it when no sized symbol ends in between
 * and it lies in the same section; NULL otherwise (past a sized symbol's
 * end the address is the module's, as gdb and eu-stack say) */
const sym_entry *symtab_find(const sym_table *t, uint64_t addr);
const char *symtab_name(const sym_table *t, const sym_entry *e);
/* the name to show: demangled when asked and it is a C++ name (kept) */
const char *symtab_display_name(sym_table *t, const sym_entry *e, bool demangle);
void symtab_free(sym_table *t);

#endif
