/* The snapshot file: writing, reading (every count and index checked
 * against the bytes there are). Layout: docs/snapshot.md */
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

#define MAGIC "VMATSNAP"
#define HEADER 40
#define MAX_PAYLOAD (1ull << 30) /* a bound on what a hostile header can make us allocate */
#define NOSTR 0xffffffffu
#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

enum {
	SEC_STRS = TAG('S', 'T', 'R', 'S'), SEC_INFO = TAG('I', 'N', 'F', 'O'),
	SEC_REGN = TAG('R', 'E', 'G', 'N'), SEC_ALOC = TAG('A', 'L', 'O', 'C'),
	SEC_CONT = TAG('C', 'O', 'N', 'T'), SEC_MODS = TAG('M', 'O', 'D', 'S'),
	SEC_THRD = TAG('T', 'H', 'R', 'D'), SEC_HEAP = TAG('H', 'E', 'A', 'P'),
	SEC_PAGE = TAG('P', 'A', 'G', 'E'), SEC_WARN = TAG('W', 'A', 'R', 'N'),
};

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
	p32(b, str(st, in->kind));
	p32(b, str(st, in->name));
	p32(b, str(st, in->exe));
	p32(b, str(st, in->os));
	p32(b, str(st, in->arch));
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
		p64(b, r->inode);
		p32(b, str(st, r->path));
		p32(b, r->flags);
		p32(b, (uint32_t)r->alloc);
		p32(b, r->dev_major);
		p32(b, r->dev_minor);
		p8(b, (uint8_t)r->state);
		p8(b, (uint8_t)r->prot);
		p8(b, (uint8_t)r->type);
		p8(b, (uint8_t)r->usage);
		p8(b, x->valid);
		pad(b, 7);
		p64(b, x->rss);
		p64(b, x->pss);
		p64(b, x->shared_clean);
		p64(b, x->shared_dirty);
		p64(b, x->private_clean);
		p64(b, x->private_dirty);
		p64(b, x->swap);
		p64(b, x->locked);
		p64(b, x->anonymous);
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
	pad(b, 6);
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

/* ---- reading ---- */

typedef struct cursor {
	const uint8_t *p;
	size_t n, at;
	bool bad;
	const char *strs;
	size_t nstrs;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
	if (c->bad || n > c->n - c->at) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *p = c->p + c->at;
	c->at += n;
	return p;
}
static uint8_t g8(cursor *c) { const uint8_t *p = take(c, 1); return p ? *p : 0; }
static uint32_t g32(cursor *c) { const uint8_t *p = take(c, 4); return p ? ld_le32(p) : 0; }
static uint64_t g64(cursor *c) { const uint8_t *p = take(c, 8); return p ? ld_le64(p) : 0; }
static void skip(cursor *c, size_t n) { take(c, n); }

/* a string from the table, copied; NULL for none; bad offsets spoil the cursor */
static char *gstr(cursor *c)
{
	uint32_t off = g32(c);
	if (off == NOSTR || c->bad)
		return NULL;
	if (off >= c->nstrs || !memchr(c->strs + off, 0, c->nstrs - off)) {
		c->bad = true;
		return NULL;
	}
	return xstrdup(c->strs + off);
}

/* a count of records of `size` bytes that must fit in what is left */
static uint64_t gcount(cursor *c, size_t size)
{
	uint64_t n = g64(c);
	if (!c->bad && size && n > (c->n - c->at) / size)
		c->bad = true;
	return c->bad ? 0 : n;
}

/* interned names for the const char * members of the model */
static const char *intern(char *s, const char *const *known)
{
	const char *r = "unknown";
	for (size_t i = 0; s && known[i]; i++)
		if (!strcmp(s, known[i]))
			r = known[i];
	free(s);
	return r;
}
static const char *const kinds[] = { "linux-process", "elf-core", "minidump", "windows-process", "fake", NULL };
/* a snapshot keeps the kind, not the capabilities: the live ones */
static unsigned kind_caps(const char *kind)
{
	return !strcmp(kind, "linux-process") || !strcmp(kind, "windows-process") ? VM_CAP_LIVE : 0;
}
static const char *const oses[] = { "linux", "windows", NULL };
static const char *const arches[] = { "x86_64", "i386", "aarch64", "arm", "riscv", "unknown", NULL };
static const char *const formats[] = { "elf", "pe", NULL };

static void read_info(cursor *c, vm_snapshot *s)
{
	vm_target_info *in = &s->map->info;
	in->pid = (int64_t)g64(c);
	in->bits = (int)g32(c);
	in->state = (char)g8(c);
	skip(c, 3);
	in->page_size = g64(c);
	in->user_top = g64(c);
	s->taken = g64(c);
	in->arg_start = g64(c);
	in->arg_end = g64(c);
	in->env_start = g64(c);
	in->env_end = g64(c);
	in->stack_start = g64(c);
	in->kind = intern(gstr(c), kinds);
	in->caps = kind_caps(in->kind);
	in->name = gstr(c);
	in->exe = gstr(c);
	in->os = intern(gstr(c), oses);
	in->arch = intern(gstr(c), arches);
	in->cwd = gstr(c);
	s->map->frozen = g8(c) != 0;
	s->map->incomplete = g8(c) != 0;
	skip(c, 6);
	in->start_time = g64(c);
	if (in->bits != 32 && in->bits != 64)
		c->bad = true;
	if (!in->page_size || in->page_size > (1u << 30) || (in->page_size & (in->page_size - 1)))
		c->bad = true;
}

static void read_regions(cursor *c, vm_map *m)
{
	uint64_t n = gcount(c, 136);
	m->regions = xcalloc(n ? n : 1, sizeof *m->regions);
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		vm_region *r = &m->regions[i];
		vm_page_stats *x = &r->stats;
		r->base = g64(c);
		r->size = g64(c);
		r->offset = g64(c);
		r->inode = g64(c);
		r->path = gstr(c);
		r->flags = g32(c);
		r->alloc = g32(c);
		r->dev_major = g32(c);
		r->dev_minor = g32(c);
		uint8_t state = g8(c), prot = g8(c), type = g8(c), usage = g8(c);
		x->valid = g8(c) != 0;
		skip(c, 7);
		x->rss = g64(c);
		x->pss = g64(c);
		x->shared_clean = g64(c);
		x->shared_dirty = g64(c);
		x->private_clean = g64(c);
		x->private_dirty = g64(c);
		x->swap = g64(c);
		x->locked = g64(c);
		x->anonymous = g64(c);
		if (state > VM_STATE_COMMIT || type > VM_TYPE_SPECIAL || usage >= VM_USAGE_COUNT ||
		    r->size == 0 || r->base + r->size < r->base ||
		    (i && r->base < m->regions[i - 1].base + m->regions[i - 1].size))
			c->bad = true;
		r->state = (vm_state)state;
		r->prot = prot;
		r->type = (vm_type)type;
		r->usage = (vm_usage)usage;
		m->nregions = (size_t)i + 1;
	}
}

static void read_allocs(cursor *c, vm_map *m)
{
	uint64_t n = gcount(c, 40);
	m->allocs = xcalloc(n ? n : 1, sizeof *m->allocs);
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		vm_alloc *a = &m->allocs[i];
		a->base = g64(c);
		a->size = g64(c);
		uint32_t usage = g32(c);
		a->details = gstr(c);
		a->first = g64(c);
		a->count = g64(c);
		if (usage >= VM_USAGE_COUNT || a->first > m->nregions || a->count > m->nregions - a->first ||
		    a->count == 0)
			c->bad = true;
		a->usage = (vm_usage)usage;
		m->nallocs = (size_t)i + 1;
	}
	for (size_t i = 0; i < m->nregions && !c->bad; i++)
		if (m->regions[i].alloc >= m->nallocs)
			c->bad = true;
}

static void read_contents(cursor *c, vm_map *m)
{
	uint64_t n = gcount(c, 48);
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		uint32_t ri = g32(c), kind = g32(c);
		int32_t mod = (int32_t)g32(c);
		char *name = gstr(c);
		int64_t tid = (int64_t)g64(c);
		uint64_t addr = g64(c), size = g64(c);
		char *detail = gstr(c);
		skip(c, 4);
		if (c->bad || ri >= m->nregions || kind >= VM_CK_COUNT) {
			c->bad = true;
			free(name);
			free(detail);
			break;
		}
		vm_content *ct = vm_region_add_content(&m->regions[ri], (vm_content_kind)kind, addr, size, name, detail);
		ct->tid = tid;
		ct->module = mod;
		free(name);
		free(detail);
	}
}

static void read_modules(cursor *c, vm_map *m)
{
	uint64_t n = gcount(c, 152);
	m->modules = xcalloc(n ? n : 1, sizeof *m->modules);
	m->mcap = n ? n : 1;
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		vm_module *x = &m->modules[i];
		x->name = gstr(c);
		x->path = gstr(c);
		x->loader_name = gstr(c);
		x->format = intern(gstr(c), formats);
		x->base = g64(c);
		x->size = g64(c);
		x->load_bias = g64(c);
		x->entry = g64(c);
		x->dynamic = g64(c);
		x->loader_entry = g64(c);
		x->bits = (int)g32(c);
		x->sources = g32(c);
		x->elf_type = (int)g32(c);
		x->loader_index = (int)g32(c);
		x->deleted = g8(c) != 0;
		x->build_id_len = g8(c);
		skip(c, 6);
		const uint8_t *id = take(c, 64);
		if (id)
			memcpy(x->build_id, id, 64);
		if (!x->name || x->build_id_len > 64)
			c->bad = true;
		m->nmodules = (size_t)i + 1;
	}
	for (size_t i = 0; i < m->nregions && !c->bad; i++)
		for (size_t k = 0; k < m->regions[i].ncontents; k++)
			if (m->regions[i].contents[k].module < -1 ||
			    m->regions[i].contents[k].module >= (int)m->nmodules)
				c->bad = true;
}

static void read_threads(cursor *c, vm_map *m)
{
	uint64_t n = gcount(c, 80);
	m->threads = xcalloc(n ? n : 1, sizeof *m->threads);
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		vm_thread *t = &m->threads[i];
		t->tid = (int64_t)g64(c);
		t->name = gstr(c);
		t->state = (char)g8(c);
		t->is_main = g8(c) != 0;
		t->regs_valid = g8(c) != 0;
		t->sp_valid = g8(c) != 0;
		t->pc = g64(c);
		t->sp = g64(c);
		t->fp = g64(c);
		t->tp = g64(c);
		t->stack_base = g64(c);
		t->stack_size = g64(c);
		t->guard_base = g64(c);
		t->guard_size = g64(c);
		m->nthreads = (size_t)i + 1;
	}
}

static void read_heap(cursor *c, vm_snapshot *s)
{
	vm_heap_report *h = &s->heap;
	const uint8_t *v = take(c, 16);
	if (v) {
		memcpy(h->version, v, 16);
		h->version[15] = 0;
	}
	h->main_arena = g64(c);
	h->walked = g8(c) != 0;
	s->has_heap_chunks = g8(c) != 0;
	skip(c, 6);
	uint64_t n = gcount(c, 80);
	h->arenas = xcalloc(n ? n : 1, sizeof *h->arenas);
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		vm_arena *a = &h->arenas[i];
		a->addr = g64(c);
		a->top = g64(c);
		a->top_size = g64(c);
		a->system_mem = g64(c);
		a->used_bytes = g64(c);
		a->free_bytes = g64(c);
		a->nused = (size_t)g64(c);
		a->nfree = (size_t)g64(c);
		a->largest_free = g64(c);
		a->main = g8(c) != 0;
		skip(c, 7);
		h->narenas = (size_t)i + 1;
	}
	uint64_t nc = gcount(c, 24);
	if (c->bad)
		return;
	/* one segment holds them all: diff only needs the chunks */
	h->segs = xcalloc(1, sizeof *h->segs);
	h->nsegs = 1;
	vm_heap_seg *g = &h->segs[0];
	g->kind = "saved";
	g->arena = -1;
	g->chunks = xcalloc(nc ? nc : 1, sizeof *g->chunks);
	g->ccap = nc ? nc : 1;
	for (uint64_t i = 0; i < nc && !c->bad; i++) {
		vm_chunk *ch = &g->chunks[i];
		ch->addr = g64(c);
		ch->size = g64(c);
		uint8_t st = g8(c), bin = g8(c);
		skip(c, 6);
		if (st > VM_CHUNK_TOP || bin >= VM_BIN_COUNT)
			c->bad = true;
		ch->state = (vm_chunk_state)st;
		ch->bin = (vm_bin)bin;
		ch->bin_index = -1;
		g->nchunks = (size_t)i + 1;
	}
}

static void read_pages(cursor *c, vm_snapshot *s)
{
	uint64_t n = gcount(c, 16);
	s->pages = xcalloc(s->map->nregions ? s->map->nregions : 1, sizeof *s->pages);
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		uint64_t ri = g64(c), np = g64(c);
		if (ri >= s->map->nregions || s->pages[ri].npages || np == 0 ||
		    np > s->map->regions[ri].size / s->map->info.page_size || np > (c->n - c->at) / 8) {
			c->bad = true;
			break;
		}
		s->pages[ri].npages = np;
		s->pages[ri].h = xmalloc((size_t)np * 8);
		for (uint64_t k = 0; k < np; k++)
			s->pages[ri].h[k] = g64(c);
	}
}

static void read_warnings(cursor *c, vm_map *m)
{
	uint64_t n = gcount(c, 4);
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		char *w = gstr(c);
		if (w)
			*ARRAY_PUSH(m->warnings, m->nwarnings, m->wcap) = w;
	}
}

int vm_snapshot_read_buf(const uint8_t *buf, size_t len, vm_snapshot *out)
{
	memset(out, 0, sizeof *out);
	if (len < HEADER || memcmp(buf, MAGIC, 8) != 0) {
		vm_seterr("not a vmatlas snapshot");
		return -1;
	}
	uint32_t version;
	uint64_t raw, comp, sum;
	version = ld_le32(buf + 8);
	raw = ld_le64(buf + 16);
	comp = ld_le64(buf + 24);
	sum = ld_le64(buf + 32);
	if (version > VM_SNAPSHOT_VERSION) {
		vm_seterr("snapshot format version %u is newer than this vmatlas reads (%u)", version,
			  VM_SNAPSHOT_VERSION);
		return -1;
	}
	if (version == 0 || comp > len - HEADER) {
		vm_seterr("the snapshot is truncated");
		return -1;
	}
	/* over the compressed bytes: zstd may decode a damaged stream to the
	 * same output, and then the damage would go unnoticed */
	if (XXH3_64bits(buf + HEADER, (size_t)comp) != sum) {
		vm_seterr("the snapshot is damaged (its checksum does not match)");
		return -1;
	}
	unsigned long long declared = ZSTD_getFrameContentSize(buf + HEADER, (size_t)comp);
	if (raw > MAX_PAYLOAD || declared != raw) {
		vm_seterr("the snapshot is damaged (sizes do not agree)");
		return -1;
	}
	uint8_t *p = xmalloc((size_t)raw + 1);
	size_t got = ZSTD_decompress(p, (size_t)raw, buf + HEADER, (size_t)comp);
	if (ZSTD_isError(got) || got != raw) {
		free(p);
		vm_seterr("the snapshot is damaged (it does not decompress to what its header says)");
		return -1;
	}
	cursor c = { p, (size_t)raw, 0, false, NULL, 0 };
	out->map = xcalloc(1, sizeof *out->map);
	bool seen[16] = { false };
	while (!c.bad && c.at < c.n) {
		uint32_t tag = g32(&c);
		skip(&c, 4);
		uint64_t slen = g64(&c);
		const uint8_t *body = take(&c, slen > c.n ? c.n + 1 : (size_t)slen);
		if (!body)
			break;
		cursor sc = { body, (size_t)slen, 0, false, c.strs, c.nstrs };
		int order = tag == SEC_STRS ? 0 : tag == SEC_INFO ? 1 : tag == SEC_REGN ? 2 : tag == SEC_ALOC ? 3
			  : tag == SEC_CONT ? 4 : tag == SEC_MODS ? 5 : tag == SEC_THRD ? 6 : tag == SEC_HEAP ? 7
			  : tag == SEC_PAGE ? 8 : tag == SEC_WARN ? 9 : -1;
		if (order < 0)
			continue; /* a section of a later minor revision */
		/* sections come once, in order: each depends on those before */
		for (int k = order; k < 16; k++)
			if (seen[k])
				c.bad = true;
		for (int k = 0; k < order && k < 3; k++)
			if (!seen[k])
				c.bad = true;
		if (c.bad)
			break; /* a table read twice would replace the first under its count */
		seen[order] = true;
		switch (order) {
		case 0:
			if (!slen || body[slen - 1] != 0)
				c.bad = true;
			c.strs = (const char *)body;
			c.nstrs = (size_t)slen;
			break;
		case 1: read_info(&sc, out); break;
		case 2: read_regions(&sc, out->map); break;
		case 3: read_allocs(&sc, out->map); break;
		case 4: read_contents(&sc, out->map); break;
		case 5: read_modules(&sc, out->map); break;
		case 6: read_threads(&sc, out->map); break;
		case 7: read_heap(&sc, out); break;
		case 8: read_pages(&sc, out); break;
		case 9: read_warnings(&sc, out->map); break;
		}
		if (sc.bad)
			c.bad = true;
	}
	if (!c.bad && (!seen[1] || !seen[2] || !seen[3]))
		c.bad = true;
	free(p);
	if (c.bad) {
		vm_snapshot_free(out);
		vm_seterr("the snapshot is damaged (a section does not hold together)");
		return -1;
	}
	return 0;
}

static int parse(const uint8_t *buf, size_t len, void *out)
{
	return vm_snapshot_read_buf(buf, len, out);
}

int vm_snapshot_read(const char *path, vm_snapshot *out)
{
	memset(out, 0, sizeof *out);
	return slurp_parse(path, MAX_PAYLOAD, "snapshot", parse, out);
}


void vm_snapshot_free(vm_snapshot *s)
{
	if (s->map) {
		vm_page_hashes_free(s->pages, s->map->nregions);
		vm_map_free(s->map);
	}
	vm_heap_report_free(&s->heap);
	memset(s, 0, sizeof *s);
}

/* ---- page hashes ---- */

