/* Separate debug files: /usr/lib/debug/.build-id/ab/cdef....debug, and
 * the file named by .gnu_debuglink. The directories searched are
 * $VMATLAS_DEBUG_DIR (colon-separated) or /usr/lib/debug. */
#ifndef VMATLAS_DEBUGFILE_H
#define VMATLAS_DEBUGFILE_H

#include <stddef.h>
#include <stdint.h>

/* an open fd and *path (caller frees), or -1 */
int debugfile_by_build_id(const uint8_t *id, size_t n, char **path);
int debugfile_by_link(const char *module_path, const char *link, char **path);

#endif
