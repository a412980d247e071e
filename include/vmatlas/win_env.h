/* The process environment block, Windows edition (minidumps): the PEB
 * found through a thread's TEB, its process parameters (command line,
 * image path, current directory, environment block), the loader's module
 * list (PEB_LDR_DATA) and the process heaps. 32- and 64-bit layouts. */
#ifndef VMATLAS_WIN_ENV_H
#define VMATLAS_WIN_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "map.h"
#include "target.h"

typedef struct vm_win_ldr_entry {
	uint64_t addr;           /* the LDR_DATA_TABLE_ENTRY */
	uint64_t base, entry, size;
	char *full_name, *base_name;
} vm_win_ldr_entry;

typedef struct vm_win_env {
	int bits;
	uint64_t teb;            /* the TEB the PEB was found through */
	uint64_t peb;            /* 0: not found (see note) */
	uint8_t being_debugged;
	uint64_t image_base, ldr, params, process_heap, heaps_array;
	uint32_t nheaps_claimed;
	/* which of the PEB's fields were read (the dump may lack them) */
	bool have_fields, have_being_debugged, have_process_heap, have_nheaps, have_heaps_array;
	uint64_t *heaps;         /* ProcessHeaps[], as far as readable */
	size_t nheaps;
	vm_string command_line, image_path, current_directory;
	uint64_t environment;    /* the environment block */
	uint64_t environment_size;
	vm_string *env;
	size_t nenv;
	vm_win_ldr_entry *ldr_list;
	size_t nldr;
	const char *ldr_note;    /* the list loops, is cut short, or is unreadable; NULL when whole */
	const char *note;        /* why something is missing */
} vm_win_env;

int vm_win_env_read(const vm_map *m, vm_target *t, vm_win_env *out);
void vm_win_env_free(vm_win_env *e);

#endif
