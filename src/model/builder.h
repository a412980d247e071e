/* The map builder: the map being built, the target it comes from, and
 * which regions each annotator has claimed into an allocation. A region
 * belongs to the first group that claims it; what nobody claims is
 * grouped by the default rules in model/group.c. */
#ifndef VMATLAS_MODEL_BUILDER_H
#define VMATLAS_MODEL_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmatlas/map.h"

typedef struct mb_group {
	vm_usage usage;
	char *details;
	bool heuristic; /* made by the default rules, not proven */
} mb_group;

typedef struct map_builder {
	vm_map *m;
	vm_target *t; /* read through it; the builder never calls its ops */
	const vm_map_options *opt;
	int *group;      /* per region: group id, -1 unclaimed */
	mb_group *groups;
	size_t ngroups, gcap;
} map_builder;

int mb_group_new(map_builder *b, vm_usage usage, const char *details);
/* claim region ri for group gid; false if someone claimed it first */
bool mb_claim(map_builder *b, size_t ri, int gid);
/* give region ri to group gid (-1: to nobody) whoever claimed it: a
 * piece split off a VMA that another group claimed whole */
void mb_reclaim(map_builder *b, size_t ri, int gid);
bool mb_claimed(const map_builder *b, size_t ri);
/* index of the region holding addr, (size_t)-1 for none or a free gap */
size_t mb_find(const map_builder *b, uint64_t addr);

/* the default grouping of what nobody claimed, then the allocations */
void mb_group_rest(map_builder *b);
void mb_make_allocations(map_builder *b);

/* split region ri at `at` into two (see builder.c); the second's index */
size_t mb_split(map_builder *b, size_t ri, uint64_t at, double first_share);

vm_module *mb_module_add(map_builder *b);
/* one item of an image spanning [lo, hi): on every region it overlaps */
void mb_place(map_builder *b, uint64_t lo, uint64_t hi, vm_content_kind kind, uint64_t addr, uint64_t size,
	      const char *name, const char *detail, int mod);
#endif
