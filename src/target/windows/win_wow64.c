/* A WoW64 process seen from the 64-bit build: the files of its 32-bit
 * modules. Such a process asks for C:\Windows\System32\X and the file
 * system redirector gives it SysWOW64\X; the names the system reports
 * to a 64-bit caller may be the ones the process asked for (Wine 8 gives
 * System32 from GetModuleFileNameExW and GetMappedFileNameW alike;
 * Windows' GetModuleFileNameExW is known to do the same), and the 64-bit
 * build, which is not redirected, would open the 64-bit DLL of that name:
 * another file, whose symbols and debug information are not this
 * module's. The 64-bit modules of a WoW64 process on Windows (its 64-bit
 * ntdll, wow64*.dll) are in System32 indeed: only a 32-bit image's name
 * is moved. */
#include "win.h"

#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"

int win_image_bits(win_target *w, uint64_t base)
{
	uint8_t dos[0x40], nt[4 + 20 + 2];
	if (vm_read_full(&w->base, base, dos, sizeof dos) < 0 || dos[0] != 'M' || dos[1] != 'Z')
		return 0;
	uint32_t lfanew = ld_le32(dos + 0x3c);
	if (lfanew > 0x10000000u || vm_read_full(&w->base, base + lfanew, nt, sizeof nt) < 0 ||
	    memcmp(nt, "PE\0\0", 4) != 0)
		return 0;
	uint16_t magic = ld_le16(nt + 24);
	return magic == 0x20b ? 64 : magic == 0x10b ? 32 : 0;
}

#ifdef _WIN64
/* System32's subdirectories that the redirector leaves alone (Microsoft's
 * "File System Redirector" page) */
static bool exempt(const wchar_t *rest)
{
	static const wchar_t *const dirs[] = { L"catroot\\", L"catroot2\\", L"driverstore\\", L"drivers\\etc\\",
					       L"logfiles\\", L"spool\\" };
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++)
		if (!_wcsnicmp(rest, dirs[i], wcslen(dirs[i])))
			return true;
	return false;
}
#endif

char *win_wow64_file(win_target *w, char *path, int bits)
{
	if (!path || bits != 32 || !win_wow64_seen(w))
		return path;
#ifdef _WIN64
	wchar_t p[MAX_PATH * 2], sys[MAX_PATH], wow[MAX_PATH], moved[MAX_PATH * 3];
	UINT sl = GetSystemDirectoryW(sys, ARRAY_LEN(sys)), wl = GetSystemWow64DirectoryW(wow, ARRAY_LEN(wow));
	if (!sl || sl >= ARRAY_LEN(sys) || !wl || wl >= ARRAY_LEN(wow) ||
	    !MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, p, ARRAY_LEN(p)))
		return path;
	if (_wcsnicmp(p, sys, sl) || p[sl] != L'\\' || exempt(p + sl + 1) ||
	    wl + wcslen(p + sl) >= ARRAY_LEN(moved))
		return path;
	memcpy(moved, wow, wl * sizeof *moved);
	wcscpy(moved + wl, p + sl);
	if (GetFileAttributesW(moved) == INVALID_FILE_ATTRIBUTES)
		return path; /* nothing of that name beside: as it is */
	free(path);
	return win_utf8(moved);
#else
	return path;
#endif
}
