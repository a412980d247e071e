/* The snapshot file, written: sections of a string table, the map,
 * the heap and page hashes, zstd-compressed under a checksummed header.
 * Layout: docs/snapshot.md */
#include "vmatlas/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "base/atomic_file.h"
#include "base/bytes.h"
#include "base/slurp.h"
#include "base/util.h"
#include "vmatlas/error.h"

#include "snapshot_file.h"

/* ---- writing ---- */

typedef struct bbuf {
	uint8_t *p;
	size_t n, cap;
} bbuf;

static void put(bbuf *b, const void *v, size_t n)
{
	ARRAY_GROW(b->p, b->cap, b->n + n);
	memcpy(b->p + b->n, v, n);
	b->n += n;
}
static void p8(bbuf *b, uint8_t v) { put(b, &v, 1); }
static void p32(bbuf *b, uint32_t v) { uint8_t x[4]; st_le32(x, v); put(b, x, 4); }
static void p64(bbuf *b, uint64_t v) { uint8_t x[8]; st_le64(x, v); put(b, x, 8); }
static void pad(bbuf *b, size_t n) { uint8_t z[8] = { 0 }; put(b, z, n); }

/* a string table with the same string stored once */
typedef struct strtab {
	bbuf data;
	uint32_t *slot; /* open addressing: offset + 1, 0 empty */
	size_t nslots, used;
} strtab;

static uint32_t str(strtab *s, const char *v)
{
	if (!v)
		return NOSTR;
	size_t len = strlen(v);
	uint64_t h = XXH3_64bits(v, len);
	if (s->used * 2 >= s->nslots) {
		size_t n = s->nslots ? s->nslots * 2 : 1024;
		uint32_t *slot = xcalloc(n, sizeof *slot);
		for (size_t i = 0; i < s->nslots; i++)
			if (s->slot[i]) {
				const char *o = (const char *)s->data.p + s->slot[i] - 1;
				size_t j = XXH3_64bits(o, strlen(o)) & (n - 1);
				while (slot[j])
					j = (j + 1) & (n - 1);
				slot[j] = s->slot[i];
			}
		free(s->slot);
		s->slot = slot;
		s->nslots = n;
	}
	size_t j = h & (s->nslots - 1);
	while (s->slot[j]) {
		const char *o = (const char *)s->data.p + s->slot[j] - 1;
		if (!strcmp(o, v))
			return s->slot[j] - 1;
		j = (j + 1) & (s->nslots - 1);
	}
	uint32_t off = (uint32_t)s->data.n;
	put(&s->data, v, len + 1);
	s->slot[j] = off + 1;
	s->used++;
	return off;
}

static void section(bbuf *out, uint32_t tag, const bbuf *body)
{
	p32(out, tag);
	p32(out, 0);
	p64(out, body->n);
	put(out, body->p, body->n);
}

static void write_info(bbuf *b, strtab *st, const vm_snapshot *s)
{
	const vm_target_info *in = &s->map->info;
	p64(b, (uint64_t)in->pid);
	p32(b, (uint32_t)in->bits);
	p8(b, (uint8_t)in->state);
	pad(b, 3);
	p64(b, in->page_size);
	p64(b, in->user_top);
	p64(b, s->taken);
	p64(b, in->arg_start);
	p64(b, in->arg_end);
	p64(b, in->env_start);
	p64(b, in->env_end);
	p64(b, in->stack_start);
	p32(b, str(st, vm_target_kind_name(in->kind)));
	p32(b, str(st, in->name));
	p32(b, str(st, in->exe));
	p32(b, str(st, vm_os_name(in->os)));
	p32(b, str(st, vm_arch_name(in->arch)));
	p32(b, str(st, in->cwd));
	p8(b, s->map->frozen);
	p8(b, s->map->incomplete);
	pad(b, 6);
	p64(b, in->start_time);
}

static void write_regions(bbuf *b, strtab *st, const vm_map *m)
{
	p64(b, m->nregions);
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		const vm_page_stats *x = &r->stats;
		p64(b, r->base);
		p64(b, r->size);
		p64(b, r->offset);
		p64(b, r->lx.inode);
		p32(b, str(st, r->path));
		p32(b, r->flags);
		p32(b, (uint32_t)r->alloc);
		p32(b, r->lx.dev_major);
		p32(b, r->lx.dev_minor);
		p8(b, (uint8_t)r->state);
		p8(b, (uint8_t)r->prot);
		p8(b, (uint8_t)r->type);
		p8(b, (uint8_t)r->usage);
		p8(b, x->valid);
		p8(b, x->working_set);
		pad(b, 6);
		p64(b, x->rss);
		p64(b, x->lx.pss);
		p64(b, x->shared_clean);
		p64(b, x->shared_dirty);
		p64(b, x->private_clean);
		p64(b, x->private_dirty);
		p64(b, x->swap);
		p64(b, x->locked);
		p64(b, x->lx.anonymous);
	}
}

static void write_allocs(bbuf *b, strtab *st, const vm_map *m)
{
	p64(b, m->nallocs);
	for (size_t i = 0; i < m->nallocs; i++) {
		const vm_alloc *a = &m->allocs[i];
		p64(b, a->base);
		p64(b, a->size);
		p32(b, (uint32_t)a->usage);
		p32(b, str(st, a->details));
		p64(b, a->first);
		p64(b, a->count);
	}
}

static void write_contents(bbuf *b, strtab *st, const vm_map *m)
{
	uint64_t n = 0;
	for (size_t i = 0; i < m->nregions; i++)
		n += m->regions[i].ncontents;
	p64(b, n);
	for (size_t i = 0; i < m->nregions; i++)
		for (size_t k = 0; k < m->regions[i].ncontents; k++) {
			const vm_content *c = &m->regions[i].contents[k];
			p32(b, (uint32_t)i);
			p32(b, (uint32_t)c->kind);
			p32(b, (uint32_t)c->module);
			p32(b, str(st, c->name));
			p64(b, (uint64_t)c->tid);
			p64(b, c->addr);
			p64(b, c->size);
			p32(b, str(st, c->detail));
			pad(b, 4);
		}
}

static void write_modules(bbuf *b, strtab *st, const vm_map *m)
{
	p64(b, m->nmodules);
	for (size_t i = 0; i < m->nmodules; i++) {
		const vm_module *x = &m->modules[i];
		p32(b, str(st, x->name));
		p32(b, str(st, x->path));
		p32(b, str(st, x->loader_name));
		p32(b, str(st, x->format));
		p64(b, x->base);
		p64(b, x->size);
		p64(b, x->load_bias);
		p64(b, x->entry);
		p64(b, x->dynamic);
		p64(b, x->loader_entry);
		p32(b, (uint32_t)x->bits);
		p32(b, x->sources);
		p32(b, (uint32_t)x->elf_type);
		p32(b, (uint32_t)x->loader_index);
		p8(b, x->deleted);
		p8(b, (uint8_t)x->build_id_len);
		pad(b, 6);
		put(b, x->build_id, 64);
	}
}

static void write_threads(bbuf *b, strtab *st, const vm_map *m)
{
	p64(b, m->nthreads);
	for (size_t i = 0; i < m->nthreads; i++) {
		const vm_thread *t = &m->threads[i];
		p64(b, (uint64_t)t->tid);
		p32(b, str(st, t->name));
		p8(b, (uint8_t)t->state);
		p8(b, t->is_main);
		p8(b, t->regs_valid);
		p8(b, t->sp_valid);
		p64(b, t->pc);
		p64(b, t->sp);
		p64(b, t->fp);
		p64(b, t->tp);
		p64(b, t->stack_base);
		p64(b, t->stack_size);
		p64(b, t->guard_base);
		p64(b, t->guard_size);
	}
}

static void write_heap(bbuf *b, const vm_snapshot *s)
{
	const vm_heap_report *h = &s->heap;
	put(b, h->version, 16);
	p64(b, h->main_arena);
	p8(b, h->walked);
	p8(b, s->has_heap_chunks);
	p8(b, (uint8_t)h->kind); /* was padding: 0, glibc, in older files */
	pad(b, 5);
	p64(b, h->narenas);
	for (size_t i = 0; i < h->narenas; i++) {
		const vm_arena *a = &h->arenas[i];
		p64(b, a->addr);
		p64(b, a->top);
		p64(b, a->top_size);
		p64(b, a->system_mem);
		p64(b, a->used_bytes);
		p64(b, a->free_bytes);
		p64(b, a->nused);
		p64(b, a->nfree);
		p64(b, a->largest_free);
		p8(b, a->main);
		pad(b, 7);
	}
	uint64_t n = 0;
	for (size_t i = 0; i < h->nsegs; i++)
		n += h->segs[i].nchunks;
	p64(b, n);
	for (size_t i = 0; i < h->nsegs; i++)
		for (size_t k = 0; k < h->segs[i].nchunks; k++) {
			const vm_chunk *c = &h->segs[i].chunks[k];
			p64(b, c->addr);
			p64(b, c->size);
			p8(b, (uint8_t)c->state);
			p8(b, (uint8_t)c->bin);
			pad(b, 2);
			p32(b, (uint32_t)h->segs[i].arena);
		}
}

static void write_pages(bbuf *b, const vm_snapshot *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->map->nregions; i++)
		n += s->pages[i].npages > 0;
	p64(b, n);
	for (size_t i = 0; i < s->map->nregions; i++) {
		if (!s->pages[i].npages)
			continue;
		p64(b, i);
		p64(b, s->pages[i].npages);
		for (uint64_t k = 0; k < s->pages[i].npages; k++)
			p64(b, s->pages[i].h[k]);
	}
}

int vm_snapshot_encode(const vm_snapshot *s, uint8_t **out, size_t *out_len)
{
	const vm_map *m = s->map;
	*out = NULL;
	*out_len = 0;
	strtab st = { 0 };
	bbuf payload = { 0 }, body = { 0 };
	str(&st, ""); /* offset 0 */
#define SECTION(tag, call)              \
	do {                            \
		body.n = 0;             \
		call;                   \
		section(&payload, tag, &body); \
	} while (0)
	SECTION(SEC_INFO, write_info(&body, &st, s));
	SECTION(SEC_REGN, write_regions(&body, &st, m));
	SECTION(SEC_ALOC, write_allocs(&body, &st, m));
	SECTION(SEC_CONT, write_contents(&body, &st, m));
	SECTION(SEC_MODS, write_modules(&body, &st, m));
	SECTION(SEC_THRD, write_threads(&body, &st, m));
	SECTION(SEC_HEAP, write_heap(&body, s));
	if (s->pages)
		SECTION(SEC_PAGE, write_pages(&body, s));
	body.n = 0;
	p64(&body, m->nwarnings);
	for (size_t i = 0; i < m->nwarnings; i++)
		p32(&body, str(&st, m->warnings[i]));
	section(&payload, SEC_WARN, &body);
	/* the string table goes first so the reader has it for the rest */
	bbuf all = { 0 };
	section(&all, SEC_STRS, &st.data);
	put(&all, payload.p, payload.n);
#undef SECTION
	if (all.n > MAX_PAYLOAD) {
		vm_seterr("the snapshot would hold %zu MiB, more than a snapshot may (%llu MiB)", all.n >> 20,
			  MAX_PAYLOAD >> 20);
		free(all.p);
		free(payload.p);
		free(body.p);
		free(st.data.p);
		free(st.slot);
		return -1;
	}
	size_t bound = ZSTD_compressBound(all.n);
	uint8_t *z = xmalloc(bound);
	size_t zn = ZSTD_compress(z, bound, all.p, all.n, 3);
	int rc = -1;
	if (ZSTD_isError(zn)) {
		vm_seterr("compressing the snapshot: %s", ZSTD_getErrorName(zn));
	} else {
		uint8_t *hdr = xcalloc(1, HEADER + zn);
		uint32_t version = VM_SNAPSHOT_VERSION, flags = (s->pages ? 1u : 0u) | (s->has_heap_chunks ? 2u : 0u);
		uint64_t raw = all.n, comp = zn, sum = XXH3_64bits(z, zn);
		memcpy(hdr, MAGIC, 8);
		st_le32(hdr + 8, version);
		st_le32(hdr + 12, flags);
		st_le64(hdr + 16, raw);
		st_le64(hdr + 24, comp);
		st_le64(hdr + 32, sum);
		memcpy(hdr + HEADER, z, zn);
		*out = hdr;
		*out_len = HEADER + zn;
		rc = 0;
	}
	free(z);
	free(all.p);
	free(payload.p);
	free(body.p);
	free(st.data.p);
	free(st.slot);
	return rc;
}

int vm_snapshot_write(const vm_snapshot *s, const char *path)
{
	uint8_t *buf;
	size_t len;
	if (vm_snapshot_encode(s, &buf, &len) < 0)
		return -1;
	atomic_file f;
	int rc = -1;
	if (af_open(&f, path) == 0) {
		af_write(&f, buf, len);
		rc = af_commit(&f);
	}
	free(buf);
	return rc;
}

