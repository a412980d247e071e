/* A dbghelp session over a map (dbghelp.h). */
#include "dbgh.h"

#include <dbghelp.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "symbols/pe_syms.h"

/* Wine's mark of a module read from DWARF: "DWF" and a byte of the
 * DWARF versions seen */
#define CV_DWARF 0x465744u

struct dbgh {
	const vm_map *m;
	vm_target *t;
	uint8_t *state; /* per module: 0 not tried, 1 loaded, 2 cannot be */
	const char **source;
};

static wchar_t *wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	if (n <= 0)
		return NULL;
	wchar_t *w = xcalloc((size_t)n, sizeof *w);
	MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	return w;
}

char *dbgh_utf8(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	if (n <= 0)
		return xstrdup("");
	char *s = xmalloc((size_t)n);
	WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
	return s;
}

dbgh *dbgh_open(const vm_map *m, vm_target *t)
{
	static bool options_set;
	if (!options_set) {
		/* names as the image has them (we demangle), lines, no dialogs;
		 * a 64-bit dbghelp takes a 32-bit image (a WoW64 process's, a
		 * 32-bit dump's) only when asked to: Wine's refuses it
		 * otherwise ("Won't load 32bit module in 64bit dbghelp") */
		SymSetOptions((SymGetOptions() & ~(DWORD)SYMOPT_UNDNAME) | SYMOPT_LOAD_LINES |
			      SYMOPT_FAIL_CRITICAL_ERRORS | SYMOPT_NO_PROMPTS | SYMOPT_INCLUDE_32BIT_MODULES);
		options_set = true;
	}
	dbgh *d = xcalloc(1, sizeof *d);
	/* any unique value will do (it "need not be a process handle"): our
	 * own address, far above any handle value */
	if (!SymInitialize((HANDLE)d, NULL, FALSE)) {
		free(d);
		return NULL;
	}
	d->m = m;
	d->t = t;
	d->state = xcalloc(m->nmodules ? m->nmodules : 1, 1);
	d->source = xcalloc(m->nmodules ? m->nmodules : 1, sizeof *d->source);
	return d;
}

void dbgh_close(dbgh *d)
{
	if (!d)
		return;
	SymCleanup((HANDLE)d);
	free(d->state);
	free(d->source);
	free(d);
}

HANDLE dbgh_handle(const dbgh *d)
{
	return (HANDLE)d;
}

static const char *source_of(const IMAGEHLP_MODULEW64 *info)
{
	if (!info->LineNumbers && !info->GlobalSymbols)
		return NULL; /* it read nothing (Wine: DWARF 5, say) */
	switch (info->SymType) {
	case SymPdb:
	case SymDia:
		return (info->CVSig & 0xffffffu) == CV_DWARF ? "dbghelp:dwarf" : "dbghelp:pdb";
	case SymCoff:
		return "dbghelp:coff";
	case SymCv:
		return "dbghelp:codeview";
	default:
		return NULL; /* exports, or none: ours say as much */
	}
}

bool dbgh_load(dbgh *d, const vm_module *mod)
{
	size_t i = (size_t)(mod - d->m->modules);
	if (i >= d->m->nmodules)
		return false;
	if (d->state[i])
		return d->state[i] == 1;
	d->state[i] = 2;
	if (!mod->format || strcmp(mod->format, "pe") != 0 || mod->data_copy || mod->size > UINT32_MAX)
		return false;
	/* the target's own path first: in this build it is a native one */
	char *path = pe_module_file_path(d->t, mod, mod->path);
	wchar_t *w = path ? wide(path) : NULL;
	free(path);
	if (!w)
		return false;
	DWORD64 at = SymLoadModuleExW((HANDLE)d, NULL, w, NULL, mod->base, (DWORD)mod->size, NULL, 0);
	free(w);
	if (!at)
		return false;
	IMAGEHLP_MODULEW64 info;
	memset(&info, 0, sizeof info);
	info.SizeOfStruct = sizeof info;
	if (SymGetModuleInfoW64((HANDLE)d, mod->base, &info))
		d->source[i] = source_of(&info);
	d->state[i] = 1;
	return true;
}

void dbgh_load_all(dbgh *d)
{
	for (size_t i = 0; i < d->m->nmodules; i++)
		dbgh_load(d, &d->m->modules[i]);
}

const char *dbgh_source(dbgh *d, const vm_module *mod)
{
	size_t i = (size_t)(mod - d->m->modules);
	return i < d->m->nmodules && dbgh_load(d, mod) ? d->source[i] : NULL;
}
