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
#define VM_THREADS_STATES 0x2u /* ids, names and states only: no thread is stopped */
/* how much of a stack is copied at most */
#define VM_STACK_COPY_MAX (8u << 20)

/* What a target can do, from vm_target_caps(). Ask it rather than guess
 * from the kind of target. */
#define VM_CAP_LIVE         0x001u /* a running process: facts can change while read */
#define VM_CAP_FREEZE       0x002u /* vm_target_freeze/thaw hold every thread */
#define VM_CAP_PAGES        0x004u /* per-page detail: vm_target_pages */
#define VM_CAP_PRESENT      0x008u /* page presence: vm_target_pages_present */
#define VM_CAP_AUXV         0x010u /* vm_target_auxv */
#define VM_CAP_MODULES      0x020u /* the target lists modules itself: vm_target_modules */
#define VM_CAP_UNLOADED     0x040u /* and unloaded ones: vm_target_unloaded_modules */
#define VM_CAP_BACKING      0x080u /* can open a region's file: vm_target_open_backing */
#define VM_CAP_CONTROL      0x100u /* execution control: vmatlas/control.h */
#define VM_CAP_WRITE_MEM    0x200u /* memory can be written (through control) */
#define VM_CAP_TRACK_WRITES 0x400u /* vm_track_start works on it */
#define VM_CAP_HANDLES      0x800u /* Windows: the open handles, vm_target_handles */
#define VM_CAP_OS_DUMP      0x1000u /* the OS writes a dump of it: vm_target_write_dump */

/* How to open a live target. */
typedef struct vm_spawn_options {
	unsigned run_ms;  /* let a spawned program run this long before mapping */
	bool keep;        /* leave a spawned program running when we close */
	bool quiet;       /* send the program's stdout/stderr to /dev/null */
} vm_spawn_options;

/* Everything opening a target may need, whichever backend it ends at. */
typedef struct vm_open_options {
	/* file targets: where to look for the files they name: DIR + path,
	 * and directories searched for the file's name (':'-separated) */
	const char *sysroot;
	const char *solib_path;
	/* start this program (argv[0] is looked up in PATH) instead of
	 * opening spec */
	char *const *argv;
	vm_spawn_options spawn;
	/* hold every thread from open until close (VM_CAP_FREEZE) */
	bool freeze;
} vm_open_options;

/* "self", a PID, a core file or minidump, or (o->argv) a program to
 * spawn; o may be NULL */
vm_target *vm_target_open_with(const char *spec, const vm_open_options *o);
/* the same with the options of vm_target_set_file_search */
vm_target *vm_target_open(const char *spec);
vm_target *vm_target_spawn(char *const argv[], const vm_spawn_options *opt);
void vm_target_close(vm_target *t);
/* true if buf (the first bytes of a file) is a file target: a core file
 * or a minidump */
bool vm_file_target_magic(const uint8_t *buf, size_t len);
/* the sysroot and solib path vm_target_open and vm_target_spawn use;
 * NULL: none */
void vm_target_set_file_search(const char *sysroot, const char *solib_path);

/* ---- what every target answers ---- */

/* "linux-process", "elf-core", "minidump", ... (for messages) */
vm_target_kind vm_target_kind_of(vm_target *t);
unsigned vm_target_caps(vm_target *t);
/* facts about the process; strings stay owned by the target */
int vm_target_info_get(vm_target *t, vm_target_info *out);
/* the raw regions in address order, no free gaps (VM_REGIONS_*); free
 * them with vm_regions_free */
int vm_target_regions(vm_target *t, unsigned flags, vm_region **out, size_t *n);
/* the bytes of a map saved with the target (the snapshot `vmatlas
 * capture` puts in its cores; vm_map_saved decodes it): 0 and *buf
 * (caller frees), 1 when there is none, -1 unreadable */
int vm_target_saved_map(vm_target *t, uint8_t **buf, size_t *len);
/* the threads, with registers where they can be read (VM_THREADS_*);
 * free them with vm_threads_free */
int vm_target_threads(vm_target *t, unsigned flags, vm_thread **out, size_t *n);

/* ---- what some targets answer (see the caps); without the capability
 * they fail with an error, or answer "unknown" as said ---- */

/* VM_CAP_PAGES: per-page detail of [addr, addr+npages*page) as runs */
int vm_target_pages(vm_target *t, uint64_t addr, uint64_t npages, vm_page_run **runs,
		    size_t *nruns, vm_page_counts *counts);
/* VM_CAP_AUXV: the auxiliary vector; the caller frees *out */
int vm_target_auxv(vm_target *t, vm_auxv **out, size_t *n);
/* VM_CAP_PRESENT: for each address, whether its page is in memory or
 * swap (1), not (0), or unknown (-1: always, without the capability) */
void vm_target_pages_present(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out);
/* the same for npages consecutive pages from addr, in one pass; -1 when
 * it cannot tell at all */
int vm_target_present_range(vm_target *t, uint64_t addr, uint64_t npages, int8_t *out);
/* VM_CAP_BACKING: a descriptor for the file backing r (the mapped inode
 * itself when the OS can give it); -1 when it cannot */
int vm_target_open_backing(vm_target *t, const vm_region *r);
/* VM_CAP_MODULES / VM_CAP_UNLOADED: the modules the target lists itself
 * and those the process had unloaded; the caller frees each name and
 * path, and the array */
int vm_target_modules(vm_target *t, vm_module **out, size_t *n);
int vm_target_unloaded_modules(vm_target *t, vm_module **out, size_t *n);
/* VM_CAP_HANDLES: the open handles; free with vm_win_handles_free */
int vm_target_handles(vm_target *t, vm_win_handle **out, size_t *n);
void vm_win_handles_free(vm_win_handle *h, size_t n);
/* VM_CAP_OS_DUMP: the OS's own dump of the process to fd (Windows: a
 * minidump by MiniDumpWriteDump, full memory unless private_only: then
 * private read-write memory only) */
int vm_target_write_dump(vm_target *t, int fd, bool private_only);

/* VM_CAP_FREEZE: stop every thread / let them run again */
int vm_target_freeze(vm_target *t);
int vm_target_thaw(vm_target *t);
/* a program the target started is left running when it is closed (as
 * --keep), not killed: a debugger's detach; nothing for other targets */
void vm_target_keep_running(vm_target *t);

/* memory */
/* read exactly len bytes; -1 (with an error naming the address) if any
 * byte is unreadable */
int vm_read_full(vm_target *t, uint64_t addr, void *buf, size_t len);
/* the bytes read from the start, short at the first unreadable one;
 * safe to call from several threads at once (nothing else is) */
ssize_t vm_read(vm_target *t, uint64_t addr, void *buf, size_t len);
void vm_read_many(vm_target *t, vm_read_req *reqs, size_t n);
/* a reader over the target's memory (offsets are addresses) */
vm_reader vm_reader_target(vm_target *t);


/* ---- the processes of this machine (vmatlas ps) ---- */

typedef struct vm_process {
	int64_t pid, ppid;  /* ppid: 0 unknown */
	char *name;         /* short name (Linux comm; Windows the executable's file name) */
	char *exe;          /* executable path, NULL when it cannot be read */
	char *user;         /* owner's name (or uid), NULL unknown */
	int bits;           /* 32 or 64; 0 unknown */
} vm_process;

/* every process the backends of this build can list, by PID; -1 with
 * the error set when none can */
int vm_process_list(vm_process **out, size_t *n);
void vm_processes_free(vm_process *p, size_t n);

/* Install handlers so that Ctrl-C, SIGTERM and friends release every
 * thread vmatlas holds stopped and kill programs it spawned, before the
 * process dies. Call once from main. */
void vm_install_cleanup_handlers(void);

#endif
