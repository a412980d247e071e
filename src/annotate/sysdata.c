/* The process's startup data on the main stack: argc, the argv and envp
 * pointer arrays, the auxiliary vector, and the strings they point to. */
#include <stdio.h>
#include <string.h>

#include "annotate.h"
#include "core/util.h"

static void put(map_builder *b, uint64_t addr, uint64_t size, const char *name, const char *detail)
{
	size_t i = mb_find(b, addr);
	if (i != (size_t)-1)
		vm_region_add_content(&b->m->regions[i], VM_CK_SYSDATA, addr, size, name, detail);
}

void ann_sysdata(map_builder *b)
{
	const vm_target_info *in = &b->m->info;
	if (in->arg_start && in->arg_end > in->arg_start)
		put(b, in->arg_start, in->arg_end - in->arg_start, "argv strings",
		    "the command line, NUL-separated");
	if (in->env_start && in->env_end > in->env_start)
		put(b, in->env_start, in->env_end - in->env_start, "environment strings",
		    "the initial environment, NUL-separated");
}
