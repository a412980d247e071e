/* Owner-only files for the Windows build (private_file.h) and mkostemp
 * over them: the temporaries of atomic_file.c, which become dumps,
 * snapshots, captures, scan files and reports, are created with an
 * owner-only DACL, as POSIX mkostemp creates them 0600. Wine turns such
 * a creation-time DACL into Unix mode bits (docs/windows.md). */
#include "private_file.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

BOOL vm_win_private_sd_init(vm_win_private_sd *p)
{
	memset(p, 0, sizeof *p);
	HANDLE tok;
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
		return FALSE;
	DWORD got = 0;
	BOOL ok = GetTokenInformation(tok, TokenUser, &p->user, sizeof p->user, &got);
	DWORD err = GetLastError();
	CloseHandle(tok);
	if (!ok) {
		SetLastError(err);
		return FALSE;
	}
	PSID user = p->user.tu.User.Sid;
	ACL *acl = (ACL *)p->acl;
	return IsValidSid(user) && InitializeAcl(acl, sizeof p->acl, ACL_REVISION) &&
	       AddAccessAllowedAce(acl, ACL_REVISION, VM_WIN_PRIVATE_ACCESS, user) &&
	       InitializeSecurityDescriptor(&p->sd, SECURITY_DESCRIPTOR_REVISION) &&
	       SetSecurityDescriptorOwner(&p->sd, user, FALSE) && SetSecurityDescriptorDacl(&p->sd, TRUE, acl, FALSE) &&
	       SetSecurityDescriptorControl(&p->sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED);
}

HANDLE vm_win_create_private(const wchar_t *path, DWORD access, DWORD flags)
{
	vm_win_private_sd p;
	if (!vm_win_private_sd_init(&p))
		return INVALID_HANDLE_VALUE;
	SECURITY_ATTRIBUTES sa = { sizeof sa, &p.sd, FALSE };
	return CreateFileW(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa, CREATE_NEW,
			   flags, NULL);
}

wchar_t *vm_win_wide_path(const char *path)
{
	UINT cp = AreFileApisANSI() ? CP_ACP : CP_OEMCP;
	int n = MultiByteToWideChar(cp, 0, path, -1, NULL, 0);
	wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
	if (!w || !MultiByteToWideChar(cp, 0, path, -1, w, n)) {
		free(w);
		errno = w ? EINVAL : ENOMEM;
		return NULL;
	}
	return w;
}

int vm_win_errno_of(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_INVALID_OWNER:
		return EACCES;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		return EEXIST;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return ENOSPC;
	case ERROR_INVALID_NAME:
	case ERROR_BAD_PATHNAME:
	case ERROR_FILENAME_EXCED_RANGE:
		return EINVAL;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return ENOMEM;
	default:
		return EIO;
	}
}

/* the six X of tmpl from a counter and the clock: any name will do, as
 * CREATE_NEW never opens a file that is there already */
static void fill_name(char *x, unsigned try)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static volatile LONG seq;
	LARGE_INTEGER t;
	QueryPerformanceCounter(&t);
	uint64_t v = (uint64_t)t.QuadPart ^ ((uint64_t)GetCurrentProcessId() << 20) ^
		     ((uint64_t)(ULONG)InterlockedIncrement(&seq) << 40) ^ try;
	v *= 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 6; i++) {
		x[i] = abc[(v >> 58) % 36];
		v *= 0x9e3779b97f4a7c15ull;
		v ^= v >> 29;
	}
}

int mkostemp(char *tmpl, int flags)
{
	size_t n = strlen(tmpl);
	if (n < 6 || strcmp(tmpl + n - 6, "XXXXXX")) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned try = 0; try < 100; try++) {
		fill_name(tmpl + n - 6, try);
		wchar_t *w = vm_win_wide_path(tmpl);
		if (!w)
			return -1;
		HANDLE h = vm_win_create_private(w, GENERIC_READ | GENERIC_WRITE | DELETE, FILE_ATTRIBUTE_NORMAL);
		DWORD e = GetLastError();
		free(w);
		if (h == INVALID_HANDLE_VALUE) {
			if (e == ERROR_FILE_EXISTS || e == ERROR_ALREADY_EXISTS)
				continue;
			errno = vm_win_errno_of(e);
			return -1;
		}
		/* O_CLOEXEC is _O_NOINHERIT (compat.h); the handle is not
		 * inheritable either way */
		int fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY | (flags & _O_NOINHERIT));
		if (fd < 0) {
			CloseHandle(h);
			DeleteFileA(tmpl);
			errno = EMFILE;
			return -1;
		}
		return fd;
	}
	errno = EEXIST;
	return -1;
}
