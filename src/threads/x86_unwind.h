/* 32-bit Windows call stacks without unwind information (x86_unwind.c). */
#ifndef VMATLAS_X86_UNWIND_H
#define VMATLAS_X86_UNWIND_H

#include "vmatlas/threads.h"

/* at most max frames of th; each frame's method says how it was found:
 * "registers", "fp" (the ebp chain), "scan" (a return address on the
 * stack, just after a call instruction that decodes as one), "seh" (the
 * frame of an SEH record: MSVC keeps the registration at ebp-0x10);
 * *note says why the walk ended early */
void x86_unwind_thread(const vm_map *m, vm_target *t, const vm_thread *th, size_t max, vm_frame **out, size_t *n,
		       const char **note);

#endif
