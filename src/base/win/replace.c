/* What atomic_file.c needs to replace only a regular file, for the
 * Windows build: lstat that tells a directory, a reparse point (a
 * symbolic link or junction), a character device (NUL, CON) and a pipe
 * from a file without following a link, and rename as MoveFileExW that
 * refuses to put a file where a directory or a reparse point is. */
#include <windows.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "private_file.h"

int vm_win_lstat(const char *path, void *out)
{
	struct stat *st = out;
	memset(st, 0, sizeof *st);
	wchar_t *w = vm_win_wide_path(path);
	if (!w)
		return -1;
	/* a reparse point or a directory by its attributes (Wine shows a
	 * Unix symbolic link to a directory as both); anything else by a
	 * handle to it, which tells a device or a pipe (NUL has the
	 * attributes of a file) */
	DWORD a = GetFileAttributesW(w);
	if (a != INVALID_FILE_ATTRIBUTES && (a & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY))) {
		free(w);
		st->st_mode = (a & FILE_ATTRIBUTE_REPARSE_POINT) ? S_IFLNK : S_IFDIR;
		return 0;
	}
	HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	DWORD e = GetLastError();
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		errno = vm_win_errno_of(e);
		return -1;
	}
	DWORD type = GetFileType(h);
	BY_HANDLE_FILE_INFORMATION bi;
	if (type == FILE_TYPE_CHAR) {
		st->st_mode = S_IFCHR;
	} else if (type == FILE_TYPE_PIPE) {
		st->st_mode = S_IFIFO;
	} else if (GetFileInformationByHandle(h, &bi)) {
		st->st_mode = (bi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ? S_IFLNK
			      : (bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)   ? S_IFDIR
										    : S_IFREG;
		st->st_size = (off_t)(((uint64_t)bi.nFileSizeHigh << 32) | bi.nFileSizeLow);
		st->st_nlink = (short)bi.nNumberOfLinks;
	} else {
		e = GetLastError();
		CloseHandle(h);
		errno = vm_win_errno_of(e);
		return -1;
	}
	CloseHandle(h);
	return 0;
}

int vm_win_rename(const char *from, const char *to)
{
	wchar_t *wf = vm_win_wide_path(from), *wt = wf ? vm_win_wide_path(to) : NULL;
	int rc = -1;
	if (!wt)
		goto out;
	/* rename(2) refuses a directory; atomic_file refused a link and
	 * anything not a file when it began: so here, if one came since */
	DWORD a = GetFileAttributesW(wt);
	if (a != INVALID_FILE_ATTRIBUTES && (a & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT))) {
		errno = (a & FILE_ATTRIBUTE_DIRECTORY) ? EISDIR : EPERM;
		goto out;
	}
	if (MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
		rc = 0;
	else
		errno = vm_win_errno_of(GetLastError());
out:
	free(wf);
	free(wt);
	return rc;
}
