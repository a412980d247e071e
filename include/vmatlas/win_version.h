/* The Windows version as the process's own memory holds it (minidumps):
 * the PEB's OSMajorVersion ... OSPlatformId, found through a thread's TEB,
 * and KUSER_SHARED_DATA's NtMajorVersion, NtMinorVersion, NtBuildNumber,
 * beside (or instead of) a minidump's SystemInfo stream. */
#ifndef VMATLAS_WIN_VERSION_H
#define VMATLAS_WIN_VERSION_H

#include <stdbool.h>
#include <stdint.h>

#include "map.h"
#include "target.h"

typedef struct vm_win_version {
	bool have;
	uint32_t major, minor, build; /* build 0: not known (KUSER before Windows 10) */
	uint32_t platform_id;         /* 0: not known (KUSER) */
	uint16_t csd_version;         /* the PEB's OSCSDVersion: service pack major << 8 | minor */
	int bits;                     /* the PEB's word size (its TEB names itself) */
} vm_win_version;

/* the PEB's version: 0, or -1 when no TEB in the dump names a readable PEB */
int vm_win_version_peb(const vm_map *m, vm_target *t, vm_win_version *out);
/* KUSER_SHARED_DATA's: 0, or -1 when its page is not in the dump or holds no version */
int vm_win_version_kuser(vm_target *t, vm_win_version *out);

#endif
