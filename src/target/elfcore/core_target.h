/* The ELF core file target (src/target/elfcore/core_target.c). */
#ifndef VMATLAS_TARGET_ELFCORE_H
#define VMATLAS_TARGET_ELFCORE_H

#include "target/backend.h"

extern const vm_backend core_backend;

/* the target over a reader the caller keeps alive (the fuzzer), or whose
 * file descriptor it is then given to close (core_target_own_fd) */
vm_target *core_target_open_reader(const vm_reader *r, const char *name);
void core_target_own_fd(vm_target *t, int fd);

#endif
