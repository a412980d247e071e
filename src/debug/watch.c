/* Watchpoints: the four debug registers, the same on every thread of
 * the process (dbg_watch_apply puts them on a thread that starts later). */
#include "dbg.h"

#include <string.h>

#include "vmatlas/error.h"

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

void dbg_watch_compute(vm_dbg *d)
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
	dbg_bp *b = dbg_bp_new(d, VM_BP_WATCH, addr);
	b->len = len;
	b->rw = rw;
	b->slot = slot;
	if (dbg_bp_fill(d, b, expr, s) < 0) {
		dbg_bp_drop_last(d);
		return -1;
	}
	b->old_value = dbg_watch_read(d, b);
	dbg_watch_compute(d);
	if (dbg_watch_apply_all(d) < 0) {
		dbg_bp_drop_last(d);
		dbg_watch_compute(d);
		dbg_watch_apply_all(d);
		return -1;
	}
	b->id = d->next_id++;
	*id = b->id;
	return 0;
}
