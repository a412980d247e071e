/* libFuzzer harness: the /proc text parsers (maps, smaps, stat, syscall). */
#include <stdint.h>
#include <stdlib.h>

#include "formats/proc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	vm_region *r;
	size_t n;
	if (proc_parse_maps(s, size, &r, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			free(r[i].path);
		free(r);
	}
	/* the same bytes fed in two pieces */
	proc_maps_parser ps = { NULL, 0, 0 };
	ssize_t used = proc_maps_feed(&ps, s, size / 2, false);
	if (used >= 0)
		proc_maps_feed(&ps, s + used, size - (size_t)used, true);
	proc_maps_parser_free(&ps);
	proc_stat st;
	proc_parse_stat(s, size, &st);
	uint64_t sp, pc;
	proc_parse_syscall(s, size, &sp, &pc);
	return 0;
}
