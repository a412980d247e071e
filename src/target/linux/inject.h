/* System calls run inside a stopped thread of another process. */
#ifndef VMATLAS_LX_INJECT_H
#define VMATLAS_LX_INJECT_H

#include <stdint.h>
#include <sys/types.h>

typedef struct lx_inject lx_inject;

/* tid must be held in a ptrace-stop (lx_seize_stop); NULL with an error
 * when calls cannot be injected into it */
lx_inject *lx_inject_begin(pid_t tid);
/* the call's return value (a negative errno on failure) in *ret; -1 when
 * the call could not be run at all */
int lx_inject_syscall(lx_inject *in, long nr, const uint64_t args[6], int64_t *ret);
/* put the registers back (restarting an interrupted call as the kernel
 * would) and let the thread go */
int lx_inject_end(lx_inject *in);

#endif
