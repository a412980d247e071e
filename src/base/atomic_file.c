#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "vmatlas/error.h"

int af_open(atomic_file *f, const char *path)
{
	memset(f, 0, sizeof *f);
	f->path = xstrdup(path);
	f->tmp = xasprintf("%s.vmatlas-XXXXXX", path);
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		vm_seterr_errno("cannot create %s", path);
		free(f->path);
		free(f->tmp);
		return -1;
	}
	fchmod(f->fd, 0600);
	return 0;
}

void af_write(atomic_file *f, const void *buf, size_t len)
{
	af_pwrite(f, buf, len, f->written);
}

void af_pwrite(atomic_file *f, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	while (len && !f->failed) {
		ssize_t n = pwrite(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno != EINTR)
				f->failed = errno;
			continue;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	if (off > f->written)
		f->written = off;
}

int af_commit(atomic_file *f)
{
	if (!f->failed && fsync(f->fd) < 0)
		f->failed = errno;
	if (close(f->fd) < 0 && !f->failed)
		f->failed = errno;
	if (!f->failed && rename(f->tmp, f->path) < 0)
		f->failed = errno;
	int rc = 0;
	if (f->failed) {
		errno = f->failed;
		vm_seterr_errno("writing %s", f->path);
		unlink(f->tmp);
		rc = -1;
	}
	free(f->path);
	free(f->tmp);
	return rc;
}

void af_abort(atomic_file *f)
{
	close(f->fd);
	unlink(f->tmp);
	free(f->path);
	free(f->tmp);
}
