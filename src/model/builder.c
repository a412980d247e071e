/* The map builder's primitives: groups of regions, claims, modules. The
 * annotators (src/annotate/) use them; the pipeline runs them. */
#include "model/builder.h"

#include <string.h>

#include "base/util.h"

int mb_group_new(map_builder *b, vm_usage usage, const char *details)
{
	mb_group *g = ARRAY_PUSH(b->groups, b->ngroups, b->gcap);
	g->usage = usage;
	g->details = details ? xstrdup(details) : NULL;
	return (int)(b->ngroups - 1);
}

bool mb_claim(map_builder *b, size_t ri, int gid)
{
	if (ri >= b->m->nregions || b->group[ri] >= 0 || b->m->regions[ri].state == VM_STATE_FREE)
		return false;
	b->group[ri] = gid;
	return true;
}

bool mb_claimed(const map_builder *b, size_t ri)
{
	return ri < b->m->nregions && b->group[ri] >= 0;
}

size_t mb_find(const map_builder *b, uint64_t addr)
{
	size_t i = vm_map_region_index(b->m, addr);
	if (i == (size_t)-1 || b->m->regions[i].state == VM_STATE_FREE)
		return (size_t)-1;
	return i;
}

vm_module *mb_module_add(map_builder *b)
{
	vm_map *m = b->m;
	vm_module *mod = ARRAY_PUSH(m->modules, m->nmodules, m->mcap);
	memset(mod, 0, sizeof *mod);
	mod->loader_index = -1;
	return mod;
}

