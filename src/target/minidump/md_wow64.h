/* A minidump of a WoW64 process written from its 64-bit side
 * (md_wow64.c). */
#ifndef VMATLAS_TARGET_MD_WOW64_H
#define VMATLAS_TARGET_MD_WOW64_H

#include <stdbool.h>

#include "formats/minidump.h"
#include "vmatlas/target.h"

/* when f (t's parsed dump) is one: turned into the 32-bit process's
 * view (32 bits, x86, each thread's TEB32 and 32-bit registers); true
 * then */
bool md_wow64_view(md_file *f, vm_target *t);

#endif
