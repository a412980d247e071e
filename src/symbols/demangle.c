/* C++ names, demangled by libiberty's cplus_demangle (the demangler of
 * binutils and gdb), linked statically: no C++ runtime at run time, and
 * the same answer on every machine. */
#include "vmatlas/symbols.h"

#include <stdlib.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "base/util.h"

char *vm_demangle(const char *mangled)
{
	if (!mangled || !*mangled)
		return NULL;
	/* DMGL_TYPES: a type alone too ("N6shapes6CircleE") */
	return cplus_demangle(mangled, DMGL_PARAMS | DMGL_ANSI | DMGL_TYPES);
}

char *vm_demangle_symbol(const char *name)
{
	/* only symbols the Itanium ABI mangles: _Z..., and not a type
	 * name alone as whatis's typeinfo gives it */
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	/* a version ("_ZN3foo3barEv@@LIB_1.0") is not part of the name */
	const char *at = strchr(name, '@');
	if (!at)
		return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
	char *bare = xstrndup(name, (size_t)(at - name));
	char *d = cplus_demangle(bare, DMGL_PARAMS | DMGL_ANSI);
	free(bare);
	if (!d)
		return NULL;
	char *out = xasprintf("%s%s", d, at);
	free(d);
	return out;
}
