#ifndef VMATLAS_CORE_SLURP_H
#define VMATLAS_CORE_SLURP_H

#include <stddef.h>
#include <stdint.h>

/* the whole of path in *buf (caller frees), refused past max bytes
 * ("PATH is too large to be a WHAT"); -1 with an error set */
int slurp_file(const char *path, uint64_t max, const char *what, uint8_t **buf, size_t *len);

/* the whole of path handed to parse(buf, len, out); when that fails its
 * error is prefixed with the path */
int slurp_parse(const char *path, uint64_t max, const char *what,
		int (*parse)(const uint8_t *buf, size_t len, void *out), void *out);

#endif
