/* A "; "-separated list of warnings that stops growing at a bound (hostile
 * input can warn without end): after `max` it ends with "and more". */
#ifndef VMATLAS_CORE_WARNLIST_H
#define VMATLAS_CORE_WARNLIST_H

#include <stdarg.h>
#include <stddef.h>

/* add one to *list (NULL when empty); *count counts every call */
void warnlist_add(char **list, size_t *count, size_t max, const char *fmt, va_list ap);

#endif
