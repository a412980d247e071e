/* libFuzzer harness: the tracking state file parser (a text file that
 * `track show` and `track stop` read back). */
#include <stdint.h>

#include "vmatlas/track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vm_track_state st;
	if (vm_track_state_parse(data, size, &st) == 0)
		vm_track_state_free(&st);
	return 0;
}
