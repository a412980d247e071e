/* The regions of a live Windows process: VirtualQueryEx from 0 to the
 * top of user space, one answer per region (free ones left out, as the
 * target interface wants), with the mapped file's name from
 * GetMappedFileNameW turned from an NT device path into a drive path. */
#include "win.h"

#include <psapi.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

char *win_dos_path(const wchar_t *nt)
{
	/* "\??\C:\x" (Wine gives some names so): the DOS path is inside */
	if (!wcsncmp(nt, L"\\??\\", 4) && nt[4] && nt[5] == L':')
		return win_utf8(nt + 4);
	wchar_t drives[512], dev[MAX_PATH];
	DWORD n = GetLogicalDriveStringsW(ARRAY_LEN(drives) - 1, drives);
	if (n && n < ARRAY_LEN(drives)) {
		for (const wchar_t *d = drives; *d; d += wcslen(d) + 1) {
			wchar_t drive[3] = { d[0], L':', 0 };
			if (!QueryDosDeviceW(drive, dev, ARRAY_LEN(dev)))
				continue;
			size_t l = wcslen(dev);
			if (l && !_wcsnicmp(nt, dev, l) && (nt[l] == L'\\' || nt[l] == 0)) {
				size_t rest = wcslen(nt + l);
				wchar_t *p = xmalloc((rest + 3) * sizeof *p);
				p[0] = drive[0];
				p[1] = L':';
				memcpy(p + 2, nt + l, (rest + 1) * sizeof *p);
				char *u = win_utf8(p);
				free(p);
				return u;
			}
		}
	}
	return win_utf8(nt); /* no drive has this device: the NT path as it is */
}

static char *mapped_name(HANDLE h, uint64_t addr)
{
	wchar_t nt[MAX_PATH * 2];
	DWORD l = GetMappedFileNameW(h, (LPVOID)(uintptr_t)addr, nt, ARRAY_LEN(nt));
	if (!l || l >= ARRAY_LEN(nt))
		return NULL;
	nt[l] = 0;
	return win_dos_path(nt);
}

int win_regions(vm_target *t, unsigned flags, vm_region **out, size_t *n)
{
	win_target *w = WT(t);
	vm_region *v = NULL;
	size_t k = 0, cap = 0;
	uint64_t top = w->info.user_top, addr = 0;
	/* the name of the last allocation looked up: its regions share it */
	uint64_t named_alloc = UINT64_MAX;
	char *name = NULL;
	while (addr < top) {
		MEMORY_BASIC_INFORMATION mi;
		if (!VirtualQueryEx(w->h, (LPCVOID)(uintptr_t)addr, &mi, sizeof mi)) {
			DWORD e = GetLastError();
			if (e == ERROR_INVALID_PARAMETER)
				break; /* past the highest user address */
			vm_regions_free(v, k);
			free(name);
			vm_seterr("VirtualQueryEx at 0x%llx in process %lu failed (error %lu)", (unsigned long long)addr,
				  (unsigned long)w->pid, (unsigned long)e);
			return -1;
		}
		uint64_t base = (uint64_t)(uintptr_t)mi.BaseAddress, size = mi.RegionSize;
		if (!size || base + size <= addr || base + size < base)
			break; /* no progress: never loop */
		addr = base + size;
		if (mi.State != MEM_COMMIT && mi.State != MEM_RESERVE)
			continue;
		vm_region *x = ARRAY_PUSH(v, k, cap);
		memset(x, 0, sizeof *x);
		x->base = base;
		x->size = size;
		x->alloc = (size_t)-1;
		x->state = mi.State == MEM_COMMIT ? VM_STATE_COMMIT : VM_STATE_RESERVE;
		x->prot = x->state == VM_STATE_COMMIT ? vm_prot_from_win(mi.Protect) : 0;
		x->type = mi.Type == MEM_IMAGE ? VM_TYPE_IMAGE : mi.Type == MEM_MAPPED ? VM_TYPE_MAPPED : VM_TYPE_PRIVATE;
		x->win.alloc_base = (uint64_t)(uintptr_t)mi.AllocationBase;
		x->win.alloc_prot = vm_prot_from_win(mi.AllocationProtect);
		if (x->type != VM_TYPE_PRIVATE) {
			if (x->win.alloc_base != named_alloc) {
				free(name);
				name = mapped_name(w->h, base);
				named_alloc = x->win.alloc_base;
				if (x->type == VM_TYPE_IMAGE && win_wow64_seen(w))
					name = win_wow64_file(w, name, win_image_bits(w, named_alloc));
			}
			x->path = name ? xstrdup(name) : NULL;
		}
		if ((flags & VM_REGIONS_STATS) && x->state == VM_STATE_COMMIT)
			win_region_stats(w, x);
	}
	free(name);
	*out = v;
	*n = k;
	return 0;
}
