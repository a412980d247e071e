/* Builds small ELF files in memory for tests: one PT_LOAD, one PT_NOTE
 * with a build id, and sections .text, .bss and .shstrtab. */
#ifndef VMATLAS_ELF_BUILDER_H
#define VMATLAS_ELF_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct elf_built {
	uint8_t buf[8192];
	size_t len;
	int bits;
	bool be;
	/* where things are, for hostile edits */
	size_t phoff, shoff;
} elf_built;

/* type: 2 = EXEC, 3 = DYN; vaddr of the PT_LOAD (maps file offset 0) */
void elf_build(elf_built *e, int bits, bool be, int type, uint64_t vaddr);
void eb_put(elf_built *e, size_t off, uint64_t v, int bytes);

extern const uint8_t elf_built_id[20];

#endif
