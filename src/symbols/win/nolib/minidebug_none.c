/* The stand-in for minidebug.c when build/win-deps has no liblzma
 * (scripts/win_deps.sh could not fetch or build xz-utils): no
 * MiniDebugInfo, as on Linux for a file without .gnu_debugdata. */
#include "symbols/minidebug.h"

bool minidebug_decompress(const uint8_t *in, size_t n, uint8_t **out, size_t *outn)
{
	(void)in;
	(void)n;
	*out = NULL;
	*outn = 0;
	return false;
}
