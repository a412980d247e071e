/* dbghelp as the Windows build's native symbol engine (native.h):
 * SymFromAddr for names no table of ours has (a full PDB's functions, the
 * DWARF of a mingw -g image as Wine reads it), SymGetLineFromAddr64 for
 * file:line (what libdw gives on Linux). */
#include "symbols/native.h"

#include "dbgh.h"

#include <dbghelp.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "base/util.h"

#define NAME_MAX_CHARS 2000

struct native_syms {
	dbgh *d;
	char **slot; /* every string handed out, once: open addressing */
	size_t n, cap; /* cap: a power of two, or 0 */
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
	for (size_t i = 0; i < n->cap; i++)
		free(n->slot[i]);
	free(n->slot);
	free(n);
}

static size_t hash(const char *s)
{
	size_t h = 14695981039346656037ull & SIZE_MAX;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (size_t)1099511628211ull;
	return h;
}

/* names and files repeat (every frame of a stack, every lookup of a
 * stream of addresses): each string is kept once, s freed if a copy is */
static const char *keep(native_syms *n, char *s)
{
	if (2 * (n->n + 1) > n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 256;
		char **slot = xcalloc(cap, sizeof *slot);
		for (size_t i = 0; i < n->cap; i++) {
			if (!n->slot[i])
				continue;
			size_t k = hash(n->slot[i]) & (cap - 1);
			while (slot[k])
				k = (k + 1) & (cap - 1);
			slot[k] = n->slot[i];
		}
		free(n->slot);
		n->slot = slot;
		n->cap = cap;
	}
	size_t k = hash(s) & (n->cap - 1);
	for (; n->slot[k]; k = (k + 1) & (n->cap - 1))
		if (strcmp(n->slot[k], s) == 0) {
			free(s);
			return n->slot[k];
		}
	n->slot[k] = s;
	n->n++;
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
		out->name = keep(n, dbgh_utf8(si->Name));
		out->mangled = NULL;
		char *d = demangle ? vm_demangle_symbol(out->name) : NULL;
		if (d) {
			out->mangled = out->name;
			out->name = keep(n, d);
		}
		out->addr = si->Address;
		out->size = si->Size;
	}
	free(si);
	return ok;
}

/* Wine's dbghelp joins a DWARF file name whose compilation directory is
 * relative ("." in Wine's own DLLs: dlls/kernelbase/sync.c) with our
 * current directory, where that file is not: such a name is shown as the
 * debug info has it, relative (a file that is there stays as it is) */
static const wchar_t *as_recorded(const wchar_t *f)
{
	wchar_t cwd[MAX_PATH + 1];
	DWORD n = GetCurrentDirectoryW(MAX_PATH + 1, cwd);
	if (n == 0 || n > MAX_PATH || _wcsnicmp(f, cwd, n) != 0)
		return f;
	const wchar_t *rest = f + n;
	if (cwd[n - 1] != L'\\' && *rest++ != L'\\')
		return f;
	if (!*rest || GetFileAttributesW(f) != INVALID_FILE_ATTRIBUTES)
		return f;
	return rest;
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
	out->file = keep(n, dbgh_utf8(as_recorded(l.FileName)));
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
