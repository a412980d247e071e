/* What a --ptr-to names: LO-HI, a module's name, a region's path or name,
 * or an expression (the region holding it). Shared by search and the tui. */
#include "vmatlas/search.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"
#include "vmatlas/expr.h"

int vm_ptr_range(const vm_expr_ctx *ec, const char *label, const char *w, uint64_t *lo, uint64_t *hi)
{
	const vm_map *m = ec->m;
	const char *dash = strchr(w, '-');
	uint64_t a, b;
	if (dash && dash != w) {
		char *l = xstrndup(w, (size_t)(dash - w));
		bool ok = parse_u64(l, &a) && parse_u64(dash + 1, &b) && b > a;
		free(l);
		if (ok) {
			*lo = a;
			*hi = b;
			return 0;
		}
	}
	const vm_module *mod = vm_map_module_by_name(m, w);
	if (mod && mod->size) {
		*lo = mod->base;
		*hi = mod->base + mod->size;
		return 0;
	}
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].path && !strcmp(m->regions[i].path, w)) {
			*lo = m->regions[i].base;
			*hi = m->regions[i].base + m->regions[i].size;
			return 0;
		}
	int er = vm_expr_eval(ec, w, &a);
	if (er < 0) {
		/* [heap], [stack]: meant as a region name, not a dereference */
		if (w[0] == '[' && w[strlen(w) - 1] == ']') {
			vm_seterr("%s: no region named %s in this map", label, w);
			return -1;
		}
		return er;
	}
	const vm_region *r = vm_map_region_at(m, a);
	if (!r || r->state == VM_STATE_FREE) {
		vm_seterr("%s: 0x%llx is in no region", label, (unsigned long long)a);
		return -1;
	}
	*lo = r->base;
	*hi = r->base + r->size;
	return 0;
}
