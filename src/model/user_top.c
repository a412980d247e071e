/* Where user address space ends, by OS and word size: the top of the
 * free gaps a map shows. */
#include "vmatlas/model.h"

uint64_t vm_user_top(vm_os os, int bits, uint64_t page_size)
{
	if (os == VM_OS_WINDOWS) /* MmHighestUserAddress + 1 */
		return bits == 64 ? 0x7ffffffeffffull + 1 : 0x80000000ull;
	/* Linux's TASK_SIZE_MAX: x86-64's 47 bits less a guard page; a
	 * 32-bit process on a 64-bit kernel has all of 4 GiB but two pages */
	return bits == 64 ? (1ull << 47) - page_size : 0xffffe000ull;
}
