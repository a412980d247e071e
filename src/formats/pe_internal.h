/* Shared by the files of the PE/COFF parser. */
#ifndef VMATLAS_PE_INTERNAL_H
#define VMATLAS_PE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "vmatlas/pe.h"

/* bounds on what hostile input can make us build */
#define PE_MAX_SECTIONS 65535u
#define PE_MAX_DLLS 4096u
#define PE_MAX_FUNCS (1u << 20)   /* per DLL's import table, or exports */
#define PE_MAX_RESOURCES (1u << 18)
#define PE_MAX_NAME 4096u
#define PE_MAX_WARNINGS 32
#define PE_MAX_STRTAB (64u << 20)
#define PE_MAX_SYMBOLS (1u << 24)

/* add a warning (at most PE_MAX_WARNINGS; then one "and more") */
void pe_warn(pe_image *pe, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* by file offset (or RVA in memory): whole or -1 */
int pe_read_off(const pe_image *pe, uint64_t off, void *buf, size_t len);
/* a NUL-terminated string at a file offset, at most max bytes, copied */
char *pe_string_off(const pe_image *pe, uint64_t off, size_t max);
/* the directory if present and of at least min bytes; false otherwise */
bool pe_dir_get(const pe_image *pe, int i, pe_dir *d);
/* bytes, UTF-16LE, to UTF-8 (bounded), copied */

#endif
