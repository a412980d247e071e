/* Files that appear whole or not at all: written to a temporary file
 * (mode 0600: they hold target memory) in the same directory, synced,
 * then renamed over the destination. */
#ifndef VMATLAS_ATOMIC_FILE_H
#define VMATLAS_ATOMIC_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct atomic_file {
	int fd;
	char *path, *tmp;
	uint64_t written;
	int failed; /* errno of the first failure */
} atomic_file;

int af_open(atomic_file *f, const char *path);
void af_write(atomic_file *f, const void *buf, size_t len);
void af_pwrite(atomic_file *f, const void *buf, size_t len, uint64_t off);
/* sync and rename; -1 (error set, temporary removed) if anything failed */
int af_commit(atomic_file *f);
void af_abort(atomic_file *f);

#endif
