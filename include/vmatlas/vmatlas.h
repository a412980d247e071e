/* vmatlas: what is in a process's address space, and what it is doing
 * there. The umbrella header of libvmatlas. */
#ifndef VMATLAS_H
#define VMATLAS_H

#define VMATLAS_VERSION "0.1.0"

#include "error.h"
#include "model.h"
#include "target.h"
#include "map.h"
#include "elf.h"
#include "symbols.h"
#include "threads.h"
#include "env.h"
#include "heap.h"
#include "snapshot.h"
#include "diff.h"
#include "scan.h"
#include "track.h"
#include "pe.h"
#include "ar.h"

#endif
