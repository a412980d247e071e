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
	bool versioned;  /* the name carries @VERSION */
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
} sym_table;

sym_table *symtab_new(void);
/* add the useful symbols of an ELF symbol table: defined, with an
 * address (no sections, files, TLS offsets or mapping symbols) */
void symtab_add(sym_table *t, const elf_symtab *st, bool dynamic);
/* one symbol (PE exports, COFF symbols: ELF's STT_ and STB_ values) */
void symtab_add_one(sym_table *t, const char *name, uint64_t addr, uint64_t size, uint8_t type, uint8_t bind,
		    bool dynamic);
void symtab_note_source(sym_table *t, const char *what);
/* sort and drop duplicates; call once after the last add */
void symtab_finish(sym_table *t);
/* the symbol for a link-time address: the one containing it, else the
 * nearest one below it; NULL if none is below */
const sym_entry *symtab_find(const sym_table *t, uint64_t addr);
const char *symtab_name(const sym_table *t, const sym_entry *e);
void symtab_free(sym_table *t);

#endif
