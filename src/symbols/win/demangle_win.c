/* C++ names in the Windows build: Itanium names (g++, mingw-w64's
 * too) by libstdc++'s __cxa_demangle (demangle_cxx.cpp), the same
 * answers as libiberty's on Linux; MSVC's decorated names ("?f@@YAHH@Z")
 * by dbghelp's UnDecorateSymbolName. */
#include "vmatlas/symbols.h"

#include <windows.h>
#include <dbghelp.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

char *vm_cxa_demangle(const char *name);

static char *undecorate(const char *name)
{
	char buf[4096];
	DWORD n = UnDecorateSymbolName(name, buf, sizeof buf, UNDNAME_COMPLETE);
	if (!n || n >= sizeof buf || strcmp(buf, name) == 0)
		return NULL;
	return xstrndup(buf, n);
}

char *vm_demangle(const char *mangled)
{
	if (!mangled || !*mangled)
		return NULL;
	if (mangled[0] == '?')
		return undecorate(mangled);
	return vm_cxa_demangle(mangled); /* a type alone too: "N6shapes6CircleE" */
}

char *vm_demangle_symbol(const char *name)
{
	if (name && name[0] == '?')
		return undecorate(name);
	/* only symbols the Itanium ABI mangles: _Z..., not a type alone */
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	/* a version ("_ZN3foo3barEv@@LIB_1.0") is not part of the name */
	const char *at = strchr(name, '@');
	if (!at)
		return vm_cxa_demangle(name);
	char *bare = xstrndup(name, (size_t)(at - name));
	char *d = vm_cxa_demangle(bare);
	free(bare);
	if (!d)
		return NULL;
	char *out = xasprintf("%s%s", d, at);
	free(d);
	return out;
}
