/* The OS version from the PEB and KUSER_SHARED_DATA. A dump without its
 * SystemInfo stream does not say the word size for sure, so a TEB counts
 * only where it names itself (NtTib.Self) at the offset of that size. */
#include "vmatlas/win_version.h"

#include <string.h>

#include "base/bytes.h"
#include "vmatlas/layout.h"

#define KUSER_SHARED_DATA 0x7ffe0000ull

static bool word(const vm_reader *r, uint64_t addr, int bits, uint64_t *v)
{
	return vm_reader_word(r, addr, bits == 32 ? 4 : 8, v);
}

/* the PEB of a TEB of `bits` that names itself, 0 none */
static uint64_t peb_of(const vm_reader *r, uint64_t teb, int bits)
{
	vm_layout L;
	uint64_t self, peb;
	vm_layout_get(&L, "teb", bits, 0);
	if (!word(r, teb + vm_layout_off(&L, "NtTib.Self"), bits, &self) || self != teb ||
	    !word(r, teb + vm_layout_off(&L, "ProcessEnvironmentBlock"), bits, &peb))
		return 0;
	return peb;
}

static bool u16_at(const vm_reader *r, uint64_t addr, uint64_t *v)
{
	uint8_t b[2];
	if (!vm_reader_full(r, addr, b, 2))
		return false;
	*v = ld_le16(b);
	return true;
}

static bool peb_version(const vm_reader *r, uint64_t peb, int bits, vm_win_version *v)
{
	vm_layout P;
	vm_layout_get(&P, "peb", bits, 0);
	uint64_t major, minor, build, csd, platform;
	if (!vm_reader_word(r, peb + vm_layout_off(&P, "OSMajorVersion"), 4, &major) ||
	    !vm_reader_word(r, peb + vm_layout_off(&P, "OSMinorVersion"), 4, &minor) ||
	    !u16_at(r, peb + vm_layout_off(&P, "OSBuildNumber"), &build) ||
	    !u16_at(r, peb + vm_layout_off(&P, "OSCSDVersion"), &csd) ||
	    !vm_reader_word(r, peb + vm_layout_off(&P, "OSPlatformId"), 4, &platform))
		return false;
	/* a PEB the loader has not filled yet holds zeros */
	if (!major)
		return false;
	*v = (vm_win_version){ .have = true, .major = (uint32_t)major, .minor = (uint32_t)minor,
			       .build = (uint32_t)build, .platform_id = (uint32_t)platform,
			       .csd_version = (uint16_t)csd, .bits = bits };
	return true;
}

int vm_win_version_peb(const vm_map *m, vm_target *t, vm_win_version *out)
{
	memset(out, 0, sizeof *out);
	vm_reader r = vm_reader_target(t);
	/* the word size the target says first, then the other */
	int first = m->info.bits == 32 ? 32 : 64;
	for (int k = 0; k < 2; k++) {
		int bits = k ? 96 - first : first;
		for (size_t i = 0; i < m->nthreads; i++) {
			uint64_t peb = m->threads[i].tp ? peb_of(&r, m->threads[i].tp, bits) : 0;
			if (peb && peb_version(&r, peb, bits, out))
				return 0;
		}
	}
	return -1;
}

int vm_win_version_kuser(vm_target *t, vm_win_version *out)
{
	memset(out, 0, sizeof *out);
	vm_reader r = vm_reader_target(t);
	vm_layout K;
	vm_layout_get(&K, "kuser_shared_data", 64, 0);
	uint64_t major, minor, build;
	if (!vm_reader_word(&r, KUSER_SHARED_DATA + vm_layout_off(&K, "NtMajorVersion"), 4, &major) ||
	    !vm_reader_word(&r, KUSER_SHARED_DATA + vm_layout_off(&K, "NtMinorVersion"), 4, &minor) ||
	    !vm_reader_word(&r, KUSER_SHARED_DATA + vm_layout_off(&K, "NtBuildNumber"), 4, &build) || !major)
		return -1;
	/* NtBuildNumber's top nibble says free (0xf) or checked (0xc) build */
	*out = (vm_win_version){ .have = true, .major = (uint32_t)major, .minor = (uint32_t)minor,
				 .build = (uint32_t)(build & 0xffff) };
	return 0;
}
