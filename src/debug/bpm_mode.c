/* How memory breakpoints step over a lifted page (all-stop, or fast: the
 * other threads run meanwhile, and may read or write that page unseen
 * for that one instruction), and how their faults were handled. */
#include "dbg.h"

#define PAGE 4096u

bool dbg_bpm_step_fast(vm_dbg *d, dbg_page *const *lift, size_t n)
{
	if (d->nover)
		return false; /* threads held on an int3 must not run yet */
	if (d->bx.fast)
		return true;
	/* every breakpoint on the lifted pages asked for it (bpm ... --fast) */
	bool any = false;
	for (size_t i = 0; i < d->nbps; i++) {
		const dbg_bp *b = &d->bps[i];
		if (b->kind != VM_BP_MEM || !b->enabled)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (b->addr >= lift[k]->addr + PAGE || b->addr + b->mlen <= lift[k]->addr)
				continue;
			if (!b->fast)
				return false;
			any = true;
		}
	}
	return any;
}

void vm_dbg_bpm_counts(vm_dbg *d, vm_bpm_counts *c)
{
	c->emulated = d->bx.emulated;
	c->stepped = d->bx.stepped;
	c->uffd = d->bx.uffd_faults;
}

void vm_dbg_set_bpm_fast(vm_dbg *d, bool fast)
{
	d->bx.fast = fast;
}

bool vm_dbg_bpm_fast(vm_dbg *d)
{
	return d->bx.fast;
}

void vm_dbg_set_bpm_emulate(vm_dbg *d, bool on)
{
	d->bx.no_emul = !on;
}
