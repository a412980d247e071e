/* Small helpers every part of vmatlas uses: checked allocation, growable
 * arrays, overflow-checked arithmetic. Allocation failure is fatal (as in
 * git's xmalloc): sizes that come from targets or files are bounded before
 * they reach these functions. */
#ifndef VMATLAS_UTIL_H
#define VMATLAS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Make room for `need` elements in *p (capacity *cap, element size `size`).
 * Grows geometrically; dies on overflow. */
void grow_array(void **p, size_t *cap, size_t need, size_t size);

#define ARRAY_GROW(ptr, cap, need) \
	grow_array((void **)&(ptr), &(cap), (need), sizeof(*(ptr)))
#define ARRAY_PUSH(ptr, n, cap) \
	(ARRAY_GROW(ptr, cap, (n) + 1), &(ptr)[(n)++])
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* true when a + b overflows; otherwise *out = a + b */
static inline bool add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_add_overflow(a, b, out);
}
static inline bool mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}

/* [a, a+alen) and [b, b+blen) overlap; both ends may be at 2^64 */
static inline bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	if (alen == 0 || blen == 0)
		return false;
	return a <= b + (blen - 1) && b <= a + (alen - 1);
}
static inline bool range_contains(uint64_t base, uint64_t len, uint64_t addr)
{
	return addr >= base && addr - base < len;
}

/* Binary search of an array sorted by a uint64_t key `key_off` bytes
 * into each element (`size` bytes): the number of elements whose key is
 * below `key` (lower), or at most `key` (upper). Inline: heap and symbol
 * lookups call them millions of times. */
static inline size_t bound_u64_(const void *base, size_t n, size_t size, size_t key_off, uint64_t key,
				bool upper)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k;
		memcpy(&k, (const char *)base + mid * size + key_off, sizeof k);
		if (k < key || (upper && k == key))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
static inline size_t lower_bound_u64(const void *base, size_t n, size_t size, size_t key_off, uint64_t key)
{
	return bound_u64_(base, n, size, key_off, key, false);
}
static inline size_t upper_bound_u64(const void *base, size_t n, size_t size, size_t key_off, uint64_t key)
{
	return bound_u64_(base, n, size, key_off, key, true);
}

/* the last part of a path: after its last '/' (a POSIX path: a
 * backslash is part of a name), or (win_) its last '/' or '\\' (module
 * paths of minidumps and PE loader lists) */
const char *path_tail(const char *path);
const char *win_path_tail(const char *path);

/* Parse an unsigned number: 0x-hex, or decimal. Returns false on junk
 * or overflow. */
bool parse_u64(const char *s, uint64_t *out);
/* a hex digit's value, -1 if c is none */
int hexval(int c);
/* Hex digits only (no prefix), exactly `len` bytes of s. */
bool parse_hex_n(const char *s, size_t len, uint64_t *out);

#endif
