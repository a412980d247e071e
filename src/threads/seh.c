/* The SEH chain of 32-bit Windows threads: a list of
 * EXCEPTION_REGISTRATION_RECORDs on the stack, headed by the TEB's first
 * word and ended by 0xffffffff. Records only go up the stack: one that
 * does not is damage (or a loop), and the walk stops there. */
#include "vmatlas/threads.h"

#include <stdlib.h>

#include "base/bytes.h"
#include "base/util.h"

#define SEH_SCAN_MAX (4u << 20) /* the most of a stack a search reads */
#define SEH_SCAN_STEPS (1u << 20) /* records looked at in all */

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

/* a handler: in an image's code */
static bool handler_ok(const vm_map *m, uint64_t h)
{
	const vm_region *r = vm_map_region_at(m, h);
	return vm_map_module_at(m, h) && r && r->state == VM_STATE_COMMIT &&
	       ((r->flags & VM_RF_PROT_UNKNOWN) || (r->prot & VM_PROT_EXEC) || !(r->prot & VM_PROT_WRITE));
}

/* the lowest record at or above sp whose chain goes up the stack, every
 * handler in an image's code, to the end marker */
static size_t scan_chain(const vm_map *m, vm_target *t, uint64_t sp, uint64_t end, vm_seh_record *out,
			 size_t max, bool *ended)
{
	if (!end || sp >= end || end - sp > SEH_SCAN_MAX || sp % 4)
		return 0;
	size_t len = (size_t)(end - sp);
	uint8_t *b = xmalloc(len);
	ssize_t got = vm_read(t, sp, b, len);
	size_t n = 0, budget = SEH_SCAN_STEPS; /* a hostile stack of near-chains ends the search */
	for (size_t a = 0; got > 0 && a + 8 <= (size_t)got && !*ended && budget; a += 4) {
		n = 0;
		for (size_t at = a; n < max && budget; budget--) {
			uint64_t next = ld_le32(b + at), h = ld_le32(b + at + 4);
			if (!handler_ok(m, h))
				break;
			out[n++] = (vm_seh_record){ sp + at, next, h };
			if (next == 0xffffffffu) {
				*ended = true;
				break;
			}
			if (next <= sp + at || next % 4 || next + 8 > sp + (uint64_t)got)
				break;
			at = (size_t)(next - sp);
		}
	}
	free(b);
	return *ended ? n : 0;
}

size_t vm_seh_chain_find(const vm_map *m, vm_target *t, const vm_thread *th, vm_seh_record *out, size_t max,
			 bool *ended, bool *scanned)
{
	*ended = false; /* a thread without a TEB has no chain to walk */
	size_t n = th->tp ? vm_seh_chain(t, th->tp, out, max, ended) : 0;
	if (scanned)
		*scanned = false;
	if (n || *ended || !th->sp_valid || !th->stack_size)
		return n;
	n = scan_chain(m, t, th->sp & ~(uint64_t)3, th->stack_base + th->stack_size, out, max, ended);
	if (scanned)
		*scanned = n > 0;
	return n;
}
