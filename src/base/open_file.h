/* Opening files for reading: regular files only, never blocking. */
#ifndef VMATLAS_BASE_OPEN_FILE_H
#define VMATLAS_BASE_OPEN_FILE_H

#include <stdbool.h>

/* a read-only descriptor of a regular file; -1 (error set) for anything
 * else (a FIFO, a device, a directory) or when it cannot be opened */
int open_regular(const char *path);
/* true when path does not resolve, or resolves under /proc, /sys or /dev */
bool path_is_special(const char *path);
/* open_regular for a path read from the target (a core, a loader's list),
 * refused under /proc, /sys and /dev */
int open_named_by_target(const char *path);

#endif
