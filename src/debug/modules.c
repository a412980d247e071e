/* The map and symbols of the session, built again when the dynamic
 * linker says its list changed (a breakpoint on _dl_debug_state, the
 * r_debug.r_brk of glibc), with an event for each module come or gone. */
#include "dbg.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void dbg_free_modules(vm_dbg *d)
{
	for (size_t i = 0; i < d->nmods; i++)
		free(d->modnames[i]);
	free(d->modnames);
	free(d->modbases);
	free(d->modsizes);
	d->modnames = NULL;
	d->modbases = NULL;
	d->modsizes = NULL;
	d->nmods = 0;
}

static bool had_module(vm_dbg *d, const char *name, uint64_t base)
{
	for (size_t i = 0; i < d->nmods; i++)
		if (d->modbases[i] == base && !strcmp(d->modnames[i], name))
			return true;
	return false;
}

/* Build the map and symbols again (a module came or went); with report,
 * an event for each module that is new or gone. */
int dbg_rebuild_map(vm_dbg *d, bool report)
{
	vm_map_options mo = { .no_stats = true };
	vm_map *m = vm_map_build(d->t, &mo);
	if (!m)
		return -1;
	if (d->sym)
		vm_symbolizer_free(d->sym);
	vm_map_free(d->m);
	d->where_ok = false; /* its strings were the symbolizer's */
	d->m = m;
	/* pages under memory breakpoints show their original protection */
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		for (size_t k = 0; k < d->npages; k++)
			if (d->pages[k].cur != d->pages[k].orig && d->pages[k].addr >= r->base &&
			    d->pages[k].addr < r->base + r->size)
				r->prot = (r->prot & ~(VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC)) | d->pages[k].orig;
	}
	d->sym = vm_symbolizer_new(m, d->t, VM_SYM_LINES | d->o.sym_flags);
	char **names = xcalloc(m->nmodules + 1, sizeof *names);
	uint64_t *bases = xcalloc(m->nmodules + 1, sizeof *bases);
	uint64_t *sizes = xcalloc(m->nmodules + 1, sizeof *sizes);
	for (size_t i = 0; i < m->nmodules; i++) {
		const vm_module *mod = &m->modules[i];
		names[i] = xstrdup(mod->name ? mod->name : "?");
		bases[i] = mod->base;
		sizes[i] = mod->size;
		if (report && !had_module(d, names[i], bases[i])) {
			vm_dbg_event ev;
			dbg_event_at(d, &ev, VM_DBG_EV_MODULE_LOAD, d->cur, 0);
			ev.addr = mod->base;
			ev.text = names[i];
			dbg_emit(d, &ev);
		}
	}
	for (size_t i = 0; report && i < d->nmods; i++) {
		bool still = false;
		for (size_t k = 0; k < m->nmodules && !still; k++)
			still = bases[k] == d->modbases[i] && !strcmp(names[k], d->modnames[i]);
		if (!still) {
			vm_dbg_event ev;
			dbg_event_at(d, &ev, VM_DBG_EV_MODULE_UNLOAD, d->cur, 0);
			ev.addr = d->modbases[i];
			ev.text = d->modnames[i];
			dbg_emit(d, &ev);
			dbg_bps_unloaded(d, d->modnames[i], d->modbases[i], d->modsizes[i]);
		}
	}
	dbg_free_modules(d);
	d->modnames = names;
	d->modbases = bases;
	d->modsizes = sizes;
	d->nmods = m->nmodules;
	if (report)
		dbg_resolve_pending(d);
	return 0;
}

/* the dynamic linker calls _dl_debug_state (r_debug.r_brk) around every
 * change to its list: a breakpoint there tells of loads and unloads */
void dbg_set_loader_break(vm_dbg *d)
{
	uint64_t a = 0;
	d->r_debug = 0;
	if (d->sym)
		vm_symbol_lookup(d->sym, NULL, "_r_debug", &d->r_debug);
	if (d->sym && !vm_symbol_lookup(d->sym, NULL, "_dl_debug_state", &a) && d->r_debug)
		vm_dbg_read(d, d->r_debug + (d->bits == 32 ? 8 : 16), &a, (size_t)d->bits / 8);
	d->r_brk = a;
	if (a && dbg_set_internal(d, a) < 0)
		d->r_brk = 0;
}
