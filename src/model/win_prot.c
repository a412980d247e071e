/* Windows page protection (PAGE_*, as VirtualQuery and a minidump's
 * MEMORY_INFO give it) in the model's bits: the live backend and the
 * minidump target read the same word. */
#include "vmatlas/model.h"

#include "base/util.h"

uint32_t vm_prot_from_win(uint32_t p)
{
	/* PAGE_NOACCESS .. PAGE_EXECUTE_WRITECOPY, one bit each */
	static const uint32_t base[] = {
		[0x01] = 0, [0x02] = VM_PROT_READ, [0x04] = VM_PROT_READ | VM_PROT_WRITE,
		[0x08] = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_COPY, [0x10] = VM_PROT_EXEC,
		[0x20] = VM_PROT_READ | VM_PROT_EXEC, [0x40] = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC,
		[0x80] = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC | VM_PROT_COPY,
	};
	uint32_t low = p & 0xff, out = low < ARRAY_LEN(base) ? base[low] : 0;
	if (p & 0x100) /* PAGE_GUARD */
		out |= VM_PROT_GUARD;
	if (p & 0x200) /* PAGE_NOCACHE */
		out |= VM_PROT_NOCACHE;
	if (p & 0x400) /* PAGE_WRITECOMBINE */
		out |= VM_PROT_WRITECOMBINE;
	return out;
}
