/* x87 extended precision (80 bits: a sign, a 15-bit exponent, a 64-bit
 * mantissa with an explicit integer bit) decoded from its bytes, never by
 * loading them into the FPU: a pseudo-denormal (exponent 0, integer bit
 * set) is worth what the x87 makes of it (exponent 1), and the encodings
 * the x87 refuses (unnormals, pseudo-infinities, pseudo-NaNs) are named
 * rather than shown as whatever printf would make of them. */
#include "vmatlas/debug.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

_Static_assert(LDBL_MANT_DIG == 64, "long double is the x87 extended format");

const char *vm_f80_format(const uint8_t b[10], char *buf, size_t n)
{
	uint64_t m;
	uint16_t se;
	memcpy(&m, b, 8);
	memcpy(&se, b + 8, 2);
	bool neg = se >> 15;
	int e = se & 0x7fff;
	bool integer = m >> 63;
	uint64_t frac = m & ~(1ull << 63);
	if (e == 0x7fff) {
		if (!integer)
			snprintf(buf, n, "%s", frac ? "pseudo-nan" : "pseudo-inf");
		else if (!frac)
			snprintf(buf, n, "%sinf", neg ? "-" : "");
		else
			snprintf(buf, n, "%snan", neg ? "-" : "");
		return buf;
	}
	if (e != 0 && !integer) {
		snprintf(buf, n, "unnormal");
		return buf;
	}
	/* zero, denormal, normal: as they are; a pseudo-denormal is worth
	 * m * 2^(1 - 16383 - 63), which is the same mantissa with exponent 1 */
	if (e == 0 && integer)
		se = (uint16_t)(se | 1);
	uint8_t canon[sizeof(long double)] = { 0 };
	memcpy(canon, &m, 8);
	memcpy(canon + 8, &se, 2);
	long double v;
	memcpy(&v, canon, sizeof v);
	snprintf(buf, n, "%.21Lg", v);
	return buf;
}
