/* ELF tables a file dump shows: notes, relocation entries, and symbol
 * versions (what a file defines and what it needs). Sections are read
 * whole, bounded, through the image's reader. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "elf_defs.h"
#include "vmatlas/elf.h"

#define MAX_SECTION (64u << 20)  /* a table bigger than this is not read */
#define MAX_NOTE_DESC 4096u

#define SHT_RELA 4
#define SHT_NOTE 7
#define SHT_REL 9
#define SHT_GNU_VERDEF 0x6ffffffd
#define SHT_GNU_VERNEED 0x6ffffffe
#define PT_NOTE 4

/* a section's bytes, or NULL (too big, or unreadable) */
static uint8_t *section_bytes(const elf_image *e, uint64_t off, uint64_t size)
{
	if (!size || size > MAX_SECTION)
		return NULL;
	uint8_t *b = xmalloc((size_t)size);
	if (elf_read_offset(e, off, b, (size_t)size) < 0) {
		free(b);
		return NULL;
	}
	return b;
}

static void notes_in(const elf_image *e, const uint8_t *b, uint64_t size, const char *where, elf_note **out,
		     size_t *n, size_t *cap)
{
	for (uint64_t at = 0; at + 12 <= size && *n < 4096;) {
		uint32_t nsz = elf_g32(e, b + at), dsz = elf_g32(e, b + at + 4), type = elf_g32(e, b + at + 8);
		uint64_t name_at = at + 12, desc_at = name_at + (((uint64_t)nsz + 3) & ~3ull);
		uint64_t next = desc_at + (((uint64_t)dsz + 3) & ~3ull);
		if (desc_at > size || dsz > size - desc_at || nsz > size - name_at)
			break;
		elf_note *x = ARRAY_PUSH(*out, *n, *cap);
		memset(x, 0, sizeof *x);
		x->owner = xstrndup((const char *)b + name_at, nsz);
		x->type = type;
		x->desc_size = dsz;
		x->desc_len = dsz < MAX_NOTE_DESC ? dsz : MAX_NOTE_DESC;
		x->desc = xmalloc(x->desc_len ? x->desc_len : 1);
		memcpy(x->desc, b + desc_at, x->desc_len);
		x->where = xstrdup(where);
		at = next;
	}
}

int elf_read_notes(const elf_image *e, elf_note **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	bool any = false;
	for (size_t i = 0; i < e->nsh; i++) {
		if (e->sh[i].type != SHT_NOTE)
			continue;
		any = true;
		uint8_t *b = section_bytes(e, e->sh[i].offset, e->sh[i].size);
		if (b)
			notes_in(e, b, e->sh[i].size, e->sh[i].namestr, out, n, &cap);
		free(b);
	}
	for (size_t i = 0; !any && i < e->nph; i++) { /* no sections: the segments */
		if (e->ph[i].type != PT_NOTE)
			continue;
		uint8_t *b = section_bytes(e, e->ph[i].offset, e->ph[i].filesz);
		if (b)
			notes_in(e, b, e->ph[i].filesz, "PT_NOTE", out, n, &cap);
		free(b);
	}
	return 0;
}

void elf_notes_free(elf_note *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].owner);
		free(v[i].desc);
		free(v[i].where);
	}
	free(v);
}

size_t elf_reloc_size(const elf_image *e, bool rela)
{
	size_t w = e->bits == 64 ? 8 : 4;
	return rela ? 3 * w : 2 * w;
}

void elf_reloc_decode(const elf_image *e, const uint8_t *p, bool rela, elf_reloc *r)
{
	size_t w = e->bits == 64 ? 8 : 4;
	uint64_t info = w == 8 ? elf_g64(e, p + 8) : elf_g32(e, p + 4);
	r->offset = w == 8 ? elf_g64(e, p) : elf_g32(e, p);
	r->type = w == 8 ? (uint32_t)info : (uint32_t)(info & 0xff);
	r->sym = w == 8 ? (uint32_t)(info >> 32) : (uint32_t)(info >> 8);
	r->addend = rela ? (int64_t)(w == 8 ? elf_g64(e, p + 16) : (uint64_t)(int32_t)elf_g32(e, p + 8)) : 0;
	r->has_addend = rela;
}

int elf_read_relocs(const elf_image *e, const elf_shdr *s, elf_reloc **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	bool rela = s->type == SHT_RELA;
	if (!rela && s->type != SHT_REL)
		return -1;
	size_t es = elf_reloc_size(e, rela);
	if (s->entsize && s->entsize != es)
		return -1;
	uint8_t *b = section_bytes(e, s->offset, s->size);
	if (!b)
		return -1;
	size_t count = (size_t)(s->size / es);
	*out = xcalloc(count ? count : 1, sizeof **out);
	for (size_t i = 0; i < count; i++)
		elf_reloc_decode(e, b + i * es, rela, &(*out)[i]);
	*n = count;
	free(b);
	return 0;
}

/* a name from the string table a version section links to */
static char *vstr(const elf_image *e, const uint8_t *strs, uint64_t strsz, uint32_t off)
{
	(void)e;
	if (!strs || off >= strsz)
		return xstrdup("?");
	return xstrndup((const char *)strs + off, (size_t)(strsz - off));
}

int elf_read_versions(const elf_image *e, elf_versions *out)
{
	memset(out, 0, sizeof *out);
	size_t dcap = 0, ncap = 0;
	for (size_t i = 0; i < e->nsh; i++) {
		const elf_shdr *s = &e->sh[i];
		if (s->type != SHT_GNU_VERDEF && s->type != SHT_GNU_VERNEED)
			continue;
		if (s->link >= e->nsh)
			continue;
		const elf_shdr *ss = &e->sh[s->link];
		uint8_t *b = section_bytes(e, s->offset, s->size), *strs = section_bytes(e, ss->offset, ss->size);
		uint64_t size = b ? s->size : 0;
		/* entries chain by offsets; s->info counts them: bound the walk by both */
		uint64_t at = 0, entry = s->type == SHT_GNU_VERDEF ? 20 : 16; /* Elf_Verdef, Elf_Verneed */
		for (uint32_t k = 0; k < s->info && k < 65536 && at + entry <= size; k++) {
			const uint8_t *p = b + at;
			if (s->type == SHT_GNU_VERDEF) {
				/* vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next */
				uint16_t flags = elf_g16(e, p + 2), ndx = elf_g16(e, p + 4);
				uint32_t aux = elf_g32(e, p + 12), next = elf_g32(e, p + 16);
				elf_verdef *d = ARRAY_PUSH(out->def, out->ndef, dcap);
				d->index = ndx;
				d->flags = flags;
				d->name = at + aux + 8 <= size ? vstr(e, strs, ss->size, elf_g32(e, b + at + aux)) : xstrdup("?");
				if (!next || next > size - at)
					break;
				at += next;
			} else {
				/* vn_version, vn_cnt, vn_file, vn_aux, vn_next; then vna_* */
				uint16_t cnt = elf_g16(e, p + 2);
				uint32_t file = elf_g32(e, p + 4), aux = elf_g32(e, p + 8), next = elf_g32(e, p + 12);
				uint64_t a = at + aux;
				for (uint16_t j = 0; j < cnt && a + 16 <= size; j++) {
					const uint8_t *q = b + a;
					elf_verneed *x = ARRAY_PUSH(out->need, out->nneed, ncap);
					x->file = vstr(e, strs, ss->size, file);
					x->name = vstr(e, strs, ss->size, elf_g32(e, q + 8));
					x->index = elf_g16(e, q + 6);
					x->flags = elf_g16(e, q + 4);
					uint32_t anext = elf_g32(e, q + 12);
					if (!anext || anext > size - a)
						break;
					a += anext;
				}
				if (!next || next > size - at)
					break;
				at += next;
			}
		}
		free(b);
		free(strs);
	}
	return 0;
}

void elf_versions_free(elf_versions *v)
{
	for (size_t i = 0; i < v->ndef; i++)
		free(v->def[i].name);
	for (size_t i = 0; i < v->nneed; i++) {
		free(v->need[i].file);
		free(v->need[i].name);
	}
	free(v->def);
	free(v->need);
	memset(v, 0, sizeof *v);
}
