/* A target is where a map comes from: a live Linux process, an ELF core,
 * a Windows minidump, a live Windows process. It is a small interface;
 * everything above it is OS-neutral. */
#ifndef VMATLAS_TARGET_H
#define VMATLAS_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"
#include "reader.h"

typedef struct vm_target vm_target;

/* one request of a batched read */
typedef struct vm_read_req {
	uint64_t addr;
	void *buf;
	size_t len;
	size_t got; /* bytes read from the start */
} vm_read_req;

/* flags for regions() */
#define VM_REGIONS_STATS 0x1u /* fill vm_page_stats (costs more on Linux) */

/* flags for threads() */
#define VM_THREADS_STACKS 0x1u /* copy each stack while the thread is stopped */
/* how much of a stack is copied at most */
#define VM_STACK_COPY_MAX (8u << 20)

struct vm_target_ops {
	const char *kind;
	/* facts about the process; strings stay owned by the target */
	int (*info)(vm_target *t, vm_target_info *out);
	/* the raw regions in address order, no free gaps; the caller frees
	 * them with vm_regions_free */
	int (*regions)(vm_target *t, unsigned flags, vm_region **out, size_t *n);
	/* read up to len bytes at addr; returns the number of bytes read
	 * from the start (short at the first unreadable byte), -1 on a
	 * failure that is not about the address (e.g. the process is gone) */
	ssize_t (*read)(vm_target *t, uint64_t addr, void *buf, size_t len);
	/* optional: many small reads at once (fewer system calls) */
	void (*read_many)(vm_target *t, vm_read_req *reqs, size_t n);
	/* the threads, with registers where they can be read; caller frees
	 * with vm_threads_free */
	int (*threads)(vm_target *t, unsigned flags, vm_thread **out, size_t *n);
	/* optional: per-page detail of [addr, addr+npages*page) as runs */
	int (*pages)(vm_target *t, uint64_t addr, uint64_t npages,
		     vm_page_run **runs, size_t *nruns, vm_page_counts *counts);
	/* optional: the auxiliary vector; caller frees *out */
	int (*auxv)(vm_target *t, vm_auxv **out, size_t *n);
	/* optional: for each address, whether its page is in memory or swap
	 * (1), not (0), or unknown (-1); cheap, no page is touched */
	void (*pages_present)(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out);
	/* optional: the same for npages consecutive pages from addr, in one
	 * pass; -1 when it cannot tell at all */
	int (*present_range)(vm_target *t, uint64_t addr, uint64_t npages, int8_t *out);
	/* optional: open the file backing a region (the mapped inode itself
	 * when the OS can give it); -1 when it cannot */
	int (*open_backing)(vm_target *t, const vm_region *r);
	/* optional: the bytes of a map saved with the target (the snapshot
	 * `vmatlas capture` puts in its cores; the pipeline decodes it): 0
	 * and *buf (caller frees), 1 when there is none, -1 unreadable */
	int (*saved_map)(vm_target *t, uint8_t **buf, size_t *len);
	/* optional: the modules the target lists itself (a minidump's
	 * module list); caller frees each name and path, and the array */
	int (*modules)(vm_target *t, vm_module **out, size_t *n);
	/* optional: modules the process had unloaded (a minidump's
	 * UnloadedModuleList); freed as for modules() */
	int (*unloaded_modules)(vm_target *t, vm_module **out, size_t *n);
	/* optional: stop every thread / let them run again */
	int (*freeze)(vm_target *t);
	int (*thaw)(vm_target *t);
	void (*close)(vm_target *t);
};

struct vm_target {
	const struct vm_target_ops *ops;
};

/* How to open a live target. */
typedef struct vm_spawn_options {
	unsigned run_ms;  /* let a spawned program run this long before mapping */
	bool keep;        /* leave a spawned program running when we close */
	bool quiet;       /* send the program's stdout/stderr to /dev/null */
} vm_spawn_options;

/* "self", a PID, or (with argv) a program to spawn. */
vm_target *vm_target_open(const char *spec);
vm_target *vm_target_spawn(char *const argv[], const vm_spawn_options *opt);
void vm_target_close(vm_target *t);
/* true if buf (the first bytes of a file) is a file target: a core file
 * or a minidump */
bool vm_file_target_magic(const uint8_t *buf, size_t len);
/* where file targets look for the files they name: DIR + path, and
 * directories searched for the file's name (':'-separated); NULL: none */
void vm_target_set_file_search(const char *sysroot, const char *solib_path);

/* convenience wrappers */
int vm_target_info_get(vm_target *t, vm_target_info *out);
/* read exactly len bytes; -1 (with an error naming the address) if any
 * byte is unreadable */
int vm_read_full(vm_target *t, uint64_t addr, void *buf, size_t len);
ssize_t vm_read(vm_target *t, uint64_t addr, void *buf, size_t len);
void vm_read_many(vm_target *t, vm_read_req *reqs, size_t n);
/* a reader over the target's memory (offsets are addresses) */
vm_reader vm_reader_target(vm_target *t);


/* Install handlers so that Ctrl-C, SIGTERM and friends release every
 * thread vmatlas holds stopped and kill programs it spawned, before the
 * process dies. Call once from main. */
void vm_install_cleanup_handlers(void);

#endif
