/* Output files that hold target memory: a regular file (or a new name)
 * is written to a temporary (mode 0600) beside it, synced, and renamed
 * over it; a pipe, terminal or character device (and "-", standard
 * output) is streamed to, never replaced; anything else is refused. */
#ifndef VMATLAS_ATOMIC_FILE_H
#define VMATLAS_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct atomic_file {
	int fd;
	char *path, *tmp;
	uint64_t written;
	int failed; /* errno of the first failure */
	bool stream; /* written in place, forward only */
} atomic_file;

/* -1 (error set) for a path that must not be replaced: a symbolic link,
 * a directory, a block device, another user's file (unless
 * af_set_force) */
int af_open(atomic_file *f, const char *path);
/* the same for a writer that goes back (headers last) or reads what it
 * wrote: a stream is refused at once */
int af_open_seekable(atomic_file *f, const char *path);
void af_write(atomic_file *f, const void *buf, size_t len);
/* on a stream only forward (off == what is written), else the commit fails */
void af_pwrite(atomic_file *f, const void *buf, size_t len, uint64_t off);
/* len zero bytes at off, a range not written before: on a regular file
 * a hole (no disk blocks, however long), on a stream written out */
void af_zeros(atomic_file *f, uint64_t len, uint64_t off);
/* sync and rename; -1 (error set, temporary removed) if anything failed */
int af_commit(atomic_file *f);
void af_abort(atomic_file *f);

/* "-", /dev/stdout and the like: the report goes elsewhere */
bool af_names_stdout(const char *path);
/* let af_open replace a regular file that belongs to another user */
void af_set_force(bool force);
/* remove every temporary still open (async-signal-safe: for handlers) */
int af_release_all(void); /* how many it removed */

#endif
