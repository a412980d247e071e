/* A map saved with the target (the snapshot `vmatlas capture` writes
 * into its cores): decoded, its heap report placed on it, and the
 * target's own facts laid over it: the registers in the core's notes
 * and which bytes the file holds. */
#include "vmatlas/map.h"

#include <stdlib.h>
#include <string.h>

#include "annotate/annotate.h"
#include "base/util.h"
#include "vmatlas/error.h"
#include "vmatlas/snapshot.h"

/* registers come from the target, by thread id */
static void overlay_threads(vm_map *m, vm_target *t)
{
	vm_thread *th;
	size_t n;
	if (vm_target_threads(t, 0, &th, &n) < 0)
		return;
	for (size_t i = 0; i < m->nthreads; i++) {
		vm_thread *dst = &m->threads[i];
		for (size_t k = 0; k < n; k++) {
			const vm_thread *src = &th[k];
			if (src->tid != dst->tid)
				continue;
			memcpy(dst->regs, src->regs, sizeof dst->regs);
			dst->nregs = src->nregs;
			dst->regs_valid = src->regs_valid;
			dst->sp_valid = src->sp_valid;
			dst->pc = src->pc;
			dst->sp = src->sp;
			dst->fp = src->fp;
			dst->tp = src->tp;
		}
	}
	vm_threads_free(th, n);
}

/* what the file holds of each region, from the target's raw region
 * starting at the same address (none: nothing held) */
static void overlay_data(vm_map *m, vm_target *t)
{
	vm_region *raw;
	size_t n;
	if (vm_target_regions(t, 0, &raw, &n) < 0)
		return;
	const uint32_t data = VM_RF_NO_DATA | VM_RF_PART_DATA | VM_RF_FROM_FILE;
	size_t k = 0;
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if (r->state == VM_STATE_FREE)
			continue;
		while (k < n && raw[k].base + raw[k].size <= r->base)
			k++;
		r->flags &= ~data;
		if (k < n && raw[k].base == r->base) {
			r->held = raw[k].held;
			r->flags |= raw[k].flags & data;
			if ((r->flags & VM_RF_PART_DATA) && r->held >= r->size) {
				r->flags &= ~VM_RF_PART_DATA; /* the first piece of a split VMA */
				r->held = r->size;
			}
		} else if (k < n && i > 0 && raw[k].base < r->base && (m->regions[i - 1].flags & VM_RF_SPLIT)) {
			/* a piece of a VMA the map split: what the file holds of it */
			uint64_t in = r->base - raw[k].base;
			uint64_t held = (raw[k].flags & VM_RF_NO_DATA) ? 0
				      : (raw[k].flags & VM_RF_PART_DATA) ? raw[k].held : raw[k].size;
			held = held > in ? held - in : 0;
			r->held = held < r->size ? held : r->size;
			r->flags |= raw[k].flags & VM_RF_FROM_FILE;
			if (held == 0)
				r->flags |= VM_RF_NO_DATA;
			else if (held < r->size)
				r->flags |= VM_RF_PART_DATA;
		} else {
			r->held = 0;
			r->flags |= VM_RF_NO_DATA;
		}
	}
	vm_regions_free(raw, n);
}

int vm_map_saved(vm_target *t, vm_map **out)
{
	*out = NULL;
	uint8_t *buf;
	size_t len;
	int rc = vm_target_saved_map(t, &buf, &len);
	if (rc != 0)
		return rc;
	vm_snapshot snap;
	rc = vm_snapshot_read_buf(buf, len, &snap);
	free(buf);
	if (rc < 0) {
		char *e = xstrdup(vm_error());
		vm_seterr("the map saved in the core is damaged: %s", e);
		free(e);
		return -1;
	}
	vm_map *m = snap.map;
	snap.map = NULL;
	if (snap.heap.walked) {
		m->heap = xmalloc(sizeof *m->heap);
		*m->heap = snap.heap;
		memset(&snap.heap, 0, sizeof snap.heap);
		ann_heap_place(m, m->heap);
	}
	vm_page_hashes_free(snap.pages, m->nregions);
	snap.pages = NULL;
	vm_snapshot_free(&snap);
	vm_target_info info;
	if (vm_target_info_get(t, &info) == 0)
		m->info.kind = info.kind;
	overlay_threads(m, t);
	overlay_data(m, t);
	*out = m;
	return 0;
}
