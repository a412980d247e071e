/* The SEH chain of 32-bit Windows threads: a list of
 * EXCEPTION_REGISTRATION_RECORDs on the stack, headed by the TEB's first
 * word and ended by 0xffffffff. Records only go up the stack: one that
 * does not is damage (or a loop), and the walk stops there. */
#include "vmatlas/threads.h"

#include "base/bytes.h"

size_t vm_seh_chain(vm_target *t, uint64_t teb, vm_seh_record *out, size_t max, bool *ended)
{
	uint8_t b[8];
	*ended = false;
	if (vm_read_full(t, teb, b, 4) < 0)
		return 0;
	uint64_t at = ld_le32(b), prev = 0;
	size_t n = 0;
	while (n < max) {
		if (at == 0xffffffffu) {
			*ended = true;
			break;
		}
		if (at <= prev || vm_read_full(t, at, b, 8) < 0)
			break;
		out[n++] = (vm_seh_record){ at, ld_le32(b), ld_le32(b + 4) };
		prev = at;
		at = ld_le32(b);
	}
	return n;
}
