/* C++ names, demangled by libstdc++'s own __cxa_demangle when the
 * library is on the machine (it is wherever C++ programs run); looked up
 * at run time so vmatlas needs no C++ runtime of its own. */
#include "vmatlas/symbols.h"

#include <dlfcn.h>
#include <stdlib.h>

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

char *vm_demangle(const char *mangled)
{
	static demangle_fn fn;
	static bool tried;
	if (!tried) {
		tried = true;
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (h)
			*(void **)&fn = dlsym(h, "__cxa_demangle");
	}
	if (!fn || !mangled || !*mangled)
		return NULL;
	int status = -1;
	char *out = fn(mangled, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}
