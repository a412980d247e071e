/* Errors: functions return -1 (or NULL) and leave one human-readable line
 * here, which the CLI prints as "vmatlas: <message>". */
#ifndef VMATLAS_ERROR_H
#define VMATLAS_ERROR_H

#include <stdbool.h>

void vm_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like vm_seterr, appending ": strerror(errno)" */
void vm_seterr_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *vm_error(void);
void vm_clearerr(void);
/* an error was set since the last vm_clearerr */
bool vm_has_error(void);

#endif
