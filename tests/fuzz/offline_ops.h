/* What the offline-target harnesses run over the map of hostile input,
 * besides building it: a search, the page hashes of snapshot --data and a
 * diff of the two. Each must stay within the bytes the input holds. */
#ifndef VMATLAS_FUZZ_OFFLINE_OPS_H
#define VMATLAS_FUZZ_OFFLINE_OPS_H

#include "vmatlas/diff.h"
#include "vmatlas/search.h"
#include "vmatlas/snapshot.h"

static void offline_ops(vm_map *m, vm_target *t)
{
	vm_pattern p;
	if (vm_pattern_hex(&p, "4D 5A ?? 00") == 0) {
		vm_search_opts so = { .max_hits = 64, .threads = 1 };
		vm_search_result res;
		if (vm_search(m, t, &p, &so, &res) == 0)
			vm_search_result_free(&res);
	}
	vm_pattern_free(&p);
	uint64_t bytes;
	vm_snapshot a = { .map = m, .pages = vm_hash_pages(m, t, &bytes) };
	vm_snapshot b = a;
	vm_diff d;
	vm_diff_compute(&a, &b, &d);
	vm_diff_free(&d);
	vm_page_hashes_free(a.pages, m->nregions);
}

#endif
