/* The snapshot file's layout, shared by its writer and its reader
 * (docs/snapshot.md). */
#ifndef VMATLAS_FORMATS_SNAPSHOT_FILE_H
#define VMATLAS_FORMATS_SNAPSHOT_FILE_H

#include <stdint.h>

#define MAGIC "VMATSNAP"
#define HEADER 40
#define MAX_PAYLOAD (1ull << 30) /* a bound on what a hostile header can make us allocate */
#define NOSTR 0xffffffffu
#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

enum {
	SEC_STRS = TAG('S', 'T', 'R', 'S'), SEC_INFO = TAG('I', 'N', 'F', 'O'),
	SEC_REGN = TAG('R', 'E', 'G', 'N'), SEC_ALOC = TAG('A', 'L', 'O', 'C'),
	SEC_CONT = TAG('C', 'O', 'N', 'T'), SEC_MODS = TAG('M', 'O', 'D', 'S'),
	SEC_THRD = TAG('T', 'H', 'R', 'D'), SEC_HEAP = TAG('H', 'E', 'A', 'P'),
	SEC_PAGE = TAG('P', 'A', 'G', 'E'), SEC_WARN = TAG('W', 'A', 'R', 'N'),
};

#endif
