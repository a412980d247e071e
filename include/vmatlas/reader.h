/* A source of bytes by offset: a file, a buffer, or target memory. */
#ifndef VMATLAS_READER_H
#define VMATLAS_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where bytes come from: a file, a buffer, or target memory. */
typedef struct vm_reader vm_reader;
struct vm_reader {
	/* bytes read from the start (short at the first unreadable byte);
	 * -1 on a hard error */
	ssize_t (*read)(const vm_reader *r, uint64_t off, void *buf, size_t len);
	void *ctx;
	uint64_t size; /* bytes available; UINT64_MAX when unbounded */
};

vm_reader vm_reader_fd(int fd, uint64_t size);
/* over a caller-owned buffer that outlives the reader */
vm_reader vm_reader_mem(const void *buf, size_t len);
/* reads all of len or fails */
bool vm_reader_full(const vm_reader *r, uint64_t off, void *buf, size_t len);
/* a little-endian word of w bytes (4 or 8: a 32- or 64-bit target's
 * pointer or size_t) at off; false if unreadable */
bool vm_reader_word(const vm_reader *r, uint64_t off, size_t w, uint64_t *v);
/* the NUL-terminated string at off, at most max bytes of it (cut short
 * where memory becomes unreadable); NULL if not a byte is readable.
 * The caller frees it. */
char *vm_reader_string(const vm_reader *r, uint64_t off, size_t max);

#endif
