/* Rendering a map as text for people and as JSON for programs. */
#ifndef VMATLAS_MAP_RENDER_H
#define VMATLAS_MAP_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "vmatlas/map.h"

typedef struct map_render_options {
	bool all;            /* free gaps too */
	bool flat;           /* regions only */
	bool contents;       /* each content on its own line */
	bool pages;          /* per-page detail was gathered */
	bool color;
	bool usage_filtered;
	unsigned usage_mask; /* 1 << vm_usage */
} map_render_options;

void map_render_text(const vm_map *m, const map_render_options *o, FILE *f);
void map_render_json(const vm_map *m, const map_render_options *o, FILE *f);

/* shown or not, by the options */
bool map_alloc_shown(const vm_alloc *a, const map_render_options *o);

#endif
