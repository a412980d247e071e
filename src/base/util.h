/* Small helpers every part of vmatlas uses: checked allocation, growable
 * arrays, overflow-checked arithmetic. Allocation failure is fatal (as in
 * git's xmalloc): sizes that come from targets or files are bounded before
 * they reach these functions. */
#ifndef VMATLAS_UTIL_H
#define VMATLAS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Parse an unsigned number: 0x-hex, or decimal. Returns false on junk
 * or overflow. */
bool parse_u64(const char *s, uint64_t *out);
/* Hex digits only (no prefix), exactly `len` bytes of s. */
bool parse_hex_n(const char *s, size_t len, uint64_t *out);

#endif
