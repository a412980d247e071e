// The C++ runtime's demangler (libstdc++'s abi::__cxa_demangle, the same
// code as libiberty's cplus_demangle), for the Windows build's C code:
// Debian builds no libiberty for mingw-w64. Linked statically.
#include <cxxabi.h>
#include <cstdlib>

extern "C" char *vm_cxa_demangle(const char *name);

// malloc'd, NULL when name is no mangled name (or a type's)
extern "C" char *vm_cxa_demangle(const char *name)
{
	int status = 0;
	char *d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
	if (status != 0) {
		std::free(d);
		return nullptr;
	}
	return d;
}
