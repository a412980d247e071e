/* The minidump target (src/target/minidump/md_target.c). */
#ifndef VMATLAS_TARGET_MINIDUMP_H
#define VMATLAS_TARGET_MINIDUMP_H

#include "target/backend.h"

extern const vm_backend md_backend;

/* as for core files: over a reader, then given its descriptor to close */
vm_target *md_target_open_reader(const vm_reader *r, const char *name);
void md_target_own_fd(vm_target *t, int fd);

#endif
