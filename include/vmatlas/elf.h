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

const char *elf_type_name(uint16_t type);
const char *elf_machine_name(uint16_t machine);
const char *elf_phdr_type_name(uint32_t type);
const char *elf_shdr_type_name(uint32_t type);

#endif
