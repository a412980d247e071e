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
/* Windows: TEBs, the PEB and its parameters, process heaps, KUSER_SHARED_DATA */
void ann_windows(map_builder *b);



/* run every annotator that applies, in table order */
void annotate_all(map_builder *b);

#endif
