/* Call stacks by dbghelp's StackWalk64 (Windows build only): x64 and
 * i386 targets, memory through the target, function tables and module
 * bases from a dbghelp session of the map's modules (symbols/win/dbgh.h). */
#ifndef VMATLAS_THREADS_WIN_STACKWALK_H
#define VMATLAS_THREADS_WIN_STACKWALK_H

#include "vmatlas/threads.h"

typedef struct stackwalk stackwalk;

/* NULL when dbghelp cannot start or cannot walk this architecture here */
stackwalk *stackwalk_new(const vm_map *m, vm_target *t);
/* at most max frames of th: the first "registers", the others
 * "stackwalk64"; *note says why the walk ended early */
void stackwalk_thread(stackwalk *w, const vm_thread *th, size_t max, vm_frame **out, size_t *n,
		      const char **note);
void stackwalk_free(stackwalk *w);

#endif
