/* The summary by usage on top of every map. */
#include <string.h>

#include "vmatlas/map.h"

static void add_alloc(vm_summary_row *row, const vm_map *m, const vm_alloc *a, bool *known, bool *swap_known)
{
	row->size += a->size;
	row->blocks++;
	if (a->size > row->largest)
		row->largest = a->size;
	for (size_t k = a->first; k < a->first + a->count; k++) {
		const vm_region *r = &m->regions[k];
		if (r->state == VM_STATE_COMMIT)
			row->committed += r->size;
		if (r->stats.valid)
			*known = true;
		if (r->stats.valid && !r->stats.working_set)
			*swap_known = true;
		row->rss += r->stats.rss;
		row->private_bytes += r->stats.private_clean + r->stats.private_dirty;
		row->shared_bytes += r->stats.shared_clean + r->stats.shared_dirty;
		row->swap += r->stats.swap;
	}
}

void vm_map_summary(const vm_map *m, vm_summary_row rows[VM_USAGE_COUNT], vm_summary_row *total)
{
	bool known[VM_USAGE_COUNT] = { false }, tknown = false;
	bool sknown[VM_USAGE_COUNT] = { false }, tsknown = false;
	memset(rows, 0, sizeof(vm_summary_row) * VM_USAGE_COUNT);
	memset(total, 0, sizeof *total);
	for (size_t i = 0; i < m->nallocs; i++) {
		const vm_alloc *a = &m->allocs[i];
		if ((unsigned)a->usage >= VM_USAGE_COUNT)
			continue;
		add_alloc(&rows[a->usage], m, a, &known[a->usage], &sknown[a->usage]);
		if (a->usage != VM_USAGE_FREE)
			add_alloc(total, m, a, &tknown, &tsknown);
	}
	for (int u = 0; u < VM_USAGE_COUNT; u++) {
		rows[u].stats_unknown = rows[u].committed && !known[u];
		rows[u].swap_unknown = known[u] && !sknown[u];
	}
	total->stats_unknown = total->committed && !tknown;
	total->swap_unknown = tknown && !tsknown;
}
