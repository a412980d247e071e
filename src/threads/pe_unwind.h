/* x64 Windows call stacks from .pdata / UNWIND_INFO (pe_unwind.c). */
#ifndef VMATLAS_PE_UNWIND_H
#define VMATLAS_PE_UNWIND_H

#include "vmatlas/threads.h"

typedef struct pe_unwind pe_unwind;

pe_unwind *pe_unwind_new(const vm_map *m, vm_target *t);
/* at most max frames of th; each frame's method says how it was found:
 * "registers", "pdata", "fp" (frame pointers), "scan" (a return address
 * found on the stack); *note says why the walk ended early */
void pe_unwind_thread(pe_unwind *u, const vm_thread *th, size_t max, vm_frame **out, size_t *n,
		      const char **note);
void pe_unwind_free(pe_unwind *u);

#endif
