/* open_memstream for the Windows build (compat.h): the stream is a
 * temporary file (owner-only, deleted when closed, kept in memory by the
 * cache where it fits); fclose reads it back into a buffer of its own. */
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <windows.h>

#include "private_file.h"

#undef fclose

static struct memstream {
	FILE *f;
	char **buf;
	size_t *len;
} g_ms[16];
static SRWLOCK g_lock = SRWLOCK_INIT;

FILE *open_memstream(char **buf, size_t *len)
{
	wchar_t dir[MAX_PATH + 1], path[MAX_PATH + 1];
	if (!GetTempPathW(MAX_PATH + 1, dir))
		return NULL;
	/* it holds what the report or the tui shows of target memory: owner
	 * only from its creation (a name GetTempFileNameW only forms, as
	 * the file it would create gets the directory's ACL) */
	HANDLE h = INVALID_HANDLE_VALUE;
	for (unsigned try = 0; h == INVALID_HANDLE_VALUE && try < 100; try++) {
		UINT unique = (GetTickCount() ^ (GetCurrentProcessId() << 8) ^ (try * 0x9e37u)) & 0xffff;
		if (!GetTempFileNameW(dir, L"vma", unique ? unique : 1, path))
			return NULL;
		h = vm_win_create_private(path, GENERIC_READ | GENERIC_WRITE | DELETE,
					  FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE);
		if (h == INVALID_HANDLE_VALUE && GetLastError() != ERROR_FILE_EXISTS)
			return NULL;
	}
	if (h == INVALID_HANDLE_VALUE)
		return NULL;
	int fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
	if (fd < 0) {
		CloseHandle(h);
		return NULL;
	}
	FILE *f = _fdopen(fd, "w+b");
	if (!f) {
		_close(fd);
		return NULL;
	}
	AcquireSRWLockExclusive(&g_lock);
	size_t i = 0;
	while (i < sizeof g_ms / sizeof g_ms[0] && g_ms[i].f)
		i++;
	if (i < sizeof g_ms / sizeof g_ms[0])
		g_ms[i] = (struct memstream){ f, buf, len };
	ReleaseSRWLockExclusive(&g_lock);
	if (i == sizeof g_ms / sizeof g_ms[0]) {
		fclose(f);
		return NULL;
	}
	*buf = NULL;
	*len = 0;
	return f;
}

/* the stream's bytes, NUL-terminated; NULL when they cannot be read */
static char *contents(FILE *f, size_t *len)
{
	if (fflush(f) != 0 || fseeko64(f, 0, SEEK_END) != 0)
		return NULL;
	long long n = ftello64(f);
	if (n < 0 || (unsigned long long)n >= SIZE_MAX || fseeko64(f, 0, SEEK_SET) != 0)
		return NULL;
	char *b = malloc((size_t)n + 1);
	if (!b)
		return NULL;
	if (fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		return NULL;
	}
	b[n] = 0;
	*len = (size_t)n;
	return b;
}

int vm_win_fclose(FILE *f)
{
	struct memstream m = { 0 };
	AcquireSRWLockExclusive(&g_lock);
	for (size_t i = 0; i < sizeof g_ms / sizeof g_ms[0]; i++) {
		if (g_ms[i].f == f && f) {
			m = g_ms[i];
			g_ms[i].f = NULL;
			break;
		}
	}
	ReleaseSRWLockExclusive(&g_lock);
	if (!m.f)
		return fclose(f);
	size_t len = 0;
	char *b = contents(f, &len);
	int rc = fclose(f);
	if (!b)
		return EOF;
	*m.buf = b;
	*m.len = len;
	return rc;
}
