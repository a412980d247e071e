#include "format.h"

#include <stdio.h>

const char *fmt_size(uint64_t v, char *buf, size_t n)
{
	static const char units[] = "KMGTPE";
	if (v < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)v);
		return buf;
	}
	double d = (double)v;
	int u = -1;
	while (d >= 1024.0 && u < 5) {
		d /= 1024.0;
		u++;
	}
	if (d < 10.0)
		snprintf(buf, n, "%.1f %c", d, units[u]);
	else
		snprintf(buf, n, "%.0f %c", d, units[u]);
	return buf;
}
