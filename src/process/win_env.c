/* Reading the PEB and what hangs off it from target memory (a minidump
 * holds it when it holds the process's private memory). Offsets are those
 * of the public layouts, for both word sizes. */
#include "vmatlas/win_env.h"

#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/utf16.h"
#include "base/util.h"

#define MAX_USTR (64u << 10)
#define MAX_ENV (1u << 20)
#define MAX_LDR 4096
#define MAX_HEAPS 1024

typedef struct rd {
	vm_target *t;
	size_t w;
} rd;

static bool word(const rd *r, uint64_t addr, uint64_t *v)
{
	uint8_t b[8];
	if (vm_read_full(r->t, addr, b, r->w) < 0)
		return false;
	*v = r->w == 8 ? ld_le64(b) : ld_le32(b);
	return true;
}

/* a UNICODE_STRING {Length, MaximumLength, Buffer} at addr */
static bool ustr(const rd *r, uint64_t addr, vm_string *out)
{
	uint8_t h[16];
	if (vm_read_full(r->t, addr, h, 2 * r->w) < 0)
		return false;
	uint32_t len = ld_le16(h) & ~1u;
	uint64_t buf = r->w == 8 ? ld_le64(h + 8) : ld_le32(h + 4);
	if (!buf || !len)
		return false;
	uint8_t *b = xmalloc(len);
	bool ok = vm_read_full(r->t, buf, b, len) == 0;
	if (ok) {
		out->addr = buf;
		out->value = utf16le_to_utf8(b, len / 2);
	}
	free(b);
	return ok;
}

static void environment(const rd *r, vm_win_env *e)
{
	uint64_t n = e->environment_size && e->environment_size <= MAX_ENV ? e->environment_size : 65536;
	uint8_t *b = xmalloc((size_t)n);
	ssize_t got = vm_read(r->t, e->environment, b, (size_t)n);
	size_t cap = 0, units = got > 0 ? (size_t)got / 2 : 0, start = 0;
	for (size_t i = 0; i < units; i++) {
		if (b[2 * i] || b[2 * i + 1])
			continue;
		if (i == start)
			break; /* the empty string ends the block */
		vm_string *s = ARRAY_PUSH(e->env, e->nenv, cap);
		s->addr = e->environment + 2 * start;
		s->value = utf16le_to_utf8(b + 2 * start, i - start);
		start = i + 1;
	}
	free(b);
}

static void loader_list(const rd *r, vm_win_env *e)
{
	bool b64 = r->w == 8;
	uint64_t head = e->ldr + (b64 ? 0x10 : 0x0c), link;
	size_t cap = 0;
	if (!word(r, head, &link))
		return;
	for (size_t k = 0; k < MAX_LDR && link && link != head; k++) {
		vm_win_ldr_entry x = { .addr = link };
		uint64_t next;
		if (!word(r, link, &next) || !word(r, link + (b64 ? 0x30 : 0x18), &x.base) ||
		    !word(r, link + (b64 ? 0x38 : 0x1c), &x.entry))
			break;
		uint8_t sz[4];
		if (vm_read_full(r->t, link + (b64 ? 0x40 : 0x20), sz, 4) == 0)
			x.size = ld_le32(sz);
		vm_string s = { 0 };
		if (ustr(r, link + (b64 ? 0x48 : 0x24), &s))
			x.full_name = s.value;
		s.value = NULL;
		if (ustr(r, link + (b64 ? 0x58 : 0x2c), &s))
			x.base_name = s.value;
		*ARRAY_PUSH(e->ldr_list, e->nldr, cap) = x;
		link = next;
	}
}

int vm_win_env_read(const vm_map *m, vm_target *t, vm_win_env *e)
{
	memset(e, 0, sizeof *e);
	e->bits = m->info.bits;
	rd r = { t, m->info.bits == 32 ? 4 : 8 };
	bool b64 = r.w == 8;
	for (size_t i = 0; i < m->nthreads && !e->peb; i++) {
		uint64_t teb = m->threads[i].tp, peb;
		if (teb && word(&r, teb + (b64 ? 0x60 : 0x30), &peb) && peb) {
			e->teb = teb;
			e->peb = peb;
		}
	}
	if (!e->peb) {
		e->note = "no thread's TEB in the dump names a PEB";
		return -1;
	}
	uint8_t bd;
	if (vm_read_full(t, e->peb + 2, &bd, 1) == 0)
		e->being_debugged = bd;
	if (!word(&r, e->peb + (b64 ? 0x10 : 0x08), &e->image_base) ||
	    !word(&r, e->peb + (b64 ? 0x18 : 0x0c), &e->ldr) ||
	    !word(&r, e->peb + (b64 ? 0x20 : 0x10), &e->params)) {
		e->note = "the PEB is not in the dump";
		return -1;
	}
	word(&r, e->peb + (b64 ? 0x30 : 0x18), &e->process_heap);
	uint8_t nh[4];
	if (vm_read_full(t, e->peb + (b64 ? 0xe8 : 0x88), nh, 4) == 0)
		e->nheaps_claimed = ld_le32(nh);
	if (word(&r, e->peb + (b64 ? 0xf0 : 0x90), &e->heaps_array) && e->heaps_array) {
		size_t n = e->nheaps_claimed < MAX_HEAPS ? e->nheaps_claimed : MAX_HEAPS;
		e->heaps = xcalloc(n ? n : 1, sizeof *e->heaps);
		for (size_t i = 0; i < n && word(&r, e->heaps_array + i * r.w, &e->heaps[i]); i++)
			e->nheaps++;
	}
	if (e->params) {
		ustr(&r, e->params + (b64 ? 0x38 : 0x24), &e->current_directory);
		ustr(&r, e->params + (b64 ? 0x60 : 0x38), &e->image_path);
		ustr(&r, e->params + (b64 ? 0x70 : 0x40), &e->command_line);
		word(&r, e->params + (b64 ? 0x80 : 0x48), &e->environment);
		word(&r, e->params + (b64 ? 0x3f0 : 0x290), &e->environment_size);
		if (e->environment)
			environment(&r, e);
	}
	if (e->ldr)
		loader_list(&r, e);
	return 0;
}

void vm_win_env_free(vm_win_env *e)
{
	free(e->heaps);
	free(e->command_line.value);
	free(e->image_path.value);
	free(e->current_directory.value);
	for (size_t i = 0; i < e->nenv; i++)
		free(e->env[i].value);
	free(e->env);
	for (size_t i = 0; i < e->nldr; i++) {
		free(e->ldr_list[i].full_name);
		free(e->ldr_list[i].base_name);
	}
	free(e->ldr_list);
	memset(e, 0, sizeof *e);
}
