/* Files only their creator may open (the Windows build's mode 0600): the
 * security descriptor is given at creation, since a DACL set afterwards
 * is refused by Wine and leaves a moment with the inherited one. */
#ifndef VMATLAS_WIN_PRIVATE_FILE_H
#define VMATLAS_WIN_PRIVATE_FILE_H

#include <windows.h>

/* read, write, delete and the security of the file itself: 0600 (no
 * FILE_EXECUTE, which Wine maps to the x bits) */
#define VM_WIN_PRIVATE_ACCESS (FILE_ALL_ACCESS & ~(DWORD)FILE_EXECUTE)

/* an owner-only descriptor: owner the process token's user, a DACL
 * protected from inheritance with one ACE allowing that user
 * VM_WIN_PRIVATE_ACCESS; absolute, pointing into itself (not moved) */
typedef struct vm_win_private_sd {
	SECURITY_DESCRIPTOR sd;
	DWORD acl[(sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + SECURITY_MAX_SID_SIZE + 3) / 4];
	union { /* TOKEN_USER holds a pointer: aligned as one */
		TOKEN_USER tu;
		BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	} user;
} vm_win_private_sd;

/* FALSE (GetLastError set) when the token cannot be read */
BOOL vm_win_private_sd_init(vm_win_private_sd *p);

/* CreateFileW(CREATE_NEW) of path with that descriptor, not inherited by
 * children, shared for reading, writing and deleting (a signal handler's
 * unlink of a temporary still open); INVALID_HANDLE_VALUE and
 * GetLastError on failure */
HANDLE vm_win_create_private(const wchar_t *path, DWORD access, DWORD flags);

/* a path of the C runtime's narrow functions as UTF-16 (the file APIs'
 * code page); malloc'd, NULL (errno set) on failure */
wchar_t *vm_win_wide_path(const char *path);
/* the errno of a Win32 error code */
int vm_win_errno_of(DWORD e);

/* whose a file is (base/win/osfile.c, base/osfile.h's vm_file_is_ours):
 * 1 when sid is the process token's user, or BUILTIN\Administrators
 * while the token has that group enabled; 0 when not; -1 when the token
 * cannot be read (GetLastError set) */
int vm_win_sid_is_ours(PSID sid);
/* "DOMAIN\user" of sid (LookupAccountSidW, UTF-8), its name alone when it
 * has no domain (Everyone), its string form when it names no account;
 * malloc'd */
char *vm_win_sid_name(PSID sid);

#endif
