#ifndef VMATLAS_MINIDEBUG_H
#define VMATLAS_MINIDEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* decompress .gnu_debugdata (xz), bounded; *out is the caller's */
bool minidebug_decompress(const uint8_t *in, size_t n, uint8_t **out, size_t *outn);

#endif
