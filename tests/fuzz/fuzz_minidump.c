/* libFuzzer harness: minidumps. The target over the input (every stream
 * it reads, reads anywhere), then the whole map built from it, searched,
 * hashed and diffed: PE images parsed from hostile dump memory; every
 * thread's call stack (x64: .pdata and unwind codes from hostile memory),
 * every module's symbols (PE exports), the NT heaps block by block. */
#include <stdint.h>
#include <stdlib.h>

#include "target/minidump/md_target.h"
#include "formats/minidump.h"
#include "offline_ops.h"
#include "vmatlas/heap.h"
#include "vmatlas/map.h"
#include "vmatlas/symbols.h"
#include "vmatlas/threads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vm_reader r = vm_reader_mem(data, size);
	vm_target *t = md_target_open_reader(&r, "fuzz");
	if (!t)
		return 0;
	vm_region *reg;
	size_t n;
	if (vm_target_regions(t, 0, &reg, &n) == 0) {
		uint8_t buf[64];
		for (size_t i = 0; i < n && i < 64; i++)
			vm_read(t, reg[i].base, buf, sizeof buf);
		vm_regions_free(reg, n);
	}
	vm_map_options mo = { .no_stats = true };
	vm_map *m = vm_map_build(t, &mo);
	if (m) {
		offline_ops(m, t);
		vm_symbolizer *s = vm_symbolizer_new(m, t, 0);
		vm_threads_report rep;
		if (vm_threads_inspect(m, t, s, 256, &rep) == 0)
			vm_threads_report_free(&rep);
		const vm_export *ex;
		vm_exports(s, &ex);
		vm_heap_report h;
		vm_heap_walk(m, t, s, VM_HEAP_CHUNKS, &h);
		vm_heap_report_free(&h);
		vm_symbolizer_free(s);
	}
	vm_map_free(m);
	vm_target_close(t);
	return 0;
}
