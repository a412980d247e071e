/* The live Linux process target: internal interface shared by its files. */
#ifndef VMATLAS_LX_LINUX_H
#define VMATLAS_LX_LINUX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "target/backend.h"

typedef struct lx_proc {
	vm_target base;
	pid_t pid;
	pid_t mm_pid;       /* whose /proc files and memory reach the address
			       space: pid, or a live thread's id when the main
			       thread has exited (pthread_exit) and others run */
	bool self;
	/* the mappings as regions() last read them, by address: a stack
	 * copy stops at the end of the mapping sp is in */
	uint64_t *vma_lo, *vma_hi;
	size_t nvma;
	bool spawned;       /* we started it */
	bool keep;          /* leave a spawned program running on close */
	bool entry_held;    /* spawned and still stopped at its entry point */
	bool frozen;        /* every thread held by freeze() */
	/* /proc/PID/mem, opened lazily (-1); atomic: reads come from
	 * several threads at once (page hashes, search) */
	_Atomic int mem_fd;
	int pagemap_fd;     /* /proc/PID/pagemap, opened lazily (-1) */
	vm_target_info info;
	bool have_info;
	/* the control holding its threads: made by spawn (entry_held), by
	 * freeze (freeze_owns), or handed out by vm_control_open (user) */
	struct lx_control *ctl;
	bool freeze_owns;
	bool ctl_user;
	bool thaw_resumes;  /* freeze stopped a debugger's running threads */
	/* another debugger's published int3 bytes (patch_pub.c): read at
	 * open and again with the regions (never while reads run on other
	 * threads: search's workers start after it) */
	struct lx_patches *patches;
} lx_proc;

extern const vm_backend lx_backend;

/* every process of this machine, by PID (ps.c) */
int lx_processes(vm_process **out, size_t *n);

/* bpm_pub.c: the original protections a vmatlas debugger published for
 * pid's pages under its memory breakpoints, over the regions of maps
 * (split where needed), when the file can be believed */
void lx_bpm_overlay(pid_t pid, vm_region **regs, size_t *nregs);
/* what bpm_pub.c and patch_pub.c share: the directory of uid's
 * published files (/tmp/vmatlas-UID), whether only uid may write it, a
 * process's start time (0 unknown), the users whose files about pid are
 * looked at, and uid's file KIND-PID opened when it can be trusted */
void lx_pub_dir(uid_t uid, char *out, size_t n);
bool lx_pub_dir_ok(const char *dir, uid_t uid);
uint64_t lx_pub_start_time(pid_t pid);
/* write <dir>/KIND-PID whole (0600, by rename) with its header and body;
 * its path into path_out; what names the contents in errors */
struct strbuf;
int lx_pub_write(pid_t target, const char *kind, const char *what, const struct strbuf *body, char *path_out,
		 size_t cap);
size_t lx_pub_uids(pid_t pid, uid_t out[3]);
FILE *lx_pub_fopen(pid_t pid, uid_t uid, const char *kind);

/* patch_pub.c: the bytes a vmatlas debugger (another process) patched in
 * pid (int3), as it published them, when the file can be believed;
 * NULL if none. lx_patches_apply puts the original bytes back into what
 * was read at addr, where the patched byte is still there. */
struct lx_patches;
struct lx_patches *lx_patches_load(pid_t pid);
void lx_patches_apply(const struct lx_patches *v, uint64_t addr, void *buf, size_t len);
void lx_patches_free(struct lx_patches *v);
/* the original bytes where another vmatlas debugger has its int3 */
void lx_unpatch(lx_proc *p, uint64_t addr, void *buf, size_t len);

/* open a running process (after checking that it can be mapped) */
vm_target *lx_open(pid_t pid, bool self);
/* "process N exited while being read": -1 */
int lx_gone(lx_proc *p);
/* freeze, thaw and the control handle (freeze.c) */
int lx_freeze(vm_target *t);
int lx_thaw(vm_target *t);
/* the target's control handle (the vm_target_ops control op) */
vm_control *lx_control_open(vm_target *t);
/* on_close of the control an lx_proc holds (arg: the lx_proc) */
void lx_control_closed(void *arg);
/* on_switch of that control: it follows a fork's child, pid */
void lx_control_switched(void *arg, pid_t pid);
/* start argv[0] under ptrace, stopped at its entry point (spawn.c) */
vm_target *lx_spawn(char *const argv[], const vm_spawn_options *opt);

/* the tids of the process, sorted; -1 with errno */
int lx_list_tids(pid_t pid, pid_t **out, size_t *n);

/* read a whole /proc file into a NUL-terminated buffer; -1 with errno */
int lx_read_file(const char *path, char **buf, size_t *len);
/* who traces thread tid (TracerPid), 0 none or unknown; its name in comm
 * (n bytes) when it can be read */
bool lx_thread_exited(pid_t pid, pid_t tid); /* a zombie (or dead) thread */
pid_t lx_tracer_of(pid_t pid, pid_t tid, char *comm, size_t n);

/* pagemap walk behind the target's pages() */
int lx_pages(pid_t pid, uint64_t addr, uint64_t npages, uint64_t page_size,
	     vm_page_run **runs, size_t *nruns, vm_page_counts *counts);

#endif
