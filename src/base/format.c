#include "format.h"

#include <stdio.h>

/* v / d rounded to n decimals (0 or 1) the way printf rounds the exact
 * quotient: to nearest, ties to even; in integers, as sizes are printed
 * by the thousand and printf's floating point was most of a map's time */
static uint64_t div_round(uint64_t v, uint64_t d, int decimals)
{
	uint64_t q = v / d, r = v % d;
	if (decimals) {
		q = q * 10 + r * 10 / d; /* r * 10 < 10 * 2^60: no overflow */
		r = r * 10 % d;
	}
	if (r * 2 > d || (r * 2 == d && (q & 1)))
		q++;
	return q;
}

const char *fmt_size(uint64_t v, char *buf, size_t n)
{
	static const char units[] = "KMGTPE";
	if (v < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)v);
		return buf;
	}
	uint64_t d = 1024;
	int u = 0;
	while (u < 5 && v / d >= 1024) {
		d *= 1024;
		u++;
	}
	if (v / d < 10) {
		uint64_t t = div_round(v, d, 1);
		snprintf(buf, n, "%llu.%llu %c", (unsigned long long)(t / 10), (unsigned long long)(t % 10),
			 units[u]);
	} else {
		snprintf(buf, n, "%llu %c", (unsigned long long)div_round(v, d, 0), units[u]);
	}
	return buf;
}
