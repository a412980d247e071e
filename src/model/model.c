/* Freeing what the model's structures own. */
#include "vmatlas/model.h"

#include <stdlib.h>

void vm_regions_free_contents(vm_region *r)
{
	free(r->path);
	free(r->runs);
	for (size_t j = 0; j < r->ncontents; j++) {
		free(r->contents[j].name);
		free(r->contents[j].detail);
	}
	free(r->contents);
}

void vm_regions_free(vm_region *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vm_regions_free_contents(&r[i]);
	free(r);
}

void vm_threads_free(vm_thread *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].name);
		free(t[i].stack_copy);
	}
	free(t);
}

uint64_t vm_thread_stack_top(const vm_thread *th, const vm_region *r)
{
	uint64_t top = r->base + r->size;
	if (!th->is_main && th->tp && th->sp_valid && th->tp > th->sp && th->tp < top)
		top = th->tp;
	return top;
}
