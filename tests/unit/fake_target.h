/* A target made of plain arrays: regions, memory blobs and threads that
 * a test lays out by hand. It exercises everything above the target
 * interface without a process. */
#ifndef VMATLAS_FAKE_TARGET_H
#define VMATLAS_FAKE_TARGET_H

#include "target/backend.h" /* a fake backend */

typedef struct fake_blob {
	uint64_t addr;
	uint8_t *bytes;
	size_t len;
} fake_blob;

typedef struct fake_target {
	vm_target base;
	vm_target_info info;
	vm_region regions[64];
	size_t nregions;
	fake_blob blobs[32];
	size_t nblobs;
	vm_thread threads[8];
	size_t nthreads;
} fake_target;

void fake_init(fake_target *f);
/* add a region; path may be NULL; prot like "rw-p" */
vm_region *fake_region(fake_target *f, uint64_t base, uint64_t size, const char *prot,
		       const char *path, uint64_t offset, uint64_t inode);
/* memory contents at addr (copied) */
void fake_memory(fake_target *f, uint64_t addr, const void *bytes, size_t len);
vm_thread *fake_thread(fake_target *f, int64_t tid, uint64_t sp);
void fake_free(fake_target *f);

#endif
