/* A stable sort: elements that compare equal keep their order. qsort
 * promises no order for them, and glibc's (a merge sort) and msvcrt's (a
 * quicksort) differ, so output sorted by qsort with ties differed between
 * the Linux and the Windows build. */
#ifndef VMATLAS_SORT_H
#define VMATLAS_SORT_H

#include <stddef.h>

void sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif
