/* The Windows build maps no files: mmap always fails, and the callers
 * read through pread instead (their documented fallback). */
#ifndef VMATLAS_WIN_MMAN_H
#define VMATLAS_WIN_MMAN_H
#include <stddef.h>
#include <sys/types.h>
#define PROT_READ   1
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20
#define MAP_FAILED  ((void *)-1)
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int munmap(void *addr, size_t len);
#endif
