/* The snapshot file, read: every count and index checked against the
 * bytes there are. Layout: docs/snapshot.md */
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

/* interned names for the const char * members of the model (the target's
 * kind, os and arch are enums, parsed by model/names.c) */
static const char *intern(char *s, const char *const *known)
{
	const char *r = "unknown";
	for (size_t i = 0; s && known[i]; i++)
		if (!strcmp(s, known[i]))
			r = known[i];
	free(s);
	return r;
}
static const char *const formats[] = { "elf", "pe", NULL };
static vm_target_kind parse_kind(char *s) { vm_target_kind k = vm_target_kind_parse(s); free(s); return k; }
static vm_os parse_os(char *s) { vm_os os = vm_os_parse(s); free(s); return os; }
static vm_arch parse_arch(char *s) { vm_arch a = vm_arch_parse(s); free(s); return a; }

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
	in->kind = parse_kind(gstr(c));
	/* a snapshot keeps the kind, not the capabilities: the live ones */
	in->caps = in->kind == VM_TARGET_LINUX_PROCESS || in->kind == VM_TARGET_WINDOWS_PROCESS ? VM_CAP_LIVE : 0;
	in->name = gstr(c);
	in->exe = gstr(c);
	in->os = parse_os(gstr(c));
	in->arch = parse_arch(gstr(c));
	in->cwd = gstr(c);
	s->map->frozen = g8(c) != 0;
	s->map->incomplete = g8(c) != 0;
	skip(c, 6);
	in->start_time = g64(c);
	if (in->bits != 32 && in->bits != 64)
		c->bad = true;
	if (in->page_size < 1024 || in->page_size > (1u << 30) || (in->page_size & (in->page_size - 1)))
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
		r->lx.inode = g64(c);
		r->path = gstr(c);
		r->flags = g32(c);
		r->alloc = g32(c);
		r->lx.dev_major = g32(c);
		r->lx.dev_minor = g32(c);
		uint8_t state = g8(c), prot = g8(c), type = g8(c), usage = g8(c);
		x->valid = g8(c) != 0;
		x->working_set = g8(c) != 0; /* 0 in snapshots before it */
		skip(c, 6);
		x->rss = g64(c);
		x->lx.pss = g64(c);
		x->shared_clean = g64(c);
		x->shared_dirty = g64(c);
		x->private_clean = g64(c);
		x->private_dirty = g64(c);
		x->swap = g64(c);
		x->locked = g64(c);
		x->lx.anonymous = g64(c);
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
	uint8_t kind = g8(c);
	if (kind > VM_HEAP_NT)
		c->bad = true;
	h->kind = kind == VM_HEAP_NT ? VM_HEAP_NT : VM_HEAP_GLIBC;
	skip(c, 5);
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
		if (ZSTD_isError(got)) /* zstd says why (the Windows build: a compressed block) */
			vm_seterr("the snapshot cannot be decompressed: %s", ZSTD_getErrorName(got));
		else
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


void vm_page_hashes_free(vm_page_hashes *p, size_t n)
{
	if (!p)
		return;
	for (size_t i = 0; i < n; i++)
		free(p[i].h);
	free(p);
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

