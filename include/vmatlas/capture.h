/* `vmatlas capture`: a crash-report bundle from a live process, as an ELF
 * core file that gdb and eu-stack open, with the vmatlas snapshot of the
 * process embedded as a note so the full annotated map comes back later. */
#ifndef VMATLAS_CAPTURE_H
#define VMATLAS_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "map.h"
#include "target.h"

typedef struct vm_capture_options {
	bool private_only;        /* only private memory, stacks and image headers */
	const vm_map_options *mo; /* how to build the map */
	int64_t live_pid;         /* core stream: the dying process (core_pattern %P),
				     whose /proc files (thread names, smaps) are read
				     before the core, while the kernel still holds it;
				     0 none */
} vm_capture_options;

typedef struct vm_capture_result {
	uint64_t file_size;
	uint64_t bytes_dumped;  /* memory written */
	size_t nsegments, nthreads, nregions;
	size_t unreadable;      /* regions the target would not let us read (whole or part) */
} vm_capture_result;

/* Stop every thread of the live target t, write the core to path
 * (atomically, mode 0600) and let them run again (also on failure). */
int vm_capture(vm_target *t, const vm_capture_options *o, const char *path, vm_capture_result *res);

/* The dump the OS writes of t (VM_CAP_OS_DUMP: a minidump of a live
 * Windows process), to path atomically; res counts what the dump holds,
 * read back from it. vm_capture takes this way where the target has it. */
int vm_capture_os_dump(vm_target *t, const vm_capture_options *o, const char *path, vm_capture_result *res);

/* An ELF core read from fd `in` (a pipe from the kernel: core_pattern
 * "|vmatlas capture - -o FILE") written to path with the vmatlas snapshot
 * of what it holds added as a note (atomically, mode 0600). */
int vm_capture_core_stream(int in, const vm_capture_options *o, const char *path, vm_capture_result *res);

#endif
