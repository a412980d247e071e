/* Comparing two snapshots: sorted merges, linear in their sizes. */
#include "vmatlas/diff.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void regions(const vm_map *A, const vm_map *B, vm_diff *d)
{
	size_t i = 0, j = 0;
	while (i < A->nregions || j < B->nregions) {
		const vm_region *a = i < A->nregions ? &A->regions[i] : NULL;
		const vm_region *b = j < B->nregions ? &B->regions[j] : NULL;
		if (a && a->state == VM_STATE_FREE) {
			i++;
			continue;
		}
		if (b && b->state == VM_STATE_FREE) {
			j++;
			continue;
		}
		if (a && (!b || a->base < b->base)) {
			*ARRAY_PUSH(d->removed, d->nremoved, d->rcap) = a;
			i++;
		} else if (b && (!a || b->base < a->base)) {
			*ARRAY_PUSH(d->added, d->nadded, d->acap) = b;
			j++;
		} else {
			unsigned what = (a->size != b->size ? VM_CHG_SIZE : 0) | (a->prot != b->prot ? VM_CHG_PROT : 0) |
					(a->state != b->state ? VM_CHG_STATE : 0) |
					(!same_str(a->path, b->path) ? VM_CHG_PATH : 0);
			if (what) {
				vm_region_change *c = ARRAY_PUSH(d->changed, d->nchanged, d->ccap);
				c->a = a;
				c->b = b;
				c->what = what;
			}
			i++;
			j++;
		}
	}
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_module(const void *x, const void *y)
{
	const vm_module *a = *(const vm_module *const *)x, *b = *(const vm_module *const *)y;
	if (a->base != b->base)
		return (a->base > b->base) - (a->base < b->base);
	int c = cmp_str(a->path, b->path);
	return c ? c : cmp_str(a->name, b->name);
}

static int cmp_thread(const void *x, const void *y)
{
	const vm_thread *a = *(const vm_thread *const *)x, *b = *(const vm_thread *const *)y;
	return (a->tid > b->tid) - (a->tid < b->tid);
}

/* pointers to the n elements of v (each `size` bytes), sorted */
static const void **sorted(const void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	const void **p = xcalloc(n ? n : 1, sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = (const char *)v + i * size;
	if (n > 1)
		qsort(p, n, sizeof *p, cmp);
	return p;
}

/* marks the elements only in A (gone) and only in B (born) by a sorted
 * merge */
static void merge(const void **a, size_t na, const void **b, size_t nb, int (*cmp)(const void *, const void *),
		  bool *gone, bool *born)
{
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : cmp(&a[i], &b[j]);
		if (c < 0)
			gone[i++] = true;
		else if (c > 0)
			born[j++] = true;
		else
			i++, j++;
	}
}

/* two arrays sorted (as pointers) and merged: a[i] gone when only in
 * the first, b[j] born when only in the second */
typedef struct two_sets {
	const void **a, **b;
	bool *gone, *born;
} two_sets;

static void compare_sets(two_sets *s, const void *va, size_t na, const void *vb, size_t nb, size_t size,
			 int (*cmp)(const void *, const void *))
{
	s->a = sorted(va, na, size, cmp);
	s->b = sorted(vb, nb, size, cmp);
	s->gone = xcalloc(na + 1, 1);
	s->born = xcalloc(nb + 1, 1);
	merge(s->a, na, s->b, nb, cmp, s->gone, s->born);
}

static void free_sets(two_sets *s)
{
	free(s->gone);
	free(s->born);
	free(s->a);
	free(s->b);
}

static void modules(const vm_map *A, const vm_map *B, vm_diff *d)
{
	two_sets s;
	compare_sets(&s, A->modules, A->nmodules, B->modules, B->nmodules, sizeof *A->modules, cmp_module);
	for (size_t i = 0; i < A->nmodules; i++)
		if (s.gone[i])
			*ARRAY_PUSH(d->unloaded, d->nunloaded, d->ucap) = s.a[i];
	for (size_t i = 0; i < B->nmodules; i++)
		if (s.born[i])
			*ARRAY_PUSH(d->loaded, d->nloaded, d->lcap) = s.b[i];
	free_sets(&s);
}

static void threads(const vm_map *A, const vm_map *B, vm_diff *d)
{
	two_sets s;
	compare_sets(&s, A->threads, A->nthreads, B->threads, B->nthreads, sizeof *A->threads, cmp_thread);
	for (size_t i = 0; i < A->nthreads; i++)
		if (s.gone[i])
			*ARRAY_PUSH(d->ended, d->nended, d->ecap) = s.a[i];
	for (size_t i = 0; i < B->nthreads; i++)
		if (s.born[i])
			*ARRAY_PUSH(d->started, d->nstarted, d->scap) = s.b[i];
	free_sets(&s);
}

static int cmp_chunk(const void *x, const void *y)
{
	const vm_chunk *a = *(const vm_chunk *const *)x, *b = *(const vm_chunk *const *)y;
	return (a->addr > b->addr) - (a->addr < b->addr);
}

/* the blocks in use, sorted */
static const vm_chunk **used_chunks(const vm_heap_report *h, size_t *n)
{
	const vm_chunk **v = NULL;
	size_t cap = 0;
	*n = 0;
	for (size_t i = 0; i < h->nsegs; i++)
		for (size_t k = 0; k < h->segs[i].nchunks; k++)
			if (h->segs[i].chunks[k].state == VM_CHUNK_USED)
				*ARRAY_PUSH(v, *n, cap) = &h->segs[i].chunks[k];
	if (*n > 1)
		qsort(v, *n, sizeof *v, cmp_chunk);
	return v;
}

static void heaps(const vm_snapshot *A, const vm_snapshot *B, vm_diff *d)
{
	const vm_heap_report *ha = &A->heap, *hb = &B->heap;
	for (size_t i = 0; i < hb->narenas; i++) {
		const vm_arena *a = NULL, *b = &hb->arenas[i];
		for (size_t k = 0; k < ha->narenas; k++)
			if (ha->arenas[k].addr == b->addr)
				a = &ha->arenas[k];
		vm_arena_change *c = ARRAY_PUSH(d->arenas, d->narenas, d->arcap);
		c->a = a;
		c->b = b;
	}
	for (size_t k = 0; k < ha->narenas; k++) {
		bool found = false;
		for (size_t i = 0; i < hb->narenas && !found; i++)
			found = hb->arenas[i].addr == ha->arenas[k].addr;
		if (!found) {
			vm_arena_change *c = ARRAY_PUSH(d->arenas, d->narenas, d->arcap);
			c->a = &ha->arenas[k];
			c->b = NULL;
		}
	}
	if (!A->has_heap_chunks || !B->has_heap_chunks)
		return;
	d->have_chunks = true;
	size_t na, nb;
	const vm_chunk **ua = used_chunks(ha, &na), **ub = used_chunks(hb, &nb);
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		if (i < na && (j >= nb || ua[i]->addr < ub[j]->addr)) {
			*ARRAY_PUSH(d->freed, d->nfreed, d->frcap) = ua[i++];
		} else if (j < nb && (i >= na || ub[j]->addr < ua[i]->addr)) {
			*ARRAY_PUSH(d->allocated, d->nallocated, d->alcap) = ub[j++];
		} else {
			if (ua[i]->size != ub[j]->size) { /* freed and allocated again, another size */
				*ARRAY_PUSH(d->freed, d->nfreed, d->frcap) = ua[i];
				*ARRAY_PUSH(d->allocated, d->nallocated, d->alcap) = ub[j];
			}
			i++;
			j++;
		}
	}
	free(ua);
	free(ub);
}

static void pages(const vm_snapshot *A, const vm_snapshot *B, vm_diff *d)
{
	if (!A->pages || !B->pages)
		return;
	d->have_pages = true;
	const vm_map *ma = A->map, *mb = B->map;
	uint64_t pg = mb->info.page_size;
	size_t i = 0;
	for (size_t j = 0; j < mb->nregions; j++) {
		const vm_region *rb = &mb->regions[j];
		if (!B->pages[j].npages)
			continue;
		while (i < ma->nregions && ma->regions[i].base + ma->regions[i].size <= rb->base)
			i++;
		/* the overlap with each region of A that covers part of rb */
		for (size_t k = i; k < ma->nregions && ma->regions[k].base < rb->base + rb->size; k++) {
			const vm_region *ra = &ma->regions[k];
			if (!A->pages[k].npages)
				continue;
			uint64_t lo = ra->base > rb->base ? ra->base : rb->base;
			uint64_t hi = ra->base + ra->size < rb->base + rb->size ? ra->base + ra->size : rb->base + rb->size;
			for (uint64_t at = lo; at < hi; at += pg) {
				uint64_t ia = (at - ra->base) / pg, ib = (at - rb->base) / pg;
				if (ia >= A->pages[k].npages || ib >= B->pages[j].npages)
					break;
				if (A->pages[k].h[ia] == B->pages[j].h[ib])
					continue;
				vm_range *last = d->npages ? &d->pages[d->npages - 1] : NULL;
				if (last && last->addr + last->size == at && last->region == rb) {
					last->size += pg;
				} else {
					vm_range *r = ARRAY_PUSH(d->pages, d->npages, d->pcap);
					r->addr = at;
					r->size = pg;
					r->region = rb;
				}
				d->pages_bytes += pg;
			}
		}
	}
}

void vm_diff_compute(const vm_snapshot *a, const vm_snapshot *b, vm_diff *out)
{
	memset(out, 0, sizeof *out);
	regions(a->map, b->map, out);
	modules(a->map, b->map, out);
	threads(a->map, b->map, out);
	heaps(a, b, out);
	pages(a, b, out);
}

void vm_diff_free(vm_diff *d)
{
	free(d->added);
	free(d->removed);
	free(d->changed);
	free(d->loaded);
	free(d->unloaded);
	free(d->started);
	free(d->ended);
	free(d->arenas);
	free(d->allocated);
	free(d->freed);
	free(d->pages);
	memset(d, 0, sizeof *d);
}
