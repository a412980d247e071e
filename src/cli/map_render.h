/* Rendering a map as text for people and as JSON for programs. */
#ifndef VMATLAS_MAP_RENDER_H
#define VMATLAS_MAP_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "vmatlas/map.h"
#include "vmatlas/symbols.h"

typedef struct map_render_options {
	bool all;            /* free gaps too */
	bool flat;           /* regions only */
	bool contents;       /* each content on its own line */
	bool pages;          /* per-page detail was gathered */
	bool color;
	bool usage_filtered;
	unsigned usage_mask; /* 1 << vm_usage */
	vm_symbolizer *sym;  /* symbols for thread pcs; may be NULL */
} map_render_options;

void map_render_text(const vm_map *m, const map_render_options *o, FILE *f);
void map_render_json(const vm_map *m, const map_render_options *o, FILE *f);

struct json_writer;
/* a module's members; the object is left open for the caller to add to */
void json_module(struct json_writer *w, const vm_module *mod);
void json_hexbytes(struct json_writer *w, const uint8_t *p, size_t n);

/* shown or not, by the options */
bool map_alloc_shown(const vm_alloc *a, const map_render_options *o);

#endif
