/* Which ranges write tracking watches: every committed writable region
 * of the map (vdso/vvar and the like are the kernel's). */
#include "vmatlas/track.h"

#include "base/util.h"

size_t vm_track_writable(const vm_map *m, vm_track_range **out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_WRITE) || r->type == VM_TYPE_SPECIAL)
			continue;
		vm_track_range *x = ARRAY_PUSH(*out, n, cap);
		x->addr = r->base;
		x->size = r->size;
		x->err = 0;
	}
	return n;
}
