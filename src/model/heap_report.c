/* The heap report's names and what it owns. */
#include "vmatlas/heap_report.h"

#include <stdlib.h>
#include <string.h>

void vm_heap_report_free(vm_heap_report *r)
{
	for (size_t i = 0; i < r->nsegs; i++)
		free(r->segs[i].chunks);
	free(r->segs);
	free(r->arenas);
	for (size_t i = 0; i < r->nproblems; i++)
		free(r->problems[i].what);
	free(r->problems);
	free(r->note);
	free(r->lfh);
	memset(r, 0, sizeof *r);
}

const char *vm_bin_name(vm_bin b)
{
	switch (b) {
	case VM_BIN_NONE: return NULL;
	case VM_BIN_TCACHE: return "tcache";
	case VM_BIN_FAST: return "fastbin";
	case VM_BIN_UNSORTED: return "unsorted";
	case VM_BIN_SMALL: return "small";
	case VM_BIN_LARGE: return "large";
	case VM_BIN_TOP: return "top";
	case VM_BIN_LOST: return "none";
	case VM_BIN_COUNT: break;
	}
	return "?";
}
