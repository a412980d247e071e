/* Page statistics of a live Windows process from its working set
 * (QueryWorkingSetEx, page by page): a valid page is resident (RSS); one
 * the OS marks shared with a share count above 1 is shared, any other
 * resident page private. Windows keeps no dirty bit to report, so the
 * counts go in the *_clean fields. */
#include "win.h"

#include <psapi.h>
#include <stdlib.h>

#include "base/util.h"

#define BATCH 4096

void win_region_stats(win_target *w, vm_region *r)
{
	uint64_t pg = w->info.page_size ? w->info.page_size : 4096, npages = r->size / pg;
	PSAPI_WORKING_SET_EX_INFORMATION *ws = xcalloc(BATCH, sizeof *ws);
	uint64_t valid = 0, shared = 0, locked = 0;
	bool ok = true;
	for (uint64_t done = 0; done < npages && ok; done += BATCH) {
		size_t k = npages - done < BATCH ? (size_t)(npages - done) : BATCH;
		for (size_t i = 0; i < k; i++)
			ws[i].VirtualAddress = (PVOID)(uintptr_t)(r->base + (done + i) * pg);
		ok = QueryWorkingSetEx(w->h, ws, (DWORD)(k * sizeof *ws));
		for (size_t i = 0; ok && i < k; i++) {
			const PSAPI_WORKING_SET_EX_BLOCK *b = &ws[i].VirtualAttributes;
			if (!b->Valid)
				continue;
			valid++;
			shared += b->Shared && b->ShareCount > 1;
			locked += b->Locked;
		}
	}
	free(ws);
	if (!ok)
		return; /* stats stay unknown */
	r->stats.valid = true;
	r->stats.working_set = true;
	r->stats.rss = valid * pg;
	r->stats.shared_clean = shared * pg;
	r->stats.private_clean = (valid - shared) * pg;
	r->stats.locked = locked * pg;
}
