/* Bottom-up merge sort through one scratch buffer of the array's size. */
#include "base/sort.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n < 2 || size == 0)
		return;
	unsigned char *a = base, *b = xmalloc(n * size); /* n * size: the array's own size */
	for (size_t w = 1; w < n; w = w > n / 2 ? n : 2 * w) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = mid + w < n && w <= n - mid ? mid + w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi) {
				/* the left one first on a tie: that keeps it stable */
				if (cmp(a + j * size, a + i * size) < 0)
					memcpy(b + k++ * size, a + j++ * size, size);
				else
					memcpy(b + k++ * size, a + i++ * size, size);
			}
			memcpy(b + k * size, a + i * size, (mid - i) * size);
			k += mid - i;
			memcpy(b + k * size, a + j * size, (hi - j) * size);
		}
		memcpy(a, b, n * size);
	}
	free(b);
}
