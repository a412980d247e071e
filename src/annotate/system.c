/* Kernel-provided regions: vdso, vvar, vsyscall and friends. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#include "annotate.h"

static const struct {
	const char *path, *name, *what;
} special[] = {
	{ "[vdso]", "vdso", "virtual dynamic shared object: system calls done in user space" },
	{ "[vvar]", "vvar", "kernel data the vdso reads (time, clock pages)" },
	{ "[vvar_vclock]", "vvar_vclock", "clock pages the vdso reads" },
	{ "[vsyscall]", "vsyscall", "legacy fixed-address system call page" },
	{ "[uprobes]", "uprobes", "uprobe trampolines (XOL area)" },
	{ "[sigpage]", "sigpage", "signal return trampoline" },
	{ "[vectors]", "vectors", "exception vectors page" },
};

void ann_system(map_builder *b)
{
	vm_map *m = b->m;
	int gid = -1;
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if (r->type != VM_TYPE_SPECIAL || !r->path) {
			gid = -1;
			continue;
		}
		const char *name = r->path, *what = "kernel-provided memory";
		for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
			if (strcmp(r->path, special[k].path) == 0) {
				name = special[k].name;
				what = special[k].what;
			}
		/* vvar and vdso come from one call: one allocation */
		bool joins = gid >= 0 && m->regions[i - 1].base + m->regions[i - 1].size == r->base;
		if (joins) {
			char *d = b->groups[gid].details;
			b->groups[gid].details = xasprintf("%s %s", d, r->path);
			free(d);
		} else {
			gid = mb_group_new(b, VM_USAGE_SYSTEM, r->path);
		}
		mb_claim(b, i, gid);
		vm_region_add_content(r, VM_CK_SYSDATA, r->base, r->size, name, what);
	}
}
