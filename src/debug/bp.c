/* The breakpoint table. Code breakpoints are int3 bytes at "sites" (one
 * per address, shared by every breakpoint there; written once through the
 * control's journal, VM_CTL_RESTORE, so that even a vmatlas killed by a
 * signal puts the byte back). Watchpoints (watch.c) share the table. */
#include "dbg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

dbg_bp *dbg_bp_find(vm_dbg *d, int id)
{
	for (size_t i = 0; i < d->nbps; i++)
		if (d->bps[i].id == id && !d->bps[i].internal)
			return &d->bps[i];
	return NULL;
}

dbg_site *dbg_site_at(vm_dbg *d, uint64_t addr)
{
	for (size_t i = 0; i < d->nsites; i++)
		if (d->sites[i].addr == addr)
			return &d->sites[i];
	return NULL;
}

int dbg_site_insert(vm_dbg *d, dbg_site *s)
{
	static const uint8_t int3 = 0xcc;
	if (s->in || !d->alive)
		return 0;
	if (!s->journaled) {
		if (vm_control_read(d->c, s->addr, &s->orig, 1) != 1) {
			vm_seterr("cannot read the code at 0x%llx", (unsigned long long)s->addr);
			return -1;
		}
	}
	if (vm_control_write(d->c, s->addr, &int3, 1, s->journaled ? 0 : VM_CTL_RESTORE) < 0)
		return -1;
	s->journaled = true;
	s->in = true;
	return 0;
}

int dbg_site_remove(vm_dbg *d, dbg_site *s)
{
	if (!s->in || !d->alive)
		return 0;
	if (vm_control_write(d->c, s->addr, &s->orig, 1, 0) < 0)
		return -1;
	s->in = false;
	return 0;
}

/* an int3 wherever an enabled code breakpoint is, nowhere else */
void dbg_sites_sync(vm_dbg *d)
{
	if (d->vfork_out)
		return; /* back in when the vfork is done */
	for (size_t i = 0; i < d->nsites; i++) {
		dbg_site *s = &d->sites[i];
		bool want = false;
		for (size_t k = 0; k < d->nbps && !want; k++)
			want = d->bps[k].kind == VM_BP_CODE && d->bps[k].enabled && !d->bps[k].pending &&
			       d->bps[k].addr == s->addr;
		if (want)
			dbg_site_insert(d, s);
		else
			dbg_site_remove(d, s);
	}
}

dbg_bp *dbg_code_bps_at(vm_dbg *d, uint64_t addr, size_t *from)
{
	for (size_t i = *from; i < d->nbps; i++)
		if (d->bps[i].kind == VM_BP_CODE && d->bps[i].enabled && !d->bps[i].pending && d->bps[i].addr == addr) {
			*from = i + 1;
			return &d->bps[i];
		}
	*from = d->nbps;
	return NULL;
}

bool vm_dbg_has_break(vm_dbg *d, uint64_t addr)
{
	size_t from = 0;
	dbg_bp *b;
	while ((b = dbg_code_bps_at(d, addr, &from)))
		if (!b->internal)
			return true;
	return false;
}

/* ---- adding ---- */

dbg_bp *dbg_bp_new(vm_dbg *d, vm_bp_kind kind, uint64_t addr)
{
	dbg_bp *b = ARRAY_PUSH(d->bps, d->nbps, d->bpcap);
	memset(b, 0, sizeof *b);
	b->kind = kind;
	b->addr = addr;
	b->enabled = true;
	b->slot = -1;
	return b;
}

static int add_site(vm_dbg *d, uint64_t addr)
{
	dbg_site *s = dbg_site_at(d, addr);
	if (!s) {
		s = ARRAY_PUSH(d->sites, d->nsites, d->sitecap);
		memset(s, 0, sizeof *s);
		s->addr = addr;
	}
	return d->vfork_out ? 0 : dbg_site_insert(d, s);
}

int dbg_set_internal(vm_dbg *d, uint64_t addr)
{
	if (add_site(d, addr) < 0)
		return -1;
	dbg_bp *b = dbg_bp_new(d, VM_BP_CODE, addr);
	b->internal = true;
	return 0;
}

int dbg_set_runto(vm_dbg *d, uint64_t addr)
{
	if (add_site(d, addr) < 0)
		return -1;
	dbg_bp *b = dbg_bp_new(d, VM_BP_CODE, addr);
	b->internal = b->runto = true;
	return 0;
}

static void remove_at(vm_dbg *d, size_t i);
static void changed(vm_dbg *d);

void dbg_clear_runto(vm_dbg *d)
{
	for (size_t i = d->nbps; i-- > 0;)
		if (d->bps[i].runto)
			remove_at(d, i);
	changed(d);
}

int dbg_bp_keep(dbg_bp *b, const char *expr, const vm_bp_spec *s)
{
	b->expr = xstrdup(expr);
	if (!s)
		return 0;
	b->temporary = s->temporary;
	b->pass = s->pass;
	b->group = s->group ? xstrdup(s->group) : NULL;
	b->cond_text = s->cond ? xstrdup(s->cond) : NULL;
	b->log_text = s->log ? xstrdup(s->log) : NULL;
	return 0;
}

/* the condition and log text parsed (their symbols resolved now) */
static int compile(vm_dbg *d, dbg_bp *b)
{
	if (b->cond_text && !(b->cond = dx_parse(d, b->cond_text)))
		return -1;
	if (b->log_text && dbg_log_parse(d, b->log_text, &b->log) < 0) {
		dx_free(b->cond);
		b->cond = NULL;
		return -1;
	}
	return 0;
}

int dbg_bp_fill(vm_dbg *d, dbg_bp *b, const char *expr, const vm_bp_spec *s)
{
	dbg_bp_keep(b, expr, s);
	return compile(d, b);
}

void dbg_bp_free(dbg_bp *b)
{
	free(b->gone_mod);
	dx_free(b->cond);
	dbg_log_free(&b->log);
	free(b->expr);
	free(b->cond_text);
	free(b->log_text);
	free(b->group);
}

void dbg_bp_drop_last(vm_dbg *d)
{
	dbg_bp_free(&d->bps[--d->nbps]);
}

/* FILE:LINE (gdb's): 1 it is one, at *addr; 0 it is not; -1 it is one
 * no loaded module's DWARF has (it was kept pending for ever) */
static int file_line(vm_dbg *d, const char *expr, uint64_t *addr)
{
	const char *colon = strrchr(expr, ':');
	if (!colon || colon == expr || colon[-1] == ':' || !colon[1] || strpbrk(expr, " \t!+[") ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 9)
		return 0;
	char file[512];
	if ((size_t)(colon - expr) >= sizeof file)
		return 0;
	memcpy(file, expr, (size_t)(colon - expr));
	file[colon - expr] = 0;
	if (d->sym && vm_symbol_line_addr(d->sym, file, atoi(colon + 1), addr)) {
		/* a function's first line: past its prologue, as gdb */
		vm_symbol_info si;
		if (vm_symbolize(d->sym, *addr, &si) && si.symbol && si.offset == 0)
			*addr = dbg_after_prologue(d, *addr);
		return 1;
	}
	vm_seterr("no line %s in the debug information of a loaded module", expr);
	return -1;
}

int vm_dbg_break(vm_dbg *d, const char *expr, const vm_bp_spec *s, int *id)
{
	uint64_t addr = 0;
	uint8_t byte;
	bool pending = false;
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	int fl = file_line(d, expr, &addr);
	if (fl < 0)
		return -1;
	if (fl == 0 && vm_dbg_eval(d, expr, &addr) < 0) {
		/* a symbol of a library not loaded yet: pending until it is */
		if (strncmp(vm_error(), "no symbol", 9))
			return -1;
		/* a program without a dynamic linker (static, stripped: no
		 * _dl_debug_state) loads nothing that could have it */
		if (!d->r_brk && d->m && d->m->info.os == VM_OS_LINUX) {
			vm_seterr("%s, and this program loads no modules (no dynamic linker)", vm_error());
			return -1;
		}
		pending = true;
	} else if (vm_dbg_read(d, addr, &byte, 1) != 1) {
		vm_seterr("0x%llx is not mapped: no breakpoint there", (unsigned long long)addr);
		return -1;
	} else {
		/* an IFUNC (memcpy, strlen): where it was bound, not its
		 * resolver, which never runs again (gdb's way) */
		uint64_t to;
		if (d->sym && vm_symbol_ifunc_target(d->sym, addr, &to))
			addr = to;
	}
	dbg_bp *b = dbg_bp_new(d, VM_BP_CODE, addr);
	b->pending = pending;
	/* a pending breakpoint's condition and log are parsed when it
	 * resolves (their symbols may be in the same library) */
	if ((!pending && dbg_bp_fill(d, b, expr, s) < 0) || (pending && dbg_bp_keep(b, expr, s) < 0) ||
	    (!pending && add_site(d, addr) < 0)) {
		dbg_bp_drop_last(d);
		return -1;
	}
	b->id = d->next_id++;
	*id = b->id;
	return 0;
}

static const vm_module *loaded(vm_dbg *d, const char *name)
{
	for (size_t i = 0; i < d->m->nmodules; i++)
		if (d->m->modules[i].name && !strcmp(d->m->modules[i].name, name))
			return &d->m->modules[i];
	return NULL;
}

/* a breakpoint of an unloaded module comes back only with that module:
 * at its expression's address when that lies in it (a symbol found
 * again), else as far into it as before (an address given as a number) */
static bool resolve_gone(vm_dbg *d, dbg_bp *b, uint64_t *addr)
{
	const vm_module *m = loaded(d, b->gone_mod);
	if (!m || b->gone_off >= m->size)
		return false;
	uint64_t a;
	if (vm_dbg_eval(d, b->expr, &a) < 0 || a - m->base >= m->size)
		a = m->base + b->gone_off;
	*addr = a;
	return true;
}

void dbg_resolve_pending(vm_dbg *d)
{
	for (size_t i = 0; i < d->nbps; i++) {
		dbg_bp *b = &d->bps[i];
		uint64_t addr;
		if (!b->pending)
			continue;
		if (b->gone_mod ? !resolve_gone(d, b, &addr) : vm_dbg_eval(d, b->expr, &addr) < 0)
			continue; /* stays pending */
		if (compile(d, b) < 0)
			continue;
		free(b->gone_mod);
		b->gone_mod = NULL;
		b->addr = addr;
		b->pending = false;
		add_site(d, addr);
	}
	vm_clearerr();
}

void dbg_bps_unloaded(vm_dbg *d, const char *name, uint64_t base, uint64_t size)
{
	/* nothing of ours to put back there: the memory is gone */
	vm_control_forget(d->c, base, size);
	for (size_t i = d->nsites; i-- > 0;)
		if (d->sites[i].addr - base < size)
			d->sites[i] = d->sites[--d->nsites];
	for (size_t i = d->nover; i-- > 0;)
		if (d->over[i].addr - base < size)
			d->over[i] = d->over[--d->nover];
	for (size_t i = d->nbps; i-- > 0;) {
		dbg_bp *b = &d->bps[i];
		if (b->kind != VM_BP_CODE || b->pending || b->addr - base >= size)
			continue;
		if (b->internal) { /* a run-to's, or the loader's: gone with it */
			remove_at(d, i);
			continue;
		}
		/* as gdb: pending, set again when the module is loaded again;
		 * its condition and log parsed again then */
		dx_free(b->cond);
		b->cond = NULL;
		dbg_log_free(&b->log);
		b->gone_mod = xstrdup(name);
		b->gone_off = b->addr - base;
		b->pending = true;
	}
	char *why = xasprintf("its module %s was unloaded", name);
	dbg_data_bps_gone(d, d->cur, 0, base, size, true, why);
	free(why);
}

/* a data breakpoint left there would watch whatever is mapped there
 * next (a debug register, or the protection of a stranger's pages) */
void dbg_data_bps_gone(vm_dbg *d, int64_t tid, uint64_t pc, uint64_t a, uint64_t n, bool watches, const char *why)
{
	dbg_bpm_drop_pages(d, a, n);
	for (size_t i = d->nbps; i-- > 0;) {
		dbg_bp *b = &d->bps[i];
		uint64_t len = b->access ? b->mlen : (uint64_t)b->len;
		if (b->internal || b->kind == VM_BP_CODE || (b->kind == VM_BP_WATCH && !watches) ||
		    b->addr >= a + n || b->addr + len <= a)
			continue;
		int id = b->id;
		char *t = xasprintf("%s %d removed: %s", b->access ? "bpm" : "watchpoint", id, why);
		vm_dbg_delete(d, id);
		vm_dbg_event e;
		dbg_event_at(d, &e, VM_DBG_EV_LOG, tid, pc);
		e.bp = id;
		e.text = t;
		dbg_emit(d, &e);
		free(t);
	}
}

/* ---- changing ---- */

static void remove_at(vm_dbg *d, size_t i)
{
	dbg_bp *b = &d->bps[i];
	dbg_bp_free(b);
	memmove(b, b + 1, (d->nbps - i - 1) * sizeof *b);
	d->nbps--;
}

static void changed(vm_dbg *d)
{
	dbg_sites_sync(d);
	uint64_t old7 = d->dr7, old[4];
	memcpy(old, d->dr, sizeof old);
	dbg_watch_compute(d);
	if (d->alive && (old7 != d->dr7 || memcmp(old, d->dr, sizeof old)))
		dbg_watch_apply_all(d);
	dbg_bpm_sync(d);
}

int vm_dbg_delete(vm_dbg *d, int id)
{
	bool found = false;
	for (size_t i = d->nbps; i-- > 0;)
		if (!d->bps[i].internal && (id == 0 || d->bps[i].id == id)) {
			remove_at(d, i);
			found = true;
		}
	if (!found && id) {
		vm_seterr("no breakpoint %d", id);
		return -1;
	}
	changed(d);
	return 0;
}

int vm_dbg_enable(vm_dbg *d, int id, bool on)
{
	dbg_bp *b = dbg_bp_find(d, id);
	if (!b) {
		vm_seterr("no breakpoint %d", id);
		return -1;
	}
	b->enabled = on;
	changed(d);
	return 0;
}

int vm_dbg_enable_group(vm_dbg *d, const char *group, bool on)
{
	bool found = false;
	for (size_t i = 0; i < d->nbps; i++)
		if (d->bps[i].group && !strcmp(d->bps[i].group, group)) {
			d->bps[i].enabled = on;
			found = true;
		}
	if (!found) {
		vm_seterr("no breakpoint in group '%s'", group);
		return -1;
	}
	changed(d);
	return 0;
}

size_t vm_dbg_breakpoints(vm_dbg *d, vm_bp_info **out)
{
	free(d->info);
	d->info = xcalloc(d->nbps + 1, sizeof *d->info);
	size_t n = 0;
	for (size_t i = 0; i < d->nbps; i++) {
		const dbg_bp *b = &d->bps[i];
		if (b->internal)
			continue;
		vm_bp_info *o = &d->info[n++];
		o->id = b->id;
		o->kind = b->kind;
		o->addr = b->addr;
		if (b->pending && b->gone_mod) /* not what is at its old address now */
			snprintf(o->where, sizeof o->where, "%s+0x%llx (unloaded)", b->gone_mod,
				 (unsigned long long)b->gone_off);
		else if (b->pending)
			snprintf(o->where, sizeof o->where, "(not loaded yet)");
		else
			vm_dbg_where(d, b->addr, o->where, sizeof o->where, NULL, NULL);
		o->enabled = b->enabled;
		o->temporary = b->temporary;
		o->hits = b->hits;
		o->cond = b->cond_text;
		o->log = b->log_text;
		o->group = b->group;
		o->expr = b->expr;
		o->len = b->len;
		o->rw = b->rw;
		o->slot = b->slot;
		o->pending = b->pending;
		o->access = b->access;
		o->mlen = b->access ? b->mlen : 0;
		o->fast = b->fast;
		o->uffd = b->uffd;
		o->guard = b->guard;
	}
	*out = d->info;
	return n;
}

/* after an exec the old program's breakpoints and sites mean nothing */
void dbg_bps_forget(vm_dbg *d)
{
	while (d->nbps)
		remove_at(d, d->nbps - 1);
	d->nsites = 0;
	dbg_bpm_forget(d);
	d->dr7 = 0;
	memset(d->dr, 0, sizeof d->dr);
}
