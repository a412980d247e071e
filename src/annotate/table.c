/* The annotators in the order they run. Adding one is a file and a row. */
#include "annotate/annotate.h"

#include <string.h>

typedef struct annotator {
	const char *name;
	ann_phase phase;
	/* NULL: always */
	bool (*applies)(const map_builder *b);
	void (*run)(map_builder *b);
} annotator;

static bool has_manual(const map_builder *b)
{
	return b->opt->nmanual > 0;
}

static bool is_windows(const map_builder *b)
{
	return b->m->info.os == VM_OS_WINDOWS;
}

static bool wants_heap(const map_builder *b)
{
	return (b->opt->heap & VM_MAP_HEAP) != 0;
}

static bool wants_heaps(const map_builder *b)
{
	return !b->opt->no_heaps;
}

static bool is_windows_heaps(const map_builder *b)
{
	return is_windows(b) && wants_heaps(b);
}

/* a minidump without its SystemInfo stream does not say its OS */
static bool maybe_windows(const map_builder *b)
{
	return is_windows(b) || (b->m->info.kind == VM_TARGET_MINIDUMP && b->m->info.os == VM_OS_UNKNOWN);
}

static const annotator annotators[] = {
	{ "system", ANN_REGIONS, NULL, ann_system },
	{ "images", ANN_REGIONS, NULL, ann_images },
	{ "target modules", ANN_REGIONS, NULL, ann_target_modules },
	{ "loader", ANN_REGIONS, NULL, ann_loader },
	{ "manual", ANN_REGIONS, has_manual, ann_manual },
	{ "heaps", ANN_REGIONS, wants_heaps, ann_heaps },
	{ "os version", ANN_REGIONS, maybe_windows, ann_os_version },
	{ "windows", ANN_REGIONS, is_windows, ann_windows },
	{ "nt heaps", ANN_REGIONS, is_windows_heaps, ann_nt_heaps },
	{ "threads", ANN_REGIONS, NULL, ann_threads },
	{ "sysdata", ANN_REGIONS, NULL, ann_sysdata },
	{ "heap walk", ANN_MAP, wants_heap, ann_heap_walk },
};

void annotate_run(map_builder *b, ann_phase phase)
{
	for (size_t i = 0; i < sizeof annotators / sizeof *annotators; i++) {
		const annotator *a = &annotators[i];
		if (a->phase == phase && (!a->applies || a->applies(b)))
			a->run(b);
	}
}
