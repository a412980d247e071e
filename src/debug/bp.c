/* The breakpoint table. Code breakpoints are int3 bytes at "sites" (one
 * per address, shared by every breakpoint there; written once through the
 * control's journal, VM_CTL_RESTORE, so that even a vmatlas killed by a
 * signal puts the byte back). Watchpoints are the four debug registers,
 * the same on every thread (and set on each new thread as it starts). */
#include "dbg.h"

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
			want = d->bps[k].kind == VM_BP_CODE && d->bps[k].enabled && d->bps[k].addr == s->addr;
		if (want)
			dbg_site_insert(d, s);
		else
			dbg_site_remove(d, s);
	}
}

dbg_bp *dbg_code_bps_at(vm_dbg *d, uint64_t addr, size_t *from)
{
	for (size_t i = *from; i < d->nbps; i++)
		if (d->bps[i].kind == VM_BP_CODE && d->bps[i].enabled && d->bps[i].addr == addr) {
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

/* ---- log text: "TEXT {EXPR} {EXPR:x} {EXPR:s}" ---- */

void dbg_log_free(dbg_log *l)
{
	for (size_t i = 0; l->lit && i <= l->nparts; i++)
		free(l->lit[i]);
	for (size_t i = 0; i < l->nparts; i++)
		dx_free(l->ex[i]);
	free(l->lit);
	free(l->ex);
	free(l->fmt);
	memset(l, 0, sizeof *l);
}

int dbg_log_parse(vm_dbg *d, const char *text, dbg_log *out)
{
	memset(out, 0, sizeof *out);
	const char *p = text;
	for (;;) {
		const char *open = strchr(p, '{');
		out->lit = xrealloc(out->lit, (out->nparts + 1) * sizeof *out->lit);
		out->lit[out->nparts] = xstrndup(p, open ? (size_t)(open - p) : strlen(p));
		if (!open)
			return 0;
		const char *close = strchr(open, '}');
		if (!close) {
			vm_seterr("log text: '{' without '}'");
			dbg_log_free(out);
			return -1;
		}
		char *ex = xstrndup(open + 1, (size_t)(close - open - 1));
		out->fmt = xrealloc(out->fmt, out->nparts + 1);
		out->fmt[out->nparts] = 'd';
		size_t el = strlen(ex);
		if (el > 2 && ex[el - 2] == ':' && strchr("dxs", ex[el - 1])) {
			out->fmt[out->nparts] = ex[el - 1];
			ex[el - 2] = 0;
		}
		out->ex = xrealloc(out->ex, (out->nparts + 1) * sizeof *out->ex);
		out->ex[out->nparts] = dx_parse(d, ex);
		free(ex);
		out->nparts++;
		if (!out->ex[out->nparts - 1]) {
			dbg_log_free(out);
			return -1;
		}
		p = close + 1;
	}
}

/* {EXPR} in decimal, {EXPR:x} in hex, {EXPR:s} the C string there */
char *dbg_log_format(vm_dbg *d, const dbg_log *l)
{
	size_t cap = 256, len = 0;
	char *buf = xmalloc(cap);
	buf[0] = 0;
	for (size_t i = 0; i <= l->nparts; i++) {
		char piece[600];
		for (int k = 0; k < 2; k++) {
			if (k == 0 && i == 0)
				continue;
			const char *s = piece;
			if (k == 1) {
				s = l->lit[i];
			} else {
				uint64_t v;
				char f = l->fmt[i - 1];
				if (dx_eval(d, l->ex[i - 1], &v) < 0) {
					snprintf(piece, sizeof piece, "<%s>", vm_error());
				} else if (f == 's') {
					ssize_t got = vm_dbg_read(d, v, piece, 256);
					piece[got > 0 ? (size_t)got : 0] = 0;
					piece[256] = 0;
				} else {
					snprintf(piece, sizeof piece, f == 'x' ? "0x%llx" : "%llu", (unsigned long long)v);
				}
			}
			size_t n = strlen(s);
			while (len + n + 1 > cap)
				buf = xrealloc(buf, cap *= 2);
			memcpy(buf + len, s, n + 1);
			len += n;
		}
	}
	return buf;
}

/* ---- adding ---- */

static dbg_bp *new_bp(vm_dbg *d, vm_bp_kind kind, uint64_t addr)
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
	dbg_bp *b = new_bp(d, VM_BP_CODE, addr);
	b->internal = true;
	return 0;
}

int dbg_set_runto(vm_dbg *d, uint64_t addr)
{
	if (add_site(d, addr) < 0)
		return -1;
	dbg_bp *b = new_bp(d, VM_BP_CODE, addr);
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

static int fill_spec(vm_dbg *d, dbg_bp *b, const char *expr, const vm_bp_spec *s)
{
	b->expr = xstrdup(expr);
	if (!s)
		return 0;
	b->temporary = s->temporary;
	b->pass = s->pass;
	if (s->group)
		b->group = xstrdup(s->group);
	if (s->cond) {
		b->cond_text = xstrdup(s->cond);
		if (!(b->cond = dx_parse(d, s->cond)))
			return -1;
	}
	if (s->log) {
		b->log_text = xstrdup(s->log);
		if (dbg_log_parse(d, s->log, &b->log) < 0)
			return -1;
	}
	return 0;
}

static void drop_last(vm_dbg *d)
{
	dbg_bp *b = &d->bps[--d->nbps];
	dx_free(b->cond);
	dbg_log_free(&b->log);
	free(b->expr);
	free(b->cond_text);
	free(b->log_text);
	free(b->group);
}

int vm_dbg_break(vm_dbg *d, const char *expr, const vm_bp_spec *s, int *id)
{
	uint64_t addr;
	uint8_t byte;
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	if (vm_dbg_eval(d, expr, &addr) < 0)
		return -1;
	if (vm_dbg_read(d, addr, &byte, 1) != 1) {
		vm_seterr("0x%llx is not mapped: no breakpoint there", (unsigned long long)addr);
		return -1;
	}
	dbg_bp *b = new_bp(d, VM_BP_CODE, addr);
	if (fill_spec(d, b, expr, s) < 0 || add_site(d, addr) < 0) {
		drop_last(d);
		return -1;
	}
	b->id = d->next_id++;
	*id = b->id;
	return 0;
}

/* ---- watchpoints ---- */

uint64_t dbg_watch_read(vm_dbg *d, const dbg_bp *b)
{
	uint64_t v = 0;
	if (vm_dbg_read(d, b->addr, &v, (size_t)b->len) != b->len)
		return 0;
	return v;
}

static uint64_t dr_len(int len)
{
	return len == 1 ? VM_DR_LEN_1 : len == 2 ? VM_DR_LEN_2 : len == 4 ? VM_DR_LEN_4 : VM_DR_LEN_8;
}

static void compute_dr(vm_dbg *d)
{
	d->dr7 = 0;
	memset(d->dr, 0, sizeof d->dr);
	for (size_t i = 0; i < d->nbps; i++) {
		dbg_bp *b = &d->bps[i];
		if (b->kind != VM_BP_WATCH || b->slot < 0)
			continue;
		d->dr[b->slot] = b->addr;
		if (b->enabled)
			d->dr7 |= VM_DR7_ENABLE(b->slot) | VM_DR7_RW(b->slot, b->rw) |
				  VM_DR7_LEN(b->slot, b->rw == VM_DR_RW_EXEC ? 0 : dr_len(b->len));
	}
}

int dbg_watch_apply(vm_dbg *d, int64_t tid)
{
	/* DR7 off while the addresses change: the kernel checks each
	 * address against the enabled lengths */
	if (vm_control_set_debugreg(d->c, tid, 7, 0) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		if (vm_control_set_debugreg(d->c, tid, i, d->dr[i]) < 0)
			return -1;
	return d->dr7 ? vm_control_set_debugreg(d->c, tid, 7, d->dr7) : 0;
}

int dbg_watch_apply_all(vm_dbg *d)
{
	int rc = 0;
	for (size_t i = 0; i < d->ntids; i++)
		if (dbg_watch_apply(d, d->tids[i]) < 0)
			rc = -1;
	return rc;
}

int vm_dbg_watch(vm_dbg *d, const char *expr, const vm_bp_spec *s, int *id)
{
	uint64_t addr;
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	if (vm_dbg_eval(d, expr, &addr) < 0)
		return -1;
	int rw = s ? s->rw : (int)VM_DR_RW_WRITE;
	int len = s && s->len ? s->len : (rw == VM_DR_RW_EXEC ? 1 : 8);
	if (len != 1 && len != 2 && len != 4 && len != 8) {
		vm_seterr("a watchpoint is 1, 2, 4 or 8 bytes long, not %d", len);
		return -1;
	}
	if (rw == VM_DR_RW_EXEC && len != 1) {
		vm_seterr("an execution watchpoint is 1 byte long");
		return -1;
	}
	if (addr % (uint64_t)len) {
		vm_seterr("0x%llx is not aligned to %d bytes, as a %d-byte watchpoint must be",
			  (unsigned long long)addr, len, len);
		return -1;
	}
	bool used[4] = { false };
	for (size_t i = 0; i < d->nbps; i++)
		if (d->bps[i].kind == VM_BP_WATCH && d->bps[i].slot >= 0)
			used[d->bps[i].slot] = true;
	int slot = -1;
	for (int i = 0; i < 4 && slot < 0; i++)
		if (!used[i])
			slot = i;
	if (slot < 0) {
		vm_seterr("all four debug registers are in use: delete a watchpoint first");
		return -1;
	}
	dbg_bp *b = new_bp(d, VM_BP_WATCH, addr);
	b->len = len;
	b->rw = rw;
	b->slot = slot;
	if (fill_spec(d, b, expr, s) < 0) {
		drop_last(d);
		return -1;
	}
	b->old_value = dbg_watch_read(d, b);
	compute_dr(d);
	if (dbg_watch_apply_all(d) < 0) {
		drop_last(d);
		compute_dr(d);
		dbg_watch_apply_all(d);
		return -1;
	}
	b->id = d->next_id++;
	*id = b->id;
	return 0;
}

/* ---- changing ---- */

static void remove_at(vm_dbg *d, size_t i)
{
	dbg_bp *b = &d->bps[i];
	dx_free(b->cond);
	dbg_log_free(&b->log);
	free(b->expr);
	free(b->cond_text);
	free(b->log_text);
	free(b->group);
	memmove(b, b + 1, (d->nbps - i - 1) * sizeof *b);
	d->nbps--;
}

static void changed(vm_dbg *d)
{
	dbg_sites_sync(d);
	uint64_t old7 = d->dr7, old[4];
	memcpy(old, d->dr, sizeof old);
	compute_dr(d);
	if (d->alive && (old7 != d->dr7 || memcmp(old, d->dr, sizeof old)))
		dbg_watch_apply_all(d);
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
	d->dr7 = 0;
	memset(d->dr, 0, sizeof d->dr);
}
