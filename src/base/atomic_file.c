/* Output files that hold target memory. A regular file (or a new name) is
 * written to a temporary beside it and renamed over it, so it appears
 * whole or not at all; the node is never anything but a regular file we
 * created. A pipe, a terminal or a character device is written to as it
 * is (streamed), never replaced. Temporaries carry our pid in their name:
 * signal handlers remove ours, a later run removes those of dead runs. */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osfile.h"
#include "util.h"
#include "vmatlas/error.h"

#define TMP_TAG ".vmatlas-"

static bool replace_foreign;

void af_set_force(bool force)
{
	replace_foreign = force;
}

/* ---- temporaries a signal handler removes ---- */

#define MAX_LIVE 8
static char *volatile live[MAX_LIVE];

static void live_add(char *tmp)
{
	for (size_t i = 0; i < MAX_LIVE; i++)
		if (!live[i]) {
			live[i] = tmp;
			return;
		}
}

static void live_remove(const char *tmp)
{
	for (size_t i = 0; i < MAX_LIVE; i++)
		if (live[i] == tmp)
			live[i] = NULL;
}

int af_release_all(void)
{
	/* async-signal-safe: unlink only */
	int n = 0;
	for (size_t i = 0; i < MAX_LIVE; i++) {
		char *p = live[i];
		if (p && unlink(p) == 0)
			n++;
	}
	return n;
}

/* "NAME.vmatlas-PID-XXXXXX" beside NAME, left by a run that is gone
 * (and ours: another's is not ours to remove). By name, not by *at
 * calls on the directory: the Windows build has no directory descriptor. */
static void remove_stale(const char *path)
{
	size_t dlen = vm_path_dir_len(path);
	char *dir = xstrndup(path, dlen);
	const char *base = path + dlen;
	size_t blen = strlen(base), tlen = strlen(TMP_TAG);
	DIR *d = opendir(dlen ? dir : ".");
	if (!d) {
		free(dir);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strncmp(n, base, blen) || strncmp(n + blen, TMP_TAG, tlen))
			continue;
		char *end;
		long pid = strtol(n + blen + tlen, &end, 10);
		if (pid <= 0 || *end != '-' || strlen(end + 1) != 6)
			continue;
		if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char *full = xasprintf("%s%s", dir, n);
		struct stat st;
		if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && vm_file_is_ours(full, &st, NULL) == 1)
			unlink(full);
		free(full);
	}
	closedir(d);
	free(dir);
}

/* a name for the standard output: "-", /dev/stdout, /dev/fd/1 ... */
bool af_names_stdout(const char *path)
{
	return !strcmp(path, "-") || !strcmp(path, "/dev/stdout") || !strcmp(path, "/dev/fd/1") ||
	       !strcmp(path, "/proc/self/fd/1");
}

static int open_stream(atomic_file *f, const char *path)
{
	f->stream = true;
	if (af_names_stdout(path)) {
		f->fd = dup(STDOUT_FILENO);
	} else {
		f->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		/* blocking writes from here on (a FIFO opens only with a reader) */
		if (f->fd >= 0)
			fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) & ~O_NONBLOCK);
	}
	if (f->fd < 0) {
		vm_seterr_errno(errno == ENXIO ? "cannot write to %s (a FIFO with no reader)" : "cannot write to %s",
				path);
		return -1;
	}
	return 0;
}

int af_open(atomic_file *f, const char *path)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	struct stat st;
	if (af_names_stdout(path)) {
		if (open_stream(f, path) < 0)
			return -1;
		f->path = xstrdup("standard output");
		return 0;
	}
	if (lstat(path, &st) == 0) {
		if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
			if (open_stream(f, path) < 0)
				return -1;
			f->path = xstrdup(path);
			return 0;
		}
		const char *what = S_ISLNK(st.st_mode)	 ? "a symbolic link (not followed)"
				   : S_ISDIR(st.st_mode) ? "a directory"
				   : S_ISBLK(st.st_mode) ? "a block device"
				   : S_ISSOCK(st.st_mode) ? "a socket"
				   : NULL;
		if (what) {
			vm_seterr("%s is %s: not replaced", path, what);
			return -1;
		}
		char *who = NULL;
		int ours = replace_foreign ? 1 : vm_file_is_ours(path, &st, &who);
		if (ours < 0) {
			vm_seterr_errno("cannot read the owner of %s", path);
			return -1;
		}
		if (!ours) {
			vm_seterr("%s belongs to another user (%s): not replaced without --force", path, who);
			free(who);
			return -1;
		}
	} else if (errno != ENOENT) {
		vm_seterr_errno("cannot write %s", path);
		return -1;
	}
	remove_stale(path);
	f->path = xstrdup(path);
	f->tmp = xasprintf("%s" TMP_TAG "%ld-XXXXXX", path, (long)getpid());
	live_add(f->tmp);
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		vm_seterr_errno("cannot create %s", path);
		live_remove(f->tmp);
		free(f->path);
		free(f->tmp);
		return -1;
	}
	fchmod(f->fd, 0600);
	return 0;
}

int af_open_seekable(atomic_file *f, const char *path)
{
	if (af_open(f, path) < 0)
		return -1;
	if (f->stream) {
		char *p = xstrdup(f->path);
		af_abort(f);
		vm_seterr("%s cannot be written in place: this output needs a regular file", p);
		free(p);
		return -1;
	}
	return 0;
}

void af_write(atomic_file *f, const void *buf, size_t len)
{
	af_pwrite(f, buf, len, f->written);
}

void af_pwrite(atomic_file *f, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	/* a stream goes forward only: writing back into it is not possible */
	if (f->stream && off != f->written && !f->failed) {
		f->failed = ESPIPE;
		return;
	}
	while (len && !f->failed) {
		ssize_t n = f->stream ? write(f->fd, p, len) : pwrite(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno != EINTR)
				f->failed = errno;
			continue;
		}
		if (n == 0) {
			f->failed = ENOSPC;
			break;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	if (off > f->written)
		f->written = off;
}

void af_zeros(atomic_file *f, uint64_t len, uint64_t off)
{
	static const uint8_t zero[64 << 10];
	uint64_t end;
	if (f->failed || !len)
		return;
	if (add_overflow_u64(off, len, &end) || end > (uint64_t)INT64_MAX) {
		f->failed = EFBIG;
		return;
	}
	if (f->stream) {
		for (uint64_t done = 0; done < len && !f->failed;) {
			size_t n = len - done < sizeof zero ? (size_t)(len - done) : sizeof zero;
			af_pwrite(f, zero, n, off + done);
			done += n;
		}
		return;
	}
	/* the file's size covers it: what was never written reads as zeros */
	if (end > f->written) {
		if (ftruncate(f->fd, (off_t)end) < 0) {
			f->failed = errno;
			return;
		}
		f->written = end;
	}
}

static void finish(atomic_file *f)
{
	if (f->tmp)
		live_remove(f->tmp);
	free(f->path);
	free(f->tmp);
	f->path = f->tmp = NULL;
}

int af_commit(atomic_file *f)
{
	if (!f->stream && !f->failed && fsync(f->fd) < 0)
		f->failed = errno;
	if (close(f->fd) < 0 && !f->failed)
		f->failed = errno;
	if (!f->stream && !f->failed && rename(f->tmp, f->path) < 0)
		f->failed = errno;
	int rc = 0;
	if (f->failed) {
		errno = f->failed;
		if (f->failed == ESPIPE)
			vm_seterr("%s cannot be written in place: this output needs a regular file", f->path);
		else
			vm_seterr_errno("writing %s", f->path);
		if (!f->stream)
			unlink(f->tmp);
		rc = -1;
	}
	finish(f);
	return rc;
}

void af_abort(atomic_file *f)
{
	close(f->fd);
	if (!f->stream)
		unlink(f->tmp);
	finish(f);
}
