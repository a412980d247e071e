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

/* a source file name as dbghelp gives it (a Windows path, or the DWARF's
 * relative one) names the file asked for when they are the same or the
 * asked one is its last components: as libdw matches (tests/x.c, x.c);
 * either separator, any case */
static bool same_file(const char *have, const char *want)
{
	size_t lh = strlen(have), lw = strlen(want);
	if (lw == 0 || lw > lh)
		return false;
	const char *tail = have + (lh - lw);
	for (size_t i = 0; i < lw; i++) {
		char a = tail[i] == '\\' ? '/' : tail[i], b = want[i] == '\\' ? '/' : want[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return tail == have || tail[-1] == '/' || tail[-1] == '\\';
}

typedef struct line_want {
	const char *file;
	DWORD line;
	DWORD best_line; /* the first line at or after the one asked that has code */
	uint64_t best_addr;
	bool found;
} line_want;

/* SymEnumLines, not its W twin: Wine 8 has no SymEnumLinesW (a call
 * is its unimplemented-function exception); the names asked for are
 * ASCII paths */
static BOOL CALLBACK each_line(PSRCCODEINFO si, PVOID arg)
{
	line_want *w = arg;
	if (si->LineNumber < w->line || (w->found && si->LineNumber > w->best_line))
		return TRUE;
	si->FileName[sizeof si->FileName - 1] = 0;
	if (!same_file(si->FileName, w->file))
		return TRUE;
	if (!w->found || si->LineNumber < w->best_line || si->Address < w->best_addr) {
		w->best_line = si->LineNumber;
		w->best_addr = si->Address;
		w->found = true;
	}
	return TRUE;
}

bool native_syms_line_addr(native_syms *n, const vm_module *mod, const char *file, int line, uint64_t *addr)
{
	if (!n || line <= 0 || !dbgh_load(n->d, mod))
		return false;
	/* gdb's choice: the lowest address of the line, or of the next one
	 * with code when it has none (dbghelp has no is_stmt to tell more) */
	line_want w = { .file = file, .line = (DWORD)line };
	if (!SymEnumLines(dbgh_handle(n->d), mod->base, NULL, NULL, each_line, &w) || !w.found)
		return false;
	*addr = w.best_addr;
	return true;
}

const char *native_syms_source(native_syms *n, const vm_module *mod)
{
	return n ? dbgh_source(n->d, mod) : NULL;
}
