/* Call stacks: libdwfl's CFI unwinder fed with our registers and memory
 * (the stack copy taken while the thread was stopped, then the target),
 * and a frame-pointer walk where no CFI describes the code; x64 Windows
 * from the images' .pdata (pe_unwind.c), 32-bit Windows by frame
 * pointers, stack scans and SEH records (x86_unwind.c). */
#ifndef VMATLAS_UNWIND_H
#define VMATLAS_UNWIND_H

#include "vmatlas/threads.h"

typedef struct unwinder unwinder;

unwinder *unwinder_new(const vm_map *m, vm_target *t);
/* the frames of one thread; *note says why the walk ended early */
void unwinder_frames(unwinder *u, const vm_thread *th, unsigned max, vm_frame **out, size_t *n,
		     const char **note);
void unwinder_free(unwinder *u);

#endif
