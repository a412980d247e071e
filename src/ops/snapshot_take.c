#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmatlas/heap.h"
#include "vmatlas/snapshot.h"
#include "vmatlas/symbols.h"

int vm_snapshot_take(vm_target *t, const vm_map_options *mo, bool data, bool heap_chunks,
		     vm_snapshot *out)
{
	memset(out, 0, sizeof *out);
	out->map = vm_map_build(t, mo);
	if (!out->map)
		return -1;
	out->taken = (uint64_t)time(NULL);
	vm_symbolizer *s = vm_symbolizer_new(out->map, t, 0);
	vm_heap_walk(out->map, t, s, heap_chunks ? VM_HEAP_CHUNKS : 0, &out->heap);
	out->has_heap_chunks = heap_chunks && out->heap.walked;
	vm_symbolizer_free(s);
	if (data) {
		uint64_t bytes;
		out->pages = vm_hash_pages(out->map, t, &bytes);
	}
	return 0;
}
