#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmatlas/heap.h"
#include "vmatlas/snapshot.h"

int vm_snapshot_take(vm_target *t, const vm_map_options *mo, bool data, bool heap_chunks,
		     vm_snapshot *out)
{
	memset(out, 0, sizeof *out);
	/* the heap is walked with the map and saved beside it, not on it:
	 * reading the snapshot places it */
	vm_map_options o = *mo;
	o.heap = VM_MAP_HEAP | (heap_chunks ? VM_MAP_HEAP_CHUNKS : 0);
	out->map = vm_map_build(t, &o);
	if (!out->map)
		return -1;
	out->taken = (uint64_t)time(NULL);
	if (out->map->heap) {
		out->heap = *out->map->heap;
		free(out->map->heap);
		out->map->heap = NULL;
	}
	out->has_heap_chunks = heap_chunks && out->heap.walked;
	if (data) {
		uint64_t bytes;
		out->pages = vm_hash_pages(out->map, t, &bytes);
	}
	return 0;
}
