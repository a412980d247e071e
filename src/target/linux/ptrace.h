/* ptrace helpers for reading registers and freezing a process, and the
 * registry of everything vmatlas holds: every thread it keeps stopped and
 * every program it spawned. Signal handlers use the registry so that no
 * thread is left stopped and no spawned program is left behind. */
#ifndef VMATLAS_LX_PTRACE_H
#define VMATLAS_LX_PTRACE_H

#include <stdbool.h>
#include <sys/types.h>

#include "vmatlas/model.h"

/* Attach to one thread and bring it to a ptrace-stop (a signal that
 * arrives first is delivered as usual). Returns 0, or -1 with errno (ESRCH: gone, EPERM: not allowed,
 * ETIMEDOUT: it did not stop, e.g. in uninterruptible sleep; it is then
 * released when it next stops or when vmatlas exits). */
int lx_seize_stop(pid_t tid);
/* Let a held thread run again, re-delivering sig (0 for none). */
int lx_release(pid_t tid, int sig);
bool lx_is_held(pid_t tid);

/* registry */
void lx_hold_add(pid_t tid, int pending_sig);
void lx_hold_remove(pid_t tid);
void lx_spawned_add(pid_t pid, bool kill_on_exit);
void lx_spawned_remove(pid_t pid);
/* release everything (async-signal-safe) */
void lx_release_all(void);

/* registers (per architecture): of a thread in ptrace-stop, and of the
 * calling thread */
int lx_regs_read(pid_t tid, vm_thread *th);
void lx_regs_self(vm_thread *th);
/* run a program stopped after exec up to addr (its entry point) */
int lx_run_to(pid_t pid, uint64_t addr);
/* the architecture vmatlas was built for */
vm_arch lx_arch(void);

#endif
