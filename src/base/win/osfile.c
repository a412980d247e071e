/* base/osfile.h for Windows: a file is ours when its owner SID is the
 * process token's user, or BUILTIN\Administrators while the token has
 * that group enabled (an elevated administrator's new files are owned by
 * the group: the token's default owner). st_uid means nothing here (0).
 * Under Wine a Unix file's owner is the token's user when the
 * wineserver's uid owns it, ANONYMOUS LOGON otherwise (docs/windows.md). */
#include "../osfile.h"

#include <aclapi.h>
#include <errno.h>
#include <sddl.h>
#include <stdlib.h>

#include "private_file.h"
#include "../util.h"

/* the token's groups, malloc'd; NULL (GetLastError set) on failure */
static TOKEN_GROUPS *token_groups(HANDLE tok)
{
	DWORD n = 0;
	GetTokenInformation(tok, TokenGroups, NULL, 0, &n);
	if (GetLastError() != ERROR_INSUFFICIENT_BUFFER)
		return NULL;
	TOKEN_GROUPS *g = xmalloc(n);
	if (!GetTokenInformation(tok, TokenGroups, g, n, &n)) {
		DWORD e = GetLastError();
		free(g);
		SetLastError(e);
		return NULL;
	}
	return g;
}

/* 1 when the token has sid enabled, not only for deny (a filtered, not
 * elevated token has BUILTIN\Administrators so: that user's files owned
 * by the group are not his); -1 (GetLastError set) when unreadable */
static int token_enables(HANDLE tok, PSID sid)
{
	TOKEN_GROUPS *g = token_groups(tok);
	if (!g)
		return -1;
	int r = 0;
	for (DWORD i = 0; i < g->GroupCount; i++) {
		DWORD a = g->Groups[i].Attributes;
		if (EqualSid(sid, g->Groups[i].Sid) && (a & SE_GROUP_ENABLED) && !(a & SE_GROUP_USE_FOR_DENY_ONLY))
			r = 1;
	}
	free(g);
	return r;
}

int vm_win_sid_is_ours(PSID sid)
{
	HANDLE tok;
	if (!IsValidSid(sid)) {
		SetLastError(ERROR_INVALID_SID);
		return -1;
	}
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
		return -1;
	union { /* TOKEN_USER holds a pointer: aligned as one */
		TOKEN_USER tu;
		BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	} user;
	DWORD n;
	int r = -1;
	if (GetTokenInformation(tok, TokenUser, &user, sizeof user, &n))
		r = EqualSid(sid, user.tu.User.Sid) ? 1 : 0;
	if (r == 0 && IsWellKnownSid(sid, WinBuiltinAdministratorsSid))
		r = token_enables(tok, sid);
	DWORD e = GetLastError();
	CloseHandle(tok);
	SetLastError(e);
	return r;
}

static char *utf8(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	if (n <= 0)
		return NULL;
	char *s = xmalloc((size_t)n);
	if (!WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL)) {
		free(s);
		return NULL;
	}
	return s;
}

char *vm_win_sid_name(PSID sid)
{
	wchar_t name[256], dom[256];
	DWORD nn = 256, dn = 256;
	SID_NAME_USE use;
	if (LookupAccountSidW(NULL, sid, name, &nn, dom, &dn, &use)) {
		char *a = utf8(name), *d = utf8(dom);
		char *s = a && d && *d ? xasprintf("%s\\%s", d, a) : a ? xstrdup(a) : NULL;
		free(a);
		free(d);
		if (s)
			return s;
	}
	LPWSTR ws = NULL;
	char *s = ConvertSidToStringSidW(sid, &ws) ? utf8(ws) : NULL;
	LocalFree(ws);
	return s ? s : xstrdup("an unknown owner");
}

int vm_file_is_ours(const char *path, const struct stat *st, char **who)
{
	(void)st;
	wchar_t *w = vm_win_wide_path(path);
	if (!w)
		return -1;
	PSID owner = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;
	DWORD e = GetNamedSecurityInfoW(w, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL, &sd);
	free(w);
	if (e == ERROR_ACCESS_DENIED) {
		/* the owner is granted READ_CONTROL whatever the DACL says
		 * (unless an OWNER RIGHTS ACE takes it away): another's */
		if (who)
			*who = xstrdup("an owner we may not read");
		return 0;
	}
	if (e) {
		errno = vm_win_errno_of(e);
		return -1;
	}
	int r = vm_win_sid_is_ours(owner);
	if (r < 0)
		errno = vm_win_errno_of(GetLastError());
	else if (!r && who)
		*who = vm_win_sid_name(owner);
	LocalFree(sd);
	return r;
}

size_t vm_path_dir_len(const char *path)
{
	size_t n = 0;
	for (size_t i = 0; path[i]; i++)
		if (path[i] == '/' || path[i] == '\\' || (i == 1 && path[i] == ':'))
			n = i + 1;
	return n;
}
