/* The ELF core target's internals, shared by its files. */
#ifndef VMATLAS_TARGET_ELFCORE_INTERNAL_H
#define VMATLAS_TARGET_ELFCORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core_target.h"
#include "formats/elfcore.h"
#include "target/backend.h"

#define CT(t) ((core_target *)(t))

/* one stretch of address space: a segment, or a file mapping (or the
 * part of one) that no segment covers */
typedef struct core_area {
	uint64_t base, size;
	long seg;  /* index into segs, -1 for none */
	long file; /* index into files, -1 for none */
} core_area;

/* a file the core maps, as found on disk */
enum { BK_UNKNOWN, BK_SAME, BK_UNVERIFIED, BK_DIFFERENT, BK_MISSING };
typedef struct core_backing {
	char *path;     /* resolved on disk */
	int state;      /* BK_* */
} core_backing;

typedef struct core_target {
	vm_target base;
	core_file cf;
	vm_reader r;
	int fd;
	char *name;
	core_area *areas;
	size_t nareas;
	size_t *path_id;      /* per file map: index into backing */
	core_backing *backing;
	size_t nbacking;
	vm_target_info info;
	bool have_info;
	char *warnings;
	/* where to look for the files it maps (--sysroot, --solib-path) */
	char *sysroot, *solib_path;
	/* the annotators read words one at a time, in a few places at once
	 * (a heap, libc's data, a stack): a few windows of the file save a
	 * system call each */
	struct core_window {
		uint8_t *buf;
		uint64_t off, len, used;
	} win[8];
	uint64_t tick;
	/* reads come from several threads at once (page hashes, search):
	 * one lock for the windows, one for the backing files' states (a
	 * file is verified through the windows) */
	pthread_mutex_t lock, backing_lock;
} core_target;

#define NWINDOWS (sizeof ((core_target *)0)->win / sizeof ((core_target *)0)->win[0])
#define WINDOW (16u << 10)

/* the bytes of area a the core file holds */
uint64_t core_area_held(const core_target *ct, const core_area *a);
/* group the file maps by path (one backing file per path) */
void core_index_paths(core_target *ct);
/* an open descriptor for file map fi, -1 when it is not on disk or not
 * the same file */
int core_backing_open(core_target *ct, long fi);

#endif
