/* The stand-in <zstd.h> when build/win-deps has no libzstd (Debian has
 * no mingw-w64 build; scripts/win_deps.sh builds it from Debian's source
 * and could not): nolib/zstd_raw.c writes valid zstd frames of stored (raw) blocks,
 * which any zstd reads, and reads frames of raw and RLE blocks; a
 * compressed block (a snapshot written on Linux) is an error. */
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
