/* Where the break-in threads of DebugBreakProcess start, to tell them
 * from the program's own: ntdll!DbgUiRemoteBreakin. Windows starts them
 * in the 64-bit ntdll even in a WoW64 process, at the address it has in
 * ours (system DLLs lie at one base per boot); Wine 8 (a 32-bit process
 * is a 32-bit Linux process there) in the process's own 32-bit ntdll,
 * whose export is read from the process's memory here. */
#include "wctl.h"

#include <psapi.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

/* a 32-bit image's export of that name, from its export directory as
 * the process has it mapped; 0 when not found */
static uint64_t export_of(HANDLE h, uint64_t base, const char *name)
{
	uint8_t hdr[0x200];
	SIZE_T got = 0;
	if (!ReadProcessMemory(h, (LPCVOID)(uintptr_t)base, hdr, sizeof hdr, &got) || got != sizeof hdr)
		return 0;
	uint32_t lfanew;
	memcpy(&lfanew, hdr + 0x3c, 4);
	/* PE32: the optional header at +24, its export directory at +96 */
	if (lfanew > sizeof hdr - 24 - 104 || memcmp(hdr + lfanew, "PE\0\0", 4))
		return 0;
	uint16_t magic;
	uint32_t rva, size;
	memcpy(&magic, hdr + lfanew + 24, 2);
	memcpy(&rva, hdr + lfanew + 24 + 96, 4);
	memcpy(&size, hdr + lfanew + 24 + 100, 4);
	if (magic != 0x10b || !rva || size < 40 || size > (1u << 24))
		return 0;
	uint8_t *dir = malloc(size);
	if (!dir)
		return 0;
	uint64_t found = 0;
	if (!ReadProcessMemory(h, (LPCVOID)(uintptr_t)(base + rva), dir, size, &got) || got != size)
		goto out;
	uint32_t nfuncs, nnames, funcs, names, ords;
	memcpy(&nfuncs, dir + 20, 4);
	memcpy(&nnames, dir + 24, 4);
	memcpy(&funcs, dir + 28, 4);
	memcpy(&names, dir + 32, 4);
	memcpy(&ords, dir + 36, 4);
	/* the tables and names inside the directory read: others are skipped */
	size_t len = strlen(name);
	for (uint32_t i = 0; i < nnames; i++) {
		uint64_t np = (uint64_t)names - rva + 4ull * i, op = (uint64_t)ords - rva + 2ull * i;
		if (names < rva || ords < rva || np + 4 > size || op + 2 > size)
			break;
		uint32_t nrva;
		uint16_t ord;
		memcpy(&nrva, dir + np, 4);
		memcpy(&ord, dir + op, 2);
		uint64_t at = (uint64_t)nrva - rva;
		if (nrva < rva || at + len + 1 > size || memcmp(dir + at, name, len + 1))
			continue;
		uint64_t fp = (uint64_t)funcs - rva + 4ull * ord;
		uint32_t frva;
		if (funcs >= rva && ord < nfuncs && fp + 4 <= size) {
			memcpy(&frva, dir + fp, 4);
			found = base + frva;
		}
		break;
	}
out:
	free(dir);
	return found;
}

/* the 32-bit ntdll of the process: its base, 0 when not found */
static uint64_t ntdll32(win_control *c)
{
	HMODULE mods[512];
	DWORD need = 0;
	if (!EnumProcessModulesEx(c->h, mods, sizeof mods, &need, LIST_MODULES_32BIT))
		return 0;
	size_t n = need / sizeof mods[0];
	for (size_t i = 0; i < n && i < ARRAY_LEN(mods); i++) {
		wchar_t nm[MAX_PATH];
		uint64_t base = (uint64_t)(uintptr_t)mods[i];
		if (base < (1ull << 32) && GetModuleBaseNameW(c->h, mods[i], nm, ARRAY_LEN(nm)) &&
		    !_wcsicmp(nm, L"ntdll.dll"))
			return base;
	}
	return 0;
}

void wc_find_breakin(win_control *c)
{
	HMODULE nt = GetModuleHandleW(L"ntdll.dll");
	c->remote_breakin = nt ? (uint64_t)(uintptr_t)GetProcAddress(nt, "DbgUiRemoteBreakin") : 0;
	if (c->x86 && sizeof(void *) == 8) {
		uint64_t base = ntdll32(c);
		c->remote_breakin32 = base ? export_of(c->h, base, "DbgUiRemoteBreakin") : 0;
	}
}

bool wc_is_breakin_start(const win_control *c, uint64_t start)
{
	return start && (start == c->remote_breakin || start == c->remote_breakin32);
}
