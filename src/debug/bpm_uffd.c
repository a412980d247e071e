/* Write-only memory breakpoints by userfaultfd write-protection (bpm w
 * EXPR LEN --uffd): the pages stay writable as far as the program's
 * mappings say (the map shows no change), the kernel stops a write to
 * them with SIGBUS, and lifting and re-protecting are ioctls of
 * vmatlas's (vm_control_write_protect), not calls injected into the
 * target. The fault itself goes through dbg_bpm_fault like a page
 * protection's. A page is watched one way or the other, not both. */
#include "dbg.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define PAGE 4096u

static struct dbg_wp *wp_at(vm_dbg *d, uint64_t pg)
{
	for (size_t i = 0; i < d->bx.nwp; i++)
		if (d->bx.wp[i].addr == pg)
			return &d->bx.wp[i];
	return NULL;
}

bool dbg_uffd_page(vm_dbg *d, uint64_t addr)
{
	return wp_at(d, addr / PAGE * PAGE) != NULL;
}

bool dbg_uffd_touches(vm_dbg *d, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < d->bx.nwp; i++)
		if (d->bx.wp[i].on && d->bx.wp[i].addr < addr + len && addr < d->bx.wp[i].addr + PAGE)
			return true;
	return false;
}

void dbg_uffd_range(vm_dbg *d, int64_t tid, uint64_t addr, uint64_t len, int how)
{
	for (size_t i = 0; i < d->bx.nwp && d->alive; i++) {
		struct dbg_wp *w = &d->bx.wp[i];
		if (w->on && w->addr < addr + len && addr < w->addr + PAGE)
			vm_control_write_protect(d->c, tid, w->addr, PAGE, how);
	}
}

static bool covered(vm_dbg *d, uint64_t pg, bool enabled_only)
{
	for (size_t i = 0; i < d->nbps; i++) {
		const dbg_bp *b = &d->bps[i];
		if (b->kind == VM_BP_MEM && b->uffd && (b->enabled || !enabled_only) && b->addr < pg + PAGE &&
		    b->addr + b->mlen > pg)
			return true;
	}
	return false;
}

void dbg_bpm_uffd_sync(vm_dbg *d)
{
	for (size_t i = 0; i < d->bx.nwp;) {
		struct dbg_wp *w = &d->bx.wp[i];
		bool want = covered(d, w->addr, true);
		if (d->alive && want != w->on &&
		    vm_control_write_protect(d->c, d->cur, w->addr, PAGE, want ? VM_WP_ON : VM_WP_LIFT) == 0)
			w->on = want;
		if (!covered(d, w->addr, false) && !w->on) {
			if (d->alive)
				vm_control_write_protect(d->c, d->cur, w->addr, PAGE, VM_WP_DROP);
			d->bx.wp[i] = d->bx.wp[--d->bx.nwp];
		} else {
			i++;
		}
	}
}

int dbg_bpm_uffd_add(vm_dbg *d, int access, uint64_t addr, uint64_t len, const char *expr, const vm_bp_spec *s,
		     int *id)
{
	if (access != VM_BPM_WRITE) {
		vm_seterr("--uffd watches writes only (bpm w EXPR LEN --uffd)");
		return -1;
	}
	for (uint64_t pg = addr / PAGE * PAGE; pg < addr + len; pg += PAGE) {
		if (dbg_bpm_page(d, pg)) {
			vm_seterr("the page at 0x%llx has memory breakpoints by page protection: --uffd and page "
				  "protection do not share a page",
				  (unsigned long long)pg);
			return -1;
		}
		const vm_region *r = d->m ? vm_map_region_at(d->m, pg) : NULL;
		if (!r || r->state != VM_STATE_COMMIT) {
			dbg_rebuild_map(d, false);
			r = d->m ? vm_map_region_at(d->m, pg) : NULL;
		}
		if (!r || r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_WRITE)) {
			vm_seterr("0x%llx is %s: no write to watch there", (unsigned long long)pg,
				  r && r->state == VM_STATE_COMMIT ? "not writable" : "not mapped");
			return -1;
		}
	}
	size_t before = d->bx.nwp;
	dbg_bp *b = dbg_bp_new(d, VM_BP_MEM, addr);
	b->access = access;
	b->mlen = len;
	b->uffd = true;
	if (dbg_bp_fill(d, b, expr, s) < 0) {
		dbg_bp_drop_last(d);
		return -1;
	}
	for (uint64_t pg = addr / PAGE * PAGE; pg < addr + len; pg += PAGE) {
		if (wp_at(d, pg))
			continue;
		if (vm_control_write_protect(d->c, d->cur, pg, PAGE, VM_WP_ON) < 0) {
			char why[256];
			snprintf(why, sizeof why, "%s", vm_error());
			dbg_bp_drop_last(d);
			while (d->bx.nwp > before)
				vm_control_write_protect(d->c, d->cur, d->bx.wp[--d->bx.nwp].addr, PAGE, VM_WP_DROP);
			vm_seterr("%s", why);
			return -1;
		}
		struct dbg_wp *w = ARRAY_PUSH(d->bx.wp, d->bx.nwp, d->bx.wpcap);
		w->addr = pg;
		w->on = true;
	}
	b->id = d->next_id++;
	*id = b->id;
	return 0;
}

void dbg_bpm_uffd_free(vm_dbg *d)
{
	free(d->bx.wp);
	d->bx.wp = NULL;
	d->bx.nwp = d->bx.wpcap = 0;
}
