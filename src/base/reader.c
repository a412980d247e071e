/* Readers over file descriptors and buffers. */
#include "vmatlas/reader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/util.h"

static ssize_t fd_read(const vm_reader *r, uint64_t off, void *buf, size_t len)
{
	int fd = (int)(intptr_t)r->ctx;
	size_t done = 0;
	while (done < len) {
		if (off > (uint64_t)INT64_MAX - done) /* pread takes a signed offset */
			break;
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0)
			return done ? (ssize_t)done : -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

vm_reader vm_reader_fd(int fd, uint64_t size)
{
	vm_reader r = { fd_read, (void *)(intptr_t)fd, size };
	return r;
}

static ssize_t mem_read(const vm_reader *r, uint64_t off, void *buf, size_t len)
{
	if (off >= r->size)
		return 0;
	uint64_t avail = r->size - off;
	if (len > avail)
		len = (size_t)avail;
	memcpy(buf, (const uint8_t *)r->ctx + off, len);
	return (ssize_t)len;
}

vm_reader vm_reader_mem(const void *buf, size_t len)
{
	vm_reader r = { mem_read, (void *)(uintptr_t)buf, len };
	return r;
}

bool vm_reader_full(const vm_reader *r, uint64_t off, void *buf, size_t len)
{
	if (len == 0)
		return true;
	uint64_t end;
	if (add_overflow_u64(off, len, &end) || end > r->size)
		return false;
	ssize_t n = r->read(r, off, buf, len);
	return n >= 0 && (size_t)n == len;
}


bool vm_reader_word(const vm_reader *r, uint64_t off, size_t w, uint64_t *v)
{
	uint8_t b[8];
	if (!vm_reader_full(r, off, b, w))
		return false;
	*v = ld_word(b, w);
	return true;
}

char *vm_reader_string(const vm_reader *r, uint64_t off, size_t max)
{
	size_t cap = 256, len = 0;
	char *s = xmalloc(cap + 1);
	uint64_t at;
	while (len < max && !add_overflow_u64(off, len, &at)) {
		/* 256-byte pieces that never cross a page: a string that ends
		 * just before unreadable memory is still read whole */
		size_t want = 256 - (size_t)(at % 256);
		if (want > max - len)
			want = max - len;
		if (len + want > cap) {
			cap = cap * 2 < len + want ? len + want : cap * 2;
			s = xrealloc(s, cap + 1);
		}
		ssize_t n = r->read(r, at, s + len, want);
		if (n <= 0)
			break;
		char *nul = memchr(s + len, 0, (size_t)n);
		if (nul) {
			len = (size_t)(nul - s);
			s[len] = 0;
			return s;
		}
		len += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	if (!len) {
		free(s);
		return NULL;
	}
	s[len] = 0;
	return s;
}
