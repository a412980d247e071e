/* Copying target memory to a file: raw bytes, or an ELF core-style file
 * with a PT_LOAD per region so other tools can open it. Mapped pages that
 * cannot be read are written as zeros and listed; the dump never stops at
 * them. */
#ifndef VMATLAS_DUMP_H
#define VMATLAS_DUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "map.h"
#include "search.h"
#include "target.h"

typedef struct vm_dump_result {
	uint64_t written;        /* bytes of memory written */
	vm_search_hole *holes;   /* unreadable, written as zeros (raw) or left out (elf) */
	size_t nholes, cap;
	unsigned loads;          /* PT_LOAD entries (elf) */
} vm_dump_result;

#define VM_DUMP_ELF  0x1u /* an ELF file with a PT_LOAD per region */
#define VM_DUMP_FILL 0x2u /* raw: zeros where nothing is mapped or held */

/* -1 (error set) when the range runs past the user address space, or
 * (raw, without VM_DUMP_FILL) covers space that is not mapped or that the
 * target holds no bytes for; nothing is written then */
int vm_dump(const vm_map *m, vm_target *t, uint64_t addr, uint64_t size, unsigned flags, const char *path,
	    vm_dump_result *out);
void vm_dump_result_free(vm_dump_result *r);

#endif
