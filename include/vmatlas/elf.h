/* ELF headers, parsed from a file or from a target's memory. 32/64-bit,
 * both byte orders. Every offset and count is checked against what the
 * reader can deliver: hostile input gives errors or warnings, never a
 * crash or an unbounded allocation. */
#ifndef VMATLAS_ELF_H
#define VMATLAS_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"
#include "reader.h"

typedef struct elf_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
} elf_phdr;

typedef struct elf_shdr {
	uint32_t name, type;
	uint64_t flags, addr, offset, size;
	uint32_t link, info;
	uint64_t addralign, entsize;
	const char *namestr; /* into the image's string table; "" if bad */
} elf_shdr;

typedef struct elf_image {
	vm_reader r;
	bool in_memory;   /* r reads absolute target addresses */
	uint64_t base;    /* in memory: where the ELF header is */
	uint64_t bias;    /* in memory: load bias (live = link-time + bias) */
	uint64_t linear;  /* in memory: bytes from base that copy the file
			     verbatim (the vdso is mapped whole); 0 unknown */
	uint64_t page_size;
	int bits;         /* 32 or 64 */
	bool big_endian;
	uint8_t osabi;
	uint16_t type, machine;
	uint32_t version, flags;
	uint64_t entry, phoff, shoff;
	uint16_t ehsize, phentsize, shentsize;
	uint32_t phnum, shnum, shstrndx; /* PN_XNUM / SHN_XINDEX resolved */
	elf_phdr *ph;
	size_t nph;
	elf_shdr *sh;
	size_t nsh;
	char *shstr;
	size_t shstr_len;
	char *warnings; /* "; "-separated, NULL when none */
} elf_image;

/* Parse the ELF header and program headers. In memory mode `base` is the
 * address of the header and the load bias is derived from the segment
 * that maps file offset 0. */
int elf_open(elf_image *e, const vm_reader *r, bool in_memory, uint64_t base, uint64_t page_size);
/* Section headers and their names. In memory mode this works only when
 * the table lies inside a loaded segment (the vdso); otherwise -1. */
int elf_load_sections(elf_image *e);
void elf_close(elf_image *e);

/* true if buf (at least 16 bytes) starts like an ELF file */
bool elf_is_magic(const void *buf, size_t len);

/* Read by file offset, or by link-time virtual address, in either mode
 * (through the program headers). Whole or -1. */
int elf_read_offset(const elf_image *e, uint64_t off, void *buf, size_t len);
int elf_read_vaddr(const elf_image *e, uint64_t vaddr, void *buf, size_t len);

/* link-time extent of the PT_LOAD segments, page aligned: [lo, hi) */
bool elf_load_extent(const elf_image *e, uint64_t *lo, uint64_t *hi);

/* NT_GNU_BUILD_ID from the PT_NOTE segments (or SHT_NOTE sections) */
bool elf_build_id(const elf_image *e, uint8_t *out, size_t cap, size_t *len);

const elf_shdr *elf_section_by_name(const elf_image *e, const char *name);

/* ---- the dynamic section ---- */

typedef struct elf_dyn {
	int64_t tag;
	uint64_t val;
} elf_dyn;

/* PT_DYNAMIC up to DT_NULL (bounded by the segment). */
int elf_read_dynamic(const elf_image *e, elf_dyn **out, size_t *n);
bool elf_dyn_find(const elf_dyn *d, size_t n, int64_t tag, uint64_t *val);
/* A d_ptr value as a link-time address: in memory the loader may have
 * relocated it to a live address already (glibc does, on most arches). */
uint64_t elf_dyn_ptr(const elf_image *e, uint64_t v);
const char *elf_dyn_tag_name(int64_t tag);

/* ---- symbols ---- */

typedef struct elf_sym {
	uint64_t value, size;
	uint32_t name;
	uint8_t type, bind, visibility;
	uint16_t shndx;
} elf_sym;

typedef struct elf_symtab {
	elf_sym *syms;
	size_t n;
	char *strtab;     /* NUL-terminated at strsz */
	size_t strsz;
} elf_symtab;

/* a SHT_SYMTAB or SHT_DYNSYM section with its linked string table */
int elf_read_symtab(const elf_image *e, const elf_shdr *sec, elf_symtab *out);
/* the dynamic symbols as the dynamic section describes them; works on an
 * image in memory with no file (count from DT_GNU_HASH or DT_HASH) */
int elf_read_dynsym(const elf_image *e, const elf_dyn *d, size_t nd, elf_symtab *out);
/* how many dynamic symbols there are, from the hash tables; and the
 * size of the hash table itself */
bool elf_dynsym_count(const elf_image *e, const elf_dyn *d, size_t nd, uint64_t *count,
		      uint64_t *hash_bytes);
void elf_symtab_free(elf_symtab *t);
/* each dynamic symbol's version as a suffix ("@@GLIBC_2.14", hidden
 * ones "@GLIBC_2.2.5"; NULL: none) from .gnu.version and .gnu.version_d;
 * NULL when the image has none. Free with elf_dynsym_versions_free. */
char **elf_dynsym_versions(const elf_image *e, const elf_shdr *dynsym, size_t nsyms);
void elf_dynsym_versions_free(char **v, size_t n);

/* a symbol table kept as the file has it, to find a few names without
 * decoding (or sorting) the whole table: through the table's GNU hash
 * section when it has one, else by a scan */
typedef struct elf_rawsyms {
	uint8_t *raw;
	size_t count, entsize;
	char *strtab;     /* NUL-terminated at strsz */
	size_t strsz;
	uint8_t *gnu_hash; /* the SHT_GNU_HASH section linked to it, or NULL */
	size_t gnu_hash_size;
	uint8_t *versym;   /* its SHT_GNU_versym section (2 bytes a symbol), or NULL */
	size_t nversym;
	int bits;
	bool big_endian;
} elf_rawsyms;

int elf_rawsyms_read(const elf_image *e, const elf_shdr *sec, elf_rawsyms *out);
enum {
	ELF_FIND_GLOBAL = 1, /* not a local symbol */
	ELF_FIND_TLS = 2,    /* a thread-local one (its value: the offset in
				the TLS block), not one with an address */
};
/* the defined symbol NAME (never a section or file symbol); a global
 * one before a local one, and of globals the default version ("@@") before
 * a hidden one ("@", an old compat version), as the dynamic linker binds */
bool elf_rawsyms_find(const elf_rawsyms *t, const char *name, unsigned how, elf_sym *out);
void elf_rawsyms_free(elf_rawsyms *t);
const char *elf_sym_name(const elf_symtab *t, const elf_sym *s); /* "" if bad */
const char *elf_sym_type_name(uint8_t type);
const char *elf_sym_bind_name(uint8_t bind);

/* ---- notes, relocations, versions (for file dumps) ---- */

typedef struct elf_note {
	char *owner;         /* "GNU", "CORE", ... */
	uint32_t type;
	uint32_t desc_size;  /* as the note says */
	uint8_t *desc;       /* its first desc_len bytes */
	size_t desc_len;
	char *where;         /* the section, or "PT_NOTE" */
} elf_note;

/* the notes of the SHT_NOTE sections (or of the PT_NOTE segments) */
int elf_read_notes(const elf_image *e, elf_note **out, size_t *n);
void elf_notes_free(elf_note *v, size_t n);

typedef struct elf_reloc {
	uint64_t offset;
	uint32_t type, sym;
	int64_t addend;
	bool has_addend;
} elf_reloc;

/* the entries of a SHT_REL or SHT_RELA section; -1 for another type */
int elf_read_relocs(const elf_image *e, const elf_shdr *s, elf_reloc **out, size_t *n);
/* the size of one entry, and one entry at p (a table read from a file or
 * from memory: DT_RELA, DT_JMPREL) */
size_t elf_reloc_size(const elf_image *e, bool rela);
void elf_reloc_decode(const elf_image *e, const uint8_t *p, bool rela, elf_reloc *r);

typedef struct elf_verdef {
	uint16_t index, flags;
	char *name;
} elf_verdef;

typedef struct elf_verneed {
	char *file, *name;   /* "libc.so.6", "GLIBC_2.34" */
	uint16_t index, flags;
} elf_verneed;

typedef struct elf_versions {
	elf_verdef *def;
	size_t ndef;
	elf_verneed *need;
	size_t nneed;
} elf_versions;

int elf_read_versions(const elf_image *e, elf_versions *out);
void elf_versions_free(elf_versions *v);

const char *elf_type_name(uint16_t type);
const char *elf_machine_name(uint16_t machine);
/* the model's arch of an e_machine (VM_ARCH_UNKNOWN for others) */
vm_arch elf_machine_arch(uint16_t machine);
const char *elf_phdr_type_name(uint32_t type);
const char *elf_shdr_type_name(uint32_t type);

#endif
