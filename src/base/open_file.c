/* Opening a file to read it whole or in parts: only a regular file. The
 * open itself must not block (a FIFO with no writer would, forever), and
 * the type is checked on the descriptor, not the name (no race). Paths
 * that a target names (a core's file list, a loader's list) are also kept
 * out of /proc, /sys and /dev, whose files read forever or have effects. */
#include "open_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmatlas/error.h"

int open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat sb;
	if (fd < 0) {
		/* Windows' C runtime cannot open a directory (EACCES): say what
		 * Linux, which opens it, says (the stat only names the error) */
		int e = errno;
		if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
			vm_seterr("%s is not a regular file", path);
		else {
			errno = e;
			vm_seterr_errno("cannot open %s", path);
		}
		return -1;
	}
	if (fstat(fd, &sb) < 0) {
		vm_seterr_errno("cannot open %s", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		vm_seterr("%s is not a regular file", path);
		return -1;
	}
	/* reads of a regular file never block; the flag only mattered for open */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

bool path_is_special(const char *path)
{
	char *real = realpath(path, NULL);
	bool special = !real || !strncmp(real, "/proc/", 6) || !strncmp(real, "/sys/", 5) ||
		       !strncmp(real, "/dev/", 5);
	free(real);
	return special;
}

int open_named_by_target(const char *path)
{
	if (path_is_special(path)) {
		vm_seterr("%s: not opened (a file the target names must be a regular file outside /proc, "
			  "/sys and /dev)",
			  path);
		return -1;
	}
	return open_regular(path);
}
