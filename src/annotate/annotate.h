/* The annotators: each fills the map builder with what it can prove
 * (contents of regions, modules, claims of regions into allocations).
 * The pipeline (src/pipeline/) runs them in the order of the table in
 * annotate/table.c. */
#ifndef VMATLAS_ANNOTATE_H
#define VMATLAS_ANNOTATE_H

#include "model/builder.h"
#include "vmatlas/target.h"

/* the annotators, in the order they run */
void ann_system(map_builder *b);
void ann_images(map_builder *b);
void ann_loader(map_builder *b);
void ann_manual(map_builder *b);
void ann_heaps(map_builder *b);
void ann_threads(map_builder *b);
void ann_sysdata(map_builder *b);

/* the modules a target lists itself (minidumps), and PE images in memory */
void ann_target_modules(map_builder *b);
/* Windows: the OS version from the PEB and KUSER_SHARED_DATA where the
 * target gave none, and a warning where the sources disagree */
void ann_os_version(map_builder *b);
/* Windows: TEBs, the PEB and its parameters, process heaps, KUSER_SHARED_DATA */
void ann_windows(map_builder *b);
/* Windows: the NT heaps' segments and large blocks (heap/nt.c) */
void ann_nt_heaps(map_builder *b);



/* after grouping: the heap walk (vm_map_options.heap), and the arenas of
 * a report placed on their regions */
void ann_heap_walk(map_builder *b);
void ann_heap_place(vm_map *m, const struct vm_heap_report *r);

/* when an annotator runs: on the raw regions, before the default
 * grouping; or once the map stands (allocations made, modules sorted) */
typedef enum ann_phase { ANN_REGIONS, ANN_MAP } ann_phase;

/* run every annotator of a phase that applies, in table order */
void annotate_run(map_builder *b, ann_phase phase);

#endif
