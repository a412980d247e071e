/* No platform symbol engine outside the Windows build (native.h): our
 * own tables and libdw say everything there. */
#include "native.h"

#include <stddef.h>

native_syms *native_syms_new(const vm_map *m, vm_target *t)
{
	(void)m;
	(void)t;
	return NULL;
}

void native_syms_free(native_syms *n)
{
	(void)n;
}

bool native_syms_find(native_syms *n, const vm_module *mod, uint64_t addr, bool demangle, native_sym *out)
{
	(void)n;
	(void)demangle;
	(void)mod;
	(void)addr;
	(void)out;
	return false;
}

bool native_syms_line(native_syms *n, const vm_module *mod, uint64_t addr, vm_line_row *out)
{
	(void)n;
	(void)mod;
	(void)addr;
	(void)out;
	return false;
}

bool native_syms_line_addr(native_syms *n, const vm_module *mod, const char *file, int line, uint64_t *addr)
{
	(void)n;
	(void)mod;
	(void)file;
	(void)line;
	(void)addr;
	return false;
}

const char *native_syms_source(native_syms *n, const vm_module *mod)
{
	(void)n;
	(void)mod;
	return NULL;
}
