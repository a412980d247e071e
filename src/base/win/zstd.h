/* The Windows build has no zstd (no mingw-w64 build in Debian): these
 * fail with an error that says so, and the snapshot and scan files,
 * which are zstd frames, cannot be written or read there. */
#ifndef VMATLAS_WIN_ZSTD_H
#define VMATLAS_WIN_ZSTD_H
#include <stddef.h>
#define ZSTD_CONTENTSIZE_UNKNOWN (0ULL - 1)
#define ZSTD_CONTENTSIZE_ERROR   (0ULL - 2)
size_t ZSTD_compressBound(size_t n);
size_t ZSTD_compress(void *dst, size_t cap, const void *src, size_t n, int level);
size_t ZSTD_decompress(void *dst, size_t cap, const void *src, size_t n);
unsigned long long ZSTD_getFrameContentSize(const void *src, size_t n);
unsigned ZSTD_isError(size_t code);
const char *ZSTD_getErrorName(size_t code);
#endif
