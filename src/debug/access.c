/* Registers and memory of the stopped process: the current thread's
 * registers kept until it runs again, memory read with every int3 of
 * ours masked and written keeping them in. */
#include "dbg.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

int dbg_get_regs(vm_dbg *d, int64_t tid, vm_regs *r)
{
	if (tid == d->cur && d->regs_ok) {
		*r = d->regs;
		return 0;
	}
	return vm_control_get_regs(d->c, tid, r);
}

int dbg_refresh_regs(vm_dbg *d)
{
	if (d->regs_ok)
		return 0;
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	if (vm_control_get_regs(d->c, d->cur, &d->regs) < 0)
		return -1;
	d->regs_ok = true;
	return 0;
}

int vm_dbg_regs(vm_dbg *d, vm_regs *r)
{
	if (dbg_refresh_regs(d) < 0)
		return -1;
	*r = d->regs;
	return 0;
}

int vm_dbg_fpregs(vm_dbg *d, vm_fpregs *f)
{
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	return vm_control_get_fpregs(d->c, d->cur, f);
}

ssize_t vm_dbg_xstate(vm_dbg *d, void *buf, size_t cap)
{
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	return vm_control_get_xstate(d->c, d->cur, buf, cap);
}

int vm_dbg_reg_get(vm_dbg *d, const char *name, uint64_t *v)
{
	if (dbg_refresh_regs(d) < 0)
		return -1;
	if (dbg_reg_lookup(&d->regs, name, v) < 0) {
		vm_seterr("no register '%s'", name);
		return -1;
	}
	return 0;
}

int vm_dbg_reg_set(vm_dbg *d, const char *name, uint64_t v)
{
	if (dbg_refresh_regs(d) < 0)
		return -1;
	vm_regs r = d->regs;
	if (dbg_reg_store(&r, name, v) < 0) {
		vm_seterr("no register '%s'", name);
		return -1;
	}
	if (vm_control_set_regs(d->c, d->cur, &r) < 0)
		return -1;
	d->regs = r;
	return 0;
}

ssize_t vm_dbg_read(vm_dbg *d, uint64_t addr, void *buf, size_t len)
{
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	ssize_t got = vm_control_read(d->c, addr, buf, len);
	for (size_t i = 0; got > 0 && i < d->nsites; i++) {
		const dbg_site *s = &d->sites[i];
		if (s->in && s->addr >= addr && s->addr - addr < (uint64_t)got)
			((uint8_t *)buf)[s->addr - addr] = s->orig;
	}
	return got;
}

int vm_dbg_write(vm_dbg *d, uint64_t addr, const void *buf, size_t len)
{
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	uint8_t *copy = xmalloc(len ? len : 1);
	memcpy(copy, buf, len);
	/* a breakpoint's byte becomes its new original; the int3 stays */
	for (size_t i = 0; i < d->nsites; i++) {
		dbg_site *s = &d->sites[i];
		if (s->addr + sizeof s->code > addr && s->addr < addr + len)
			s->ncode = 0; /* the instruction there may change */
		if (s->addr >= addr && s->addr - addr < len) {
			s->orig = copy[s->addr - addr];
			if (s->in)
				copy[s->addr - addr] = 0xcc;
		}
	}
	/* a page write-protected by userfaultfd (bpm --uffd) refuses even
	 * /proc/PID/mem: lifted around the write */
	bool wp = dbg_uffd_touches(d, addr, len);
	if (wp)
		dbg_uffd_range(d, d->cur, addr, len, VM_WP_LIFT);
	int rc = vm_control_write(d->c, addr, copy, len, 0);
	if (wp)
		dbg_uffd_range(d, d->cur, addr, len, VM_WP_ON);
	if (rc == 0) /* detach must leave the new bytes, not the first ones */
		vm_control_update_saved(d->c, addr, buf, len);
	free(copy);
	return rc;
}
