/* ptrace helpers for reading registers and freezing a process, and the
 * registry of everything vmatlas holds: every thread it keeps stopped and
 * every program it spawned. Signal handlers use the registry so that no
 * thread is left stopped and no spawned program is left behind. */
#ifndef VMATLAS_LX_PTRACE_H
#define VMATLAS_LX_PTRACE_H

#include <stdbool.h>
#include <sys/types.h>

#include "vmatlas/model.h"

/* the register sets of PTRACE_GETREGSET, for headers without them */
#ifndef NT_PRSTATUS
#define NT_PRSTATUS 1
#endif
#ifndef NT_PRFPREG
#define NT_PRFPREG 2
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

/* Attach to one thread and bring it to a ptrace-stop (a signal that
 * arrives first is delivered as usual). Returns 0, or -1 with errno (ESRCH: gone, EPERM: not allowed,
 * ETIMEDOUT: it did not stop, e.g. in uninterruptible sleep; it is then
 * released when it next stops or when vmatlas exits). */
int lx_seize_stop(pid_t tid);
/* Let a held thread run again, re-delivering sig (0 for none). */
int lx_release(pid_t tid, int sig);
/* the signal to give tid back as it is let go: sig, except a fault the
 * kernel raised (SIGSEGV, SIGBUS with si_code > 0), which is dropped: the
 * instruction runs again once detached, and faults again only if the
 * fault was the program's own and not one of our protections' or
 * userfaultfd's (async-signal-safe) */
int lx_detach_sig(pid_t tid, int sig);
bool lx_is_held(pid_t tid);

/* registry */
void lx_hold_add(pid_t tid, int pending_sig);
void lx_hold_remove(pid_t tid);
/* the signal a held thread stopped with, to deliver when it is let go */
int lx_hold_pending_sig(pid_t tid);
void lx_spawned_add(pid_t pid, bool kill_on_exit);
void lx_spawned_remove(pid_t pid);
void lx_hold_set_sig(pid_t tid, int sig);
/* fn(tid, arg) for every held thread (async-signal-safe) */
void lx_hold_each(void (*fn)(pid_t tid, void *arg), void *arg);
/* run fn(arg) first in lx_release_all (async-signal-safe, as fn must
 * be); the slot, -1 when the table is full */
typedef void (*lx_cleanup_fn)(void *arg);
int lx_cleanup_add(lx_cleanup_fn fn, void *arg);
void lx_cleanup_remove(int slot);
/* debug registers were set: lx_release_all clears DR7 of held threads */
void lx_debugregs_used(void);
/* bring a held thread that may be running to a ptrace-stop, within a
 * bounded time (async-signal-safe); *sig: a signal it stopped with */
int lx_ensure_stopped(pid_t tid, int *sig);
/* let go of everything held: cleanups, then threads, then spawned
 * programs (async-signal-safe) */
void lx_release_all(void);
/* in a forked child: nothing of the parent's is held by it */
void lx_forget_all(void);

/* offset of DR7 in struct user (PTRACE_POKEUSER) */
#if defined(__x86_64__)
#include <stddef.h>
#include <sys/user.h>
#define LX_DR_OFFSET(i) (offsetof(struct user, u_debugreg) + (size_t)(i) * sizeof(unsigned long))
#define LX_DR7_OFFSET LX_DR_OFFSET(7)
#else
#define LX_DR7_OFFSET 0
#endif

/* registers (per architecture): of a thread in ptrace-stop, and of the
 * calling thread */
int lx_regs_read(pid_t tid, vm_thread *th);
void lx_regs_self(vm_thread *th);
/* point a stopped thread at addr */
int lx_set_pc(pid_t tid, uint64_t addr);
/* the architecture vmatlas was built for */
vm_arch lx_arch(void);

#endif
