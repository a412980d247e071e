/* The AVX registers of the stopped thread, from its XSAVE image (the
 * standard format ptrace gives, NT_X86_XSTATE): the low 128 bits of each
 * ymm are the xmm of the legacy area, the high 128 the AVX component.
 * The image says which components the process has (XCR0, which Linux
 * puts in the software-reserved bytes) and which are live (XSTATE_BV): a saved
 * component not live is in its initial state, zeros. */
#include "dbg.h"

#include <stdlib.h>
#include <string.h>
#ifdef __x86_64__
#include <cpuid.h>
#endif

#include "vmatlas/error.h"

#define XSAVE_LEGACY_XMM 160  /* xmm0 in the FXSAVE area */
#define XSAVE_XCR0 464        /* Linux: XCR0 in sw_reserved (as gdb reads it) */
#define XSAVE_HEADER 512      /* XSTATE_BV */
#define XFEATURE_AVX 2

/* where the AVX component lies in the standard format (CPUID 0xD.2) */
static size_t avx_offset(void)
{
#ifdef __x86_64__
	unsigned a, b, c, d;
	if (__get_cpuid_count(0xd, XFEATURE_AVX, &a, &b, &c, &d) && a == 256 && b >= 576)
		return b;
#endif
	return 576;
}

int vm_dbg_ymm(vm_dbg *d, uint8_t out[16][32])
{
	enum { CAP = 8192 };
	uint8_t *x = calloc(1, CAP);
	if (!x) {
		vm_seterr("out of memory");
		return -1;
	}
	ssize_t got = vm_dbg_xstate(d, x, CAP);
	if (got < 0) {
		free(x);
		return -1;
	}
	uint64_t features = 0, live = 0;
	size_t off = avx_offset();
	if ((size_t)got >= XSAVE_HEADER + 8) {
		memcpy(&features, x + XSAVE_XCR0, 8);
		memcpy(&live, x + XSAVE_HEADER, 8);
	}
	if (!(features >> XFEATURE_AVX & 1) || (size_t)got < off + 256) {
		free(x);
		return 0;
	}
	int n = d->bits == 32 ? 8 : 16;
	for (int i = 0; i < n; i++) {
		memcpy(out[i], x + XSAVE_LEGACY_XMM + 16 * i, 16);
		if (live >> XFEATURE_AVX & 1)
			memcpy(out[i] + 16, x + off + 16 * (size_t)i, 16);
		else
			memset(out[i] + 16, 0, 16);
	}
	free(x);
	return n;
}
