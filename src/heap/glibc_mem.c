/* The heap walk's reads of target memory: windows read once and kept,
 * within a budget (see glibc_walker.h). */
#include "glibc_walker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"

void gw_problem(walker *k, uint64_t addr, const char *fmt, ...)
{
	vm_heap_report *r = k->r;
	if (r->nproblems >= 1000)
		return;
	vm_heap_problem *p = ARRAY_PUSH(r->problems, r->nproblems, r->pcap);
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	p->addr = addr;
	p->what = xstrdup(buf);
}

void gw_cache_clear(win_cache *c)
{
	free(c->scratch.data);
	for (size_t i = 0; i < c->nslot; i++)
		free(c->slot[i].data);
	free(c->slot);
	memset(c, 0, sizeof *c);
}

static win *gw_cache_slot(win_cache *c, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (c->nslot - 1);
	while (c->slot[i].key && c->slot[i].key != key)
		i = (i + 1) & (c->nslot - 1);
	return &c->slot[i];
}

/* the window holding addr, read on first use */
const win *gw_window_of(walker *k, uint64_t addr)
{
	win_cache *c = &k->wc;
	uint64_t key = (addr >> WIN_SHIFT) + 1;
	if (c->nslot) {
		win *w = gw_cache_slot(c, key);
		if (w->key)
			return w;
	}
	k->last = NULL; /* the slots move */
	if (c->bytes >= CACHE_BUDGET) {
		win *w = &c->scratch;
		if (!w->data)
			w->data = xmalloc((size_t)SCRATCH);
		w->len = 0;
		const vm_region *r = vm_map_region_at(k->m, addr);
		if (!r || r->state == VM_STATE_FREE)
			return w;
		/* around addr: lists run down through memory as often as up */
		w->base = addr - r->base > SCRATCH / 2 ? (addr - SCRATCH / 2) & ~(uint64_t)7 : r->base;
		uint64_t room = r->base + r->size - w->base; /* regions end below 2^64 */
		ssize_t n = vm_read(k->t, w->base, w->data, (size_t)(room < SCRATCH ? room : SCRATCH));
		w->len = n > 0 ? (size_t)n : 0;
		return w;
	}
	if ((c->used + 1) * 2 > c->nslot) {
		win_cache n = { .nslot = c->nslot ? c->nslot * 2 : 256, .bytes = c->bytes, .used = c->used };
		n.slot = xcalloc(n.nslot, sizeof *n.slot);
		for (size_t i = 0; i < c->nslot; i++)
			if (c->slot[i].key)
				*gw_cache_slot(&n, c->slot[i].key) = c->slot[i];
		free(c->slot);
		*c = n;
	}
	win *w = gw_cache_slot(c, key);
	w->key = key;
	w->base = addr & ~(WIN_SIZE - 1);
	w->len = 0;
	w->data = NULL;
	c->used++;
	const vm_region *r = vm_map_region_at(k->m, addr);
	if (!r || r->state == VM_STATE_FREE)
		return w;
	uint64_t lo = w->base > r->base ? w->base : r->base;
	uint64_t end = r->base + r->size; /* regions end below 2^64 */
	uint64_t hi = end - w->base > WIN_SIZE ? w->base + WIN_SIZE : end;
	if (hi <= lo)
		return w;
	uint8_t *buf = xmalloc((size_t)(hi - lo));
	ssize_t n = vm_read(k->t, lo, buf, (size_t)(hi - lo));
	if (n <= 0) {
		free(buf);
		return w;
	}
	w->base = lo;
	w->len = (size_t)n;
	w->data = buf;
	c->bytes += (uint64_t)n;
	return w;
}




