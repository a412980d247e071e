/* Formatting helpers for text output. */
#ifndef VMATLAS_FORMAT_H
#define VMATLAS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "0 B", "512 B", "4.0 K", "132 K", "1.5 M", "64 M" ... into buf */
const char *fmt_size(uint64_t bytes, char *buf, size_t n);

#endif
