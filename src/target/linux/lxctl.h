/* Execution control of a live Linux process with ptrace (control.c and
 * friends): the vm_control behind vmatlas/control.h, and what the rest
 * of the Linux backend (freeze, spawn, write tracking) uses directly. */
#ifndef VMATLAS_LX_LXCTL_H
#define VMATLAS_LX_LXCTL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "target/backend.h"

enum { LXT_RUNNING, LXT_STOPPED, LXT_GONE };

typedef struct lxc_thread {
	pid_t tid;
	int state;      /* LXT_* */
	int sig;        /* delivered when it next runs (0 none) */
	bool stepping;  /* resumed with PTRACE_SINGLESTEP */
	bool sysentry;  /* stopped at the entry of a system call */
	bool sysexit;   /* report the exit of the call it is in */
	/* its registers while it stays stopped (read once a stop: a
	 * breakpoint hit asks for them three times) */
	bool regs_ok;
	signed char i386; /* -1 not known yet, 0 x86-64, 1 i386 */
	vm_regs regs;
} lxc_thread;

/* what the handle changed and puts back on close, also from a signal
 * handler: fixed arrays, entries published by bumping the count */
#define LXC_MAX_SAVED 4096
#define LXC_SAVED_BYTES 16
#define LXC_MAX_PROT 256

typedef struct lxc_saved {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[LXC_SAVED_BYTES];
	uint8_t cur[LXC_SAVED_BYTES]; /* what we last wrote there (patch_pub.c) */
} lxc_saved;

typedef struct lxc_prot {
	uint64_t addr, len;
	int prot; /* PROT_* to put back */
} lxc_prot;

typedef struct lxc_event_q {
	vm_event *v;
	size_t n, cap, head;
} lxc_event_q;

typedef struct lx_control {
	vm_control base;
	pid_t pid;
	lxc_thread *th;
	size_t nth, cap;
	int mem_fd;
	bool exited;
	bool debugregs_used;
	lxc_saved *saved;
	atomic_int nsaved;
	lxc_prot *prots;
	atomic_int nprots;
	uint64_t syscall_insn; /* rt_sigreturn's `mov $15,%rax; syscall` in its code, 0 not yet found */
	lxc_event_q q;         /* events met while stopping the other threads */
	uint64_t *sysw;        /* system calls touching these ranges (addr, len
				* pairs) are reported: threads run with
				* PTRACE_SYSCALL while there are any */
	size_t nsysw;
	long options;          /* ptrace options besides ours (PTRACE_O_EXITKILL) */
	int cleanup_slot;      /* in ptrace.c's signal-time table */
	atomic_int uffd;       /* control_wp.c: the write-protecting userfaultfd (-1 none) */
	char pub_path[96];     /* bpm_pub.c: the original protections published, "" none */
	/* patch_pub.c: the patched bytes published (path "" none), sorted by
	 * address; a removal waits for the next resume of every thread */
	char patch_path[96];
	struct lxc_patch_rec *patch_pub;
	size_t npatch_pub;
	bool patch_quiet; /* spawn's entry int3: not worth publishing */
	bool follow_child;     /* a fork's child is followed (control_fork.c) */
	void (*on_close)(void *arg); /* the target that handed out this handle */
	/* the handle follows a fork's child (the target is that pid now),
	 * or the process execs (the same pid): its facts are read again */
	void (*on_switch)(void *arg, pid_t pid);
	void *on_close_arg;
} lx_control;

extern const struct vm_control_ops lxc_ops;

/* Hold every thread of pid (all-stop). *tid_err is the thread that could
 * not be traced, when that is why it failed (errno EPERM). */
lx_control *lxc_attach(pid_t pid, pid_t *tid_err);
/* hold only thread tid of pid (enough to inject calls; the others run) */
lx_control *lxc_attach_thread(pid_t pid, pid_t tid);
/* a control over pid whose only thread tid is in a ptrace-stop already
 * (seized by spawn) */
lx_control *lxc_adopt(pid_t pid, long options);
/* stop any threads found since (a freeze of an adopted handle) */
int lxc_attach_rest(lx_control *c, pid_t *tid_err);
/* put back, detach, free */
int lxc_close(lx_control *c);
/* let go of the threads without touching the process (it is killed) */
void lxc_forget(lx_control *c);
lxc_thread *lxc_find(lx_control *c, pid_t tid);
lxc_thread *lxc_stopped(lx_control *c, int64_t tid);
/* stop every running thread (what they report is kept for lxc_wait) */
void lxc_stop(lx_control *c);
int lxc_resume(lx_control *c);
int lxc_wait(lx_control *c, int timeout_ms, vm_event *ev);
int lxc_syscall(lx_control *c, pid_t tid, long nr, const uint64_t args[6], int64_t *ret);
int lxc_write(lx_control *c, uint64_t addr, const void *buf, size_t len, unsigned flags);

/* the ops on registers (control_regs.c), memory and protections
 * (control_mem.c), and injected calls (control_inject.c) */
int lxc_get_regs(vm_control *vc, int64_t tid, vm_regs *r);
int lxc_set_regs(vm_control *vc, int64_t tid, const vm_regs *r);
int lxc_get_fpregs(vm_control *vc, int64_t tid, vm_fpregs *f);
int lxc_set_fpregs(vm_control *vc, int64_t tid, const vm_fpregs *f);
ssize_t lxc_get_xstate(vm_control *vc, int64_t tid, void *buf, size_t cap);
int lxc_set_xstate(vm_control *vc, int64_t tid, const void *buf, size_t len);
/* control_wp.c */
int lxc_write_protect_op(vm_control *vc, int64_t tid, uint64_t addr, uint64_t len, int how);
void lxc_wp_close(lx_control *c);
/* bpm_pub.c */
int lxc_publish_prots_op(vm_control *vc, const vm_prot_page *v, size_t n);
void lxc_pub_remove(lx_control *c);
/* patch_pub.c: a write of [addr, addr+len) done (the journal's idea of
 * what is there follows); publish the patched bytes when they changed
 * (now: removals too, else only when one was added or changed);
 * remove the file (async-signal-safe); forget it all (a new pid) */
void lxc_patch_note(lx_control *c, uint64_t addr, const void *buf, size_t len);
void lxc_patch_publish(lx_control *c, bool now);
void lxc_patch_remove(lx_control *c);
void lxc_patch_reset(lx_control *c);
int lxc_get_debugreg(vm_control *vc, int64_t tid, int i, uint64_t *v);
int lxc_set_debugreg(vm_control *vc, int64_t tid, int i, uint64_t v);
ssize_t lxc_read_op(vm_control *vc, uint64_t addr, void *buf, size_t len);
ssize_t lxc_user_rw_op(vm_control *vc, uint64_t addr, void *buf, size_t len, bool write);
int lxc_write_op(vm_control *vc, uint64_t addr, const void *buf, size_t len, unsigned flags);
void lxc_update_saved_op(vm_control *vc, uint64_t addr, const void *buf, size_t len);
int lxc_protect_op(vm_control *vc, uint64_t addr, uint64_t len, unsigned prot, unsigned flags);
int lxc_syscall_op(vm_control *vc, int64_t tid, long nr, const uint64_t args[6], int64_t *ret);

/* the async-signal-safe part of closing: put back memory, protections
 * and debug registers (control_restore.c) */
void lxc_restore(lx_control *c, pid_t stopped_tid);
/* one system call in tid, without touching errors or the heap */
int lxc_syscall_raw(pid_t tid, uint64_t insn, long nr, const uint64_t args[6], int64_t *ret, int *pending_sig);
/* a child of a traced fork (auto-attached): wait for its first stop, put
 * back the bytes of the journal in it and let it go (control_mem.c) */
void lxc_release_child(lx_control *c, pid_t child);
/* sysmem.c: does the call tid is at the entry of touch c->sysw (*nr:
 * its number); the memory of such a call */
bool lxc_syscall_watched(lx_control *c, pid_t tid, int64_t *nr);
int lxc_syscall_mem_op(vm_control *vc, int64_t tid, vm_sysmem *out, size_t cap, const char **name);
void lxc_update_saved_prot_op(vm_control *vc, uint64_t addr, uint64_t len, int prot);
void lxc_forget_op(vm_control *vc, uint64_t addr, uint64_t len);
/* the same for a child already in its first stop */
void lxc_release_stopped_child(lx_control *c, pid_t child);
/* put back memory and protections in the process, keeping the journal
 * (the same changes are in a forked child) */
void lxc_restore_keep(lx_control *c, pid_t stopped_tid);
/* a followed fork (control_fork.c): the child of the fork event, in its
 * first stop, is held (decode); the switch to it, every thread of the
 * parent stopped (lxc_wait); one left in the queue at close is let go */
pid_t lxc_hold_child(pid_t child);
void lxc_switch_to_child(lx_control *c, pid_t child);
void lxc_release_queued_children(lx_control *c);
void lxc_follow_fork(vm_control *vc, bool child); /* the op */
/* find a `syscall` instruction for c (sets c->syscall_insn) */
int lxc_find_syscall_insn(lx_control *c, pid_t tid);

#endif
