/* Reading a whole file of our own formats into memory, with a bound on
 * its size so that a huge file is refused rather than allocated. */
#include "base/slurp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/open_file.h"
#include "base/util.h"
#include "vmatlas/error.h"

int slurp_file(const char *path, uint64_t max, const char *what, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = open_regular(path);
	struct stat sb;
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		vm_seterr_errno("cannot open %s", path);
		close(fd);
		return -1;
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		vm_seterr("%s is too large to be a %s", path, what);
		return -1;
	}
	size_t want = (size_t)sb.st_size, got = 0;
	uint8_t *b = xmalloc(want ? want : 1);
	while (got < want) {
		ssize_t n = read(fd, b + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*buf = b;
	*len = got;
	return 0;
}

int slurp_parse(const char *path, uint64_t max, const char *what,
		int (*parse)(const uint8_t *buf, size_t len, void *out), void *out)
{
	uint8_t *buf;
	size_t len;
	if (slurp_file(path, max, what, &buf, &len) < 0)
		return -1;
	int rc = parse(buf, len, out);
	free(buf);
	if (rc < 0) {
		char why[512];
		snprintf(why, sizeof why, "%s", vm_error());
		vm_seterr("%s: %s", path, why);
	}
	return rc;
}
