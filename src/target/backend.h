/* What a target backend implements, private to src/target/: the ops every
 * target answers through the wrappers of vmatlas/target.h, and the
 * description the registry (registry.c) picks a backend by. */
#ifndef VMATLAS_TARGET_BACKEND_H
#define VMATLAS_TARGET_BACKEND_H

#include "vmatlas/control.h"
#include "vmatlas/target.h"


struct vm_target_ops {
	vm_target_kind kind;
	/* what this target can do (VM_CAP_*); the wrappers below refuse
	 * an optional op the mask does not name */
	unsigned (*caps)(vm_target *t);
	/* facts about the process; strings stay owned by the target */
	int (*info)(vm_target *t, vm_target_info *out);
	/* the raw regions in address order, no free gaps; the caller frees
	 * them with vm_regions_free */
	int (*regions)(vm_target *t, unsigned flags, vm_region **out, size_t *n);
	/* read up to len bytes at addr; returns the number of bytes read
	 * from the start (short at the first unreadable byte), -1 on a
	 * failure that is not about the address (e.g. the process is gone).
	 * Called from several threads at once (page hashes, search): state
	 * it keeps (caches, lazily opened files) needs a lock or atomics */
	ssize_t (*read)(vm_target *t, uint64_t addr, void *buf, size_t len);
	/* optional: many small reads at once (fewer system calls) */
	void (*read_many)(vm_target *t, vm_read_req *reqs, size_t n);
	/* the threads, with registers where they can be read; caller frees
	 * with vm_threads_free */
	int (*threads)(vm_target *t, unsigned flags, vm_thread **out, size_t *n);
	/* VM_CAP_PAGES: per-page detail of [addr, addr+npages*page) as runs */
	int (*pages)(vm_target *t, uint64_t addr, uint64_t npages,
		     vm_page_run **runs, size_t *nruns, vm_page_counts *counts);
	/* VM_CAP_AUXV: the auxiliary vector; caller frees *out */
	int (*auxv)(vm_target *t, vm_auxv **out, size_t *n);
	/* VM_CAP_PRESENT: for each address, whether its page is in memory or
	 * swap (1), not (0), or unknown (-1); cheap, no page is touched */
	void (*pages_present)(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out);
	/* optional: the same for npages consecutive pages from addr, in one
	 * pass; -1 when it cannot tell at all */
	int (*present_range)(vm_target *t, uint64_t addr, uint64_t npages, int8_t *out);
	/* VM_CAP_BACKING: open the file backing a region (the mapped inode
	 * itself when the OS can give it); -1 when it cannot */
	int (*open_backing)(vm_target *t, const vm_region *r);
	/* optional: the bytes of a map saved with the target (the snapshot
	 * `vmatlas capture` puts in its cores; the pipeline decodes it): 0
	 * and *buf (caller frees), 1 when there is none, -1 unreadable */
	int (*saved_map)(vm_target *t, uint8_t **buf, size_t *len);
	/* VM_CAP_MODULES: the modules the target lists itself (a minidump's
	 * module list); caller frees each name and path, and the array */
	int (*modules)(vm_target *t, vm_module **out, size_t *n);
	/* VM_CAP_UNLOADED: modules the process had unloaded (a minidump's
	 * UnloadedModuleList); freed as for modules() */
	int (*unloaded_modules)(vm_target *t, vm_module **out, size_t *n);
	/* VM_CAP_HANDLES: the open handles (a minidump's HandleData);
	 * freed with vm_win_handles_free */
	int (*handles)(vm_target *t, vm_win_handle **out, size_t *n);
	/* VM_CAP_OS_DUMP: the OS's own dump of the process to fd */
	int (*write_dump)(vm_target *t, int fd, bool private_only);
	/* VM_CAP_FREEZE: stop every thread / let them run again */
	int (*freeze)(vm_target *t);
	int (*thaw)(vm_target *t);
	/* VM_CAP_CONTROL: a control handle over it (vmatlas/control.h) */
	vm_control *(*control)(vm_target *t);
	/* a program we started: leave it running when closed (a debugger's
	 * detach), not killed */
	void (*keep_running)(vm_target *t);
	void (*close)(vm_target *t);
};

struct vm_target {
	const struct vm_target_ops *ops;
};

/* Execution control (vmatlas/control.h), one set per backend that has
 * VM_CAP_CONTROL; control.c checks the arguments common to all. */
struct vm_control_ops {
	int (*close)(vm_control *c);
	int (*threads)(vm_control *c, int64_t **tids, size_t *n);
	int (*stop)(vm_control *c);
	int (*resume)(vm_control *c);
	int (*step)(vm_control *c, int64_t tid);
	int (*wait)(vm_control *c, int timeout_ms, vm_event *ev);
	void (*discard_signal)(vm_control *c, int64_t tid);
	void (*follow_fork)(vm_control *c, bool child); /* NULL: never followed */
	int (*get_regs)(vm_control *c, int64_t tid, vm_regs *r);
	int (*set_regs)(vm_control *c, int64_t tid, const vm_regs *r);
	int (*get_fpregs)(vm_control *c, int64_t tid, vm_fpregs *f);
	int (*set_fpregs)(vm_control *c, int64_t tid, const vm_fpregs *f);
	ssize_t (*get_xstate)(vm_control *c, int64_t tid, void *buf, size_t cap);
	int (*set_xstate)(vm_control *c, int64_t tid, const void *buf, size_t len);
	int (*write_protect)(vm_control *c, int64_t tid, uint64_t addr, uint64_t len, int how);
	int (*publish_prots)(vm_control *c, const vm_prot_page *v, size_t n);
	ssize_t (*user_rw)(vm_control *c, uint64_t addr, void *buf, size_t len, bool write);
	int (*get_debugreg)(vm_control *c, int64_t tid, int i, uint64_t *v);
	int (*set_debugreg)(vm_control *c, int64_t tid, int i, uint64_t v);
	ssize_t (*read)(vm_control *c, uint64_t addr, void *buf, size_t len);
	int (*write)(vm_control *c, uint64_t addr, const void *buf, size_t len, unsigned flags);
	int (*protect)(vm_control *c, uint64_t addr, uint64_t len, unsigned prot, unsigned flags);
	int (*syscall)(vm_control *c, int64_t tid, long nr, const uint64_t args[6], int64_t *ret);
	bool (*pending)(vm_control *c);
	void (*update_saved)(vm_control *c, uint64_t addr, const void *buf, size_t len);
	int (*kill)(vm_control *c);
	int (*watch_syscalls)(vm_control *c, const uint64_t *ranges, size_t n);
	int (*syscall_mem)(vm_control *c, int64_t tid, vm_sysmem *out, size_t cap, const char **name);
	void (*update_saved_prot)(vm_control *c, uint64_t addr, uint64_t len, int prot);
	int (*sig_handled)(vm_control *c, int sig);
	int (*syscall_exit)(vm_control *c, int64_t tid);
	int (*run_syscall)(vm_control *c, int64_t tid);
	void (*forget)(vm_control *c, uint64_t addr, uint64_t len);
};

struct vm_control {
	const struct vm_control_ops *ops;
	int64_t protect_tid; /* vm_control_protect_by's thread, 0: any */
};

/* One backend, as the registry sees it. */
typedef struct vm_backend {
	const char *name;
	/* is spec (or o->argv, a program to start) this backend's? head and
	 * len are the first bytes of the file spec names, NULL when it names
	 * no readable file; probes without a file come first */
	bool (*probe)(const char *spec, const vm_open_options *o, const uint8_t *head, size_t len);
	vm_target *(*open)(const char *spec, const vm_open_options *o);
	/* from a signal handler (async-signal-safe): let go of everything
	 * held in other processes; NULL when there is never anything */
	void (*release_all)(void);
	/* a running process by its name ("nginx"), when spec is no file:
	 * NULL with *matches 0 when none is called that (the caller says
	 * what spec is not), with *matches > 1 and the error set when
	 * several are; NULL when the backend has no names */
	vm_target *(*open_name)(const char *spec, const vm_open_options *o, size_t *matches);
	/* the running processes it can open (vmatlas ps); NULL when the
	 * backend opens no processes */
	int (*processes)(vm_process **out, size_t *n);
} vm_backend;

/* a file target: the file read through a descriptor the target keeps
 * (own_fd hands it over); the file's name prefixes an error */
vm_target *vm_target_open_file(const char *path, vm_target *(*open_reader)(const vm_reader *, const char *),
			       void (*own_fd)(vm_target *, int));

#endif
