#ifndef VMATLAS_CORE_UTF16_H
#define VMATLAS_CORE_UTF16_H

#include <stddef.h>
#include <stdint.h>

/* `units` UTF-16LE code units at p as a new UTF-8 string (NULs kept) */
char *utf16le_to_utf8(const uint8_t *p, size_t units);

#endif
