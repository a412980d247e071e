/* PE images (PE32, PE32+) and COFF objects, parsed from a file or from a
 * target's memory (mapped layout: file offsets are RVAs). Every RVA,
 * offset and count is checked against what the reader can deliver;
 * hostile input gives a clear error or a partial result with warnings,
 * never a crash, a hang or an unbounded allocation.
 *
 * The uniform API: pe_open, then pe_section_of_rva / pe_rva_to_offset /
 * pe_read_rva, and one function per directory that returns its table. */
#ifndef VMATLAS_PE_H
#define VMATLAS_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reader.h"

#define PE_NUM_DIRS 16
enum {
	PE_DIR_EXPORT, PE_DIR_IMPORT, PE_DIR_RESOURCE, PE_DIR_EXCEPTION, PE_DIR_SECURITY, PE_DIR_BASERELOC,
	PE_DIR_DEBUG, PE_DIR_ARCHITECTURE, PE_DIR_GLOBALPTR, PE_DIR_TLS, PE_DIR_LOAD_CONFIG,
	PE_DIR_BOUND_IMPORT, PE_DIR_IAT, PE_DIR_DELAY_IMPORT, PE_DIR_CLR, PE_DIR_RESERVED
};

typedef struct pe_dir {
	uint32_t rva, size;
} pe_dir;

typedef struct pe_section {
	char name[9];        /* the 8 bytes of the header, NUL-terminated */
	char *long_name;     /* "/123" resolved through the string table, or NULL */
	uint32_t vsize, rva, raw_size, raw_offset, reloc_offset, lines_offset;
	uint16_t nrelocs, nlines;
	uint32_t flags;
} pe_section;

typedef struct pe_image {
	vm_reader r;
	bool in_memory;      /* r reads the image as mapped: offsets are RVAs */
	uint64_t file_size;  /* what the reader holds (UINT64_MAX unknown) */
	bool is_object;      /* a COFF object: no DOS header, no optional header */
	/* DOS header */
	uint16_t dos[30];    /* e_magic .. e_res2, as 16-bit words */
	uint32_t lfanew;
	/* COFF file header */
	uint16_t machine, nsections, opt_size, characteristics;
	uint32_t timestamp, symtab_offset, nsymbols;
	/* optional header */
	uint16_t magic;      /* 0x10b PE32, 0x20b PE32+ */
	int bits;
	uint8_t linker_major, linker_minor;
	uint32_t size_code, size_idata, size_udata, entry_rva, base_code, base_data;
	uint64_t image_base;
	uint32_t section_align, file_align;
	uint16_t os_major, os_minor, image_major, image_minor, subsys_major, subsys_minor;
	uint32_t win32_version, size_image, size_headers, checksum;
	uint16_t subsystem, dll_characteristics;
	uint64_t stack_reserve, stack_commit, heap_reserve, heap_commit;
	uint32_t loader_flags, ndirs; /* ndirs as the header says */
	pe_dir dirs[PE_NUM_DIRS];     /* those past ndirs are zero */
	pe_section *sec;
	size_t nsec;
	char *strtab;        /* COFF string table (its 4-byte size included) */
	uint32_t strtab_size;
	char *warnings;      /* "; "-separated, NULL when none */
	size_t nwarnings;    /* how many pe_warn calls (kept: at most PE_MAX_WARNINGS) */
	uint64_t first_raw;  /* where the first section's raw data starts: the headers end there */
	size_t *by_rva;      /* section indices sorted by RVA */
	bool disjoint;       /* no two sections' extents overlap: lookups may bisect */
} pe_image;

/* true if buf starts like a PE image (MZ) */
bool pe_is_magic(const void *buf, size_t len);
/* a COFF object: a known machine and sane counts (there is no magic) */
bool coff_is_object(const void *buf, size_t len);

int pe_open(pe_image *pe, const vm_reader *r, bool in_memory);
/* a COFF object file (.obj / .o): file header, sections, symbols */
int coff_open(pe_image *pe, const vm_reader *r);
void pe_close(pe_image *pe);

const char *pe_section_name(const pe_section *s);
/* the section whose [rva, rva + max(vsize, raw_size)) holds rva */
const pe_section *pe_section_of_rva(const pe_image *pe, uint32_t rva);
const pe_section *pe_section_of_offset(const pe_image *pe, uint64_t off);
bool pe_rva_to_offset(const pe_image *pe, uint32_t rva, uint64_t *off);
bool pe_offset_to_rva(const pe_image *pe, uint64_t off, uint32_t *rva);
/* whole or -1; bytes of a section past its raw data read as zeros */
int pe_read_rva(const pe_image *pe, uint32_t rva, void *buf, size_t len);
/* a NUL-terminated string at rva (at most max bytes), copied; NULL if
 * unreadable or unterminated */
char *pe_string_rva(const pe_image *pe, uint32_t rva, size_t max);

/* names */
const char *pe_machine_name(uint16_t m);
const char *pe_subsystem_name(uint16_t s);
const char *pe_dir_name(int i);
/* "a|b|c" of the set flags of a field; into buf */
const char *pe_file_flags(uint16_t c, char *buf, size_t n);
const char *pe_dll_flags(uint16_t c, char *buf, size_t n);
const char *pe_section_flags(uint32_t c, char *buf, size_t n);

/* ---- imports ---- */

typedef struct pe_import_fn {
	char *name;          /* NULL when by ordinal */
	uint16_t hint;
	uint16_t ordinal;    /* when by ordinal */
	bool by_ordinal;
	uint32_t thunk_rva;  /* the IAT slot */
	uint64_t int_value;  /* the lookup table's entry */
	uint64_t iat_value;  /* the IAT's entry (bound: an address) */
} pe_import_fn;

typedef struct pe_import_dll {
	char *dll;
	uint32_t int_rva, iat_rva, name_rva, timestamp, forwarder_chain;
	uint32_t attributes, module_handle_rva; /* delay imports */
	pe_import_fn *fn;
	size_t nfn;
} pe_import_dll;

typedef struct pe_imports {
	pe_import_dll *dll;
	size_t n;
} pe_imports;

int pe_read_imports(pe_image *pe, pe_imports *out);
int pe_read_delay_imports(pe_image *pe, pe_imports *out);
void pe_imports_free(pe_imports *im);

typedef struct pe_bound {
	char *dll;
	uint32_t timestamp;
	uint16_t nforwarders;
	bool forwarder;      /* a forwarder ref of the entry before */
} pe_bound;

int pe_read_bound_imports(pe_image *pe, pe_bound **out, size_t *n);
void pe_bound_free(pe_bound *b, size_t n);

/* ---- exports ---- */

typedef struct pe_export {
	char *name;          /* NULL when exported by ordinal only */
	uint32_t ordinal;    /* biased */
	uint32_t rva;
	char *forwarder;     /* "dll.name" when the RVA points into the directory */
} pe_export;

typedef struct pe_exports {
	char *dll_name;
	uint32_t characteristics, timestamp, base, nfunctions, nnames;
	uint16_t major, minor;
	pe_export *e;        /* by ordinal, then names of the same address */
	size_t n;
} pe_exports;

int pe_read_exports(pe_image *pe, pe_exports *out);
void pe_exports_free(pe_exports *ex);

/* ---- base relocations ---- */

typedef struct pe_reloc_block {
	uint32_t page_rva, size;
	uint32_t count[16];  /* entries per type (IMAGE_REL_BASED_*) */
	uint32_t n;
} pe_reloc_block;

int pe_read_relocs(pe_image *pe, pe_reloc_block **out, size_t *n);
const char *pe_reloc_type_name(uint16_t machine, int type);

/* ---- resources ---- */

typedef struct pe_resource {
	/* type, name, language: an id, or a name when *_name is set */
	uint32_t type, id, lang;
	char *type_name, *name;  /* UTF-8 */
	uint32_t data_rva, size, codepage;
} pe_resource;

int pe_read_resources(pe_image *pe, pe_resource **out, size_t *n);
void pe_resources_free(pe_resource *r, size_t n);
const char *pe_resource_type_name(uint32_t type);

/* ---- debug directory ---- */

typedef struct pe_debug {
	uint32_t characteristics, timestamp, type, size, rva, offset;
	uint16_t major, minor;
	/* CodeView: RSDS (guid, age, pdb) or NB10 (signature as timestamp) */
	char cv_sig[5];
	uint8_t guid[16];
	uint32_t age;
	char *pdb;
	/* POGO: the names of the entries, "; "-separated */
	char *pogo;
	/* REPRO: the hash, as hex */
	char *repro;
} pe_debug;

int pe_read_debug(pe_image *pe, pe_debug **out, size_t *n);
void pe_debug_free(pe_debug *d, size_t n);
const char *pe_debug_type_name(uint32_t type);
/* "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" */
void pe_guid_format(const uint8_t guid[16], char out[39]);

/* ---- TLS, load config, exceptions ---- */

typedef struct pe_tls {
	uint64_t start, end, index, callbacks; /* virtual addresses */
	uint32_t zero_fill, characteristics;
	uint64_t *cb;        /* the callbacks' addresses */
	size_t ncb;
} pe_tls;

int pe_read_tls(pe_image *pe, pe_tls *out);

typedef struct pe_load_config {
	uint32_t size, timestamp, guard_flags;
	uint16_t major, minor;
	uint64_t security_cookie, se_handler_table, se_handler_count;
	uint64_t guard_check, guard_dispatch, guard_table, guard_count;
	bool have[8];        /* which of the fields the structure's size covers: cookie, seh, cfg */
} pe_load_config;

int pe_read_load_config(pe_image *pe, pe_load_config *out);

typedef struct pe_exceptions {
	uint32_t nfunctions;     /* RUNTIME_FUNCTION entries */
	uint32_t nunwind;        /* x64: UNWIND_INFO records read */
	uint32_t flags[8];       /* x64: how many have each UNW_FLAG bit (EHANDLER, UHANDLER, CHAININFO) */
	uint32_t ncodes;         /* x64: unwind codes in all */
	uint32_t version[8];
	uint32_t bad;            /* entries that point nowhere */
} pe_exceptions;

int pe_read_exceptions(pe_image *pe, pe_exceptions *out);

/* ---- COFF symbols, Rich header, overlay ---- */

typedef struct pe_symbol {
	char *name;
	uint32_t value;
	int16_t section;     /* 1-based; 0 undefined, -1 absolute, -2 debug */
	uint16_t type;
	uint8_t storage_class, naux;
	uint32_t index;      /* in the table, aux records counted */
	/* from the aux records: a FILE symbol's file name; a section
	 * symbol's definition (length, relocations, line numbers, COMDAT) */
	char *aux_file;
	bool aux_section;
	uint32_t sec_length, sec_checksum;
	uint16_t sec_nrelocs, sec_nlines, sec_number;
	uint8_t sec_selection;
} pe_symbol;

int pe_read_symbols(pe_image *pe, pe_symbol **out, size_t *n);
void pe_symbols_free(pe_symbol *s, size_t n);
const char *pe_storage_class_name(uint8_t c);

typedef struct pe_rich_entry {
	uint16_t product, build;
	uint32_t count;
} pe_rich_entry;

typedef struct pe_rich {
	uint32_t key, offset;    /* the XOR key; where "DanS" starts */
	bool checksum_ok;
	pe_rich_entry *e;
	size_t n;
} pe_rich;

/* 0 found, 1 none, -1 damaged */
int pe_read_rich(pe_image *pe, pe_rich *out);

/* an image read from memory (in_memory) that lies there as its file
 * does, not as the loader maps it (a DLL mapped as data): where the
 * first section's raw data starts, past the headers, there are bytes,
 * where a mapped image has the zeros that pad its header page */
bool pe_memory_is_file_layout(const pe_image *pe);

/* bytes after the last section's raw data (and the certificate table,
 * which is there by design); false when there are none */
bool pe_overlay(const pe_image *pe, uint64_t *offset, uint64_t *size);

/* COFF section relocations (objects) */
typedef struct pe_coff_reloc {
	uint32_t vaddr, symbol;
	uint16_t type;
} pe_coff_reloc;

int pe_read_section_relocs(pe_image *pe, const pe_section *s, pe_coff_reloc **out, size_t *n);
const char *pe_coff_reloc_name(uint16_t machine, uint16_t type);

#endif
