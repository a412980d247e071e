/* The process environment block, Linux edition: argv and envp strings and
 * where they live, the live environment (libc's environ, after setenv and
 * putenv) beside the initial one, the auxiliary vector by name. */
#ifndef VMATLAS_ENV_H
#define VMATLAS_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "symbols.h"
#include "target.h"

typedef struct vm_string {
	uint64_t addr;
	char *value;
} vm_string;

typedef struct vm_env {
	vm_string *argv;
	size_t nargv;
	vm_string *initial;   /* the environment strings as exec left them */
	size_t ninitial;
	vm_string *live;      /* what libc's environ points at now */
	size_t nlive;
	bool live_valid;
	uint64_t environ_var; /* address of the environ variable */
	uint64_t environ_array;
	const char *live_note; /* why the live environment is unknown */
	vm_auxv *auxv;
	size_t nauxv;
	/* the process wrote over its argv and environment strings (a process
	 * title: nginx, postgres, sendmail): the pointers exec left on the
	 * stack no longer point at the strings there; argv and initial then
	 * hold the pieces, and area_now what the area says now, its
	 * non-empty strings joined by spaces */
	bool area_overwritten;
	char *area_now;
} vm_env;

int vm_env_read(const vm_map *m, vm_target *t, vm_symbolizer *s, vm_env *out);
void vm_env_free(vm_env *e);

/* "AT_PHDR" ... ; NULL for an unknown type */
const char *vm_auxv_name(uint64_t type);
/* the types whose value points at a string */
bool vm_auxv_is_string(uint64_t type);

#endif
