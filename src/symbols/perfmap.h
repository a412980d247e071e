/* A runtime's perf map (/tmp/perf-PID.map): names for its JIT code. */
#ifndef VMATLAS_PERFMAP_H
#define VMATLAS_PERFMAP_H

#include <stdint.h>

typedef struct perfmap perfmap;

perfmap *perfmap_load(const char *path); /* NULL: no such file */
/* the name of the code at addr and where it starts; NULL: none */
const char *perfmap_find(const perfmap *pm, uint64_t addr, uint64_t *start);
void perfmap_free(perfmap *pm);

#endif
