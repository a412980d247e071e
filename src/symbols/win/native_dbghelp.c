/* dbghelp as the Windows build's native symbol engine (native.h):
 * SymFromAddr for names no table of ours has (a full PDB's functions, the
 * DWARF of a mingw -g image as Wine reads it), SymGetLineFromAddr64 for
 * file:line (what libdw gives on Linux). */
#include "symbols/native.h"

#include "dbgh.h"

#include <dbghelp.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define NAME_MAX_CHARS 2000

struct native_syms {
	dbgh *d;
	char **pool; /* every string handed out */
	size_t n, cap;
};

native_syms *native_syms_new(const vm_map *m, vm_target *t)
{
	if (m->info.os != VM_OS_WINDOWS)
		return NULL;
	dbgh *d = dbgh_open(m, t);
	if (!d)
		return NULL;
	native_syms *n = xcalloc(1, sizeof *n);
	n->d = d;
	return n;
}

void native_syms_free(native_syms *n)
{
	if (!n)
		return;
	dbgh_close(n->d);
	for (size_t i = 0; i < n->n; i++)
		free(n->pool[i]);
	free(n->pool);
	free(n);
}

/* file names repeat: the same string back */
static const char *keep(native_syms *n, char *s, bool shared)
{
	if (shared)
		for (size_t i = n->n; i-- > 0;)
			if (strcmp(n->pool[i], s) == 0) {
				free(s);
				return n->pool[i];
			}
	*ARRAY_PUSH(n->pool, n->n, n->cap) = s;
	return s;
}

bool native_syms_find(native_syms *n, const vm_module *mod, uint64_t addr, bool demangle, native_sym *out)
{
	if (!n || !dbgh_load(n->d, mod))
		return false;
	SYMBOL_INFOW *si = xcalloc(1, sizeof *si + NAME_MAX_CHARS * sizeof(WCHAR));
	si->SizeOfStruct = sizeof *si;
	si->MaxNameLen = NAME_MAX_CHARS;
	DWORD64 disp = 0;
	bool ok = SymFromAddrW(dbgh_handle(n->d), addr, &disp, si) && si->NameLen && si->Address >= mod->base &&
		  si->Address <= addr && addr - mod->base < mod->size;
	if (ok) {
		si->Name[si->NameLen < NAME_MAX_CHARS ? si->NameLen : NAME_MAX_CHARS - 1] = 0;
		out->name = keep(n, dbgh_utf8(si->Name), false);
		out->mangled = NULL;
		char *d = demangle ? vm_demangle_symbol(out->name) : NULL;
		if (d) {
			out->mangled = out->name;
			out->name = keep(n, d, false);
		}
		out->addr = si->Address;
		out->size = si->Size;
	}
	free(si);
	return ok;
}

bool native_syms_line(native_syms *n, const vm_module *mod, uint64_t addr, vm_line_row *out)
{
	if (!n || !dbgh_load(n->d, mod))
		return false;
	IMAGEHLP_LINEW64 l;
	memset(&l, 0, sizeof l);
	l.SizeOfStruct = sizeof l;
	DWORD disp = 0;
	if (!SymGetLineFromAddrW64(dbgh_handle(n->d), addr, &disp, &l) || !l.FileName || !l.LineNumber ||
	    l.Address > addr)
		return false;
	memset(out, 0, sizeof *out);
	out->file = keep(n, dbgh_utf8(l.FileName), true);
	out->line = (int)l.LineNumber;
	out->addr = l.Address;
	out->is_stmt = true;
	IMAGEHLP_LINEW64 next = l;
	out->end = SymGetLineNextW64(dbgh_handle(n->d), &next) && next.Address > addr ? next.Address : addr + 1;
	return true;
}

const char *native_syms_source(native_syms *n, const vm_module *mod)
{
	return n ? dbgh_source(n->d, mod) : NULL;
}
