/* Names for JIT code: the perf map a runtime writes for profilers
 * (/tmp/perf-PID.map: "START SIZE NAME" in hex, one a line; node
 * --perf-basic-prof, Java with perf-map-agent, LuaJIT, .NET), read once,
 * sorted; later lines win where entries overlap (code is reused). */
#include "perfmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define PERFMAP_MAX_ENTRIES (4u << 20)

typedef struct perf_entry {
	uint64_t start, size;
	size_t seq;  /* its line: the later of overlapping entries wins */
	char *name;
} perf_entry;

struct perfmap {
	perf_entry *e;
	size_t n;
};

static int cmp_entry(const void *a, const void *b)
{
	const perf_entry *x = a, *y = b;
	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

perfmap *perfmap_load(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	perfmap *pm = xcalloc(1, sizeof *pm);
	size_t cap = 0;
	char line[4096];
	while (fgets(line, sizeof line, f) && pm->n < PERFMAP_MAX_ENTRIES) {
		char *end;
		unsigned long long start = strtoull(line, &end, 16);
		if (end == line || *end != ' ')
			continue;
		char *p = end + 1;
		unsigned long long size = strtoull(p, &end, 16);
		if (end == p || *end != ' ' || size == 0 || start + size < start)
			continue;
		p = end + 1;
		p[strcspn(p, "\r\n")] = 0;
		if (!*p)
			continue;
		perf_entry *e = ARRAY_PUSH(pm->e, pm->n, cap);
		e->start = start;
		e->size = size;
		e->seq = pm->n;
		e->name = xstrdup(p);
	}
	fclose(f);
	if (pm->n > 1)
		qsort(pm->e, pm->n, sizeof *pm->e, cmp_entry);
	return pm;
}

const char *perfmap_find(const perfmap *pm, uint64_t addr, uint64_t *start)
{
	if (!pm || !pm->n)
		return NULL;
	size_t lo = upper_bound_u64(pm->e, pm->n, sizeof *pm->e, offsetof(perf_entry, start), addr);
	/* the latest entry containing it, among the few just below */
	const perf_entry *best = NULL;
	for (size_t i = lo, steps = 0; i-- > 0 && steps < 64; steps++) {
		const perf_entry *e = &pm->e[i];
		if (addr - e->start < e->size && (!best || e->seq > best->seq))
			best = e;
	}
	if (!best)
		return NULL;
	*start = best->start;
	return best->name;
}

void perfmap_free(perfmap *pm)
{
	if (!pm)
		return;
	for (size_t i = 0; i < pm->n; i++)
		free(pm->e[i].name);
	free(pm->e);
	free(pm);
}
