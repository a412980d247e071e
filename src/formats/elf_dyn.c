/* The dynamic section and the symbol tables of an ELF image. */
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"
#include "elf_defs.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"

#define MAX_DYN 4096u
#define MAX_SYMS (1u << 22)
#define MAX_STRTAB (64u << 20)

static uint64_t get(const elf_image *e, const uint8_t *p, int bytes)
{
	if (!e->big_endian) /* the common case, in one load */
		return bytes == 8 ? ld_le64(p) : bytes == 4 ? ld_le32(p) : ld_le16(p);
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) {
		int k = e->big_endian ? i : bytes - 1 - i;
		v = (v << 8) | p[k];
	}
	return v;
}

int elf_read_dynamic(const elf_image *e, elf_dyn **out, size_t *n)
{
	const elf_phdr *dyn = NULL;
	for (size_t i = 0; i < e->nph; i++)
		if (e->ph[i].type == PT_DYNAMIC)
			dyn = &e->ph[i];
	if (!dyn) {
		vm_seterr("no dynamic section");
		return -1;
	}
	size_t ent = e->bits == 64 ? 16 : 8;
	uint64_t size = e->in_memory ? dyn->memsz : dyn->filesz;
	uint64_t count = size / ent;
	if (count > MAX_DYN)
		count = MAX_DYN;
	uint8_t *buf = xmalloc((size_t)(count * ent) + 1);
	int rc = e->in_memory ? elf_read_vaddr(e, dyn->vaddr, buf, (size_t)(count * ent))
			      : elf_read_offset(e, dyn->offset, buf, (size_t)(count * ent));
	if (rc < 0) {
		free(buf);
		vm_seterr("the dynamic section is unreadable");
		return -1;
	}
	elf_dyn *d = xcalloc((size_t)count + 1, sizeof *d);
	size_t k = 0;
	int w = (int)ent / 2;
	for (; k < count; k++) {
		uint64_t tag = get(e, buf + k * ent, w);
		d[k].tag = e->bits == 64 ? (int64_t)tag : (int64_t)(int32_t)tag;
		d[k].val = get(e, buf + k * ent + (size_t)w, w);
		if (d[k].tag == DT_NULL)
			break;
	}
	free(buf);
	*out = d;
	*n = k;
	return 0;
}

bool elf_dyn_find(const elf_dyn *d, size_t n, int64_t tag, uint64_t *val)
{
	for (size_t i = 0; i < n; i++)
		if (d[i].tag == tag) {
			*val = d[i].val;
			return true;
		}
	return false;
}

uint64_t elf_dyn_ptr(const elf_image *e, uint64_t v)
{
	uint64_t lo, hi;
	if (!e->in_memory || e->bias == 0 || !elf_load_extent(e, &lo, &hi))
		return v;
	if (v >= e->bias && v - e->bias >= lo && v - e->bias < hi)
		return v - e->bias;
	return v;
}

const char *elf_dyn_tag_name(int64_t tag)
{
	switch (tag) {
	case DT_NULL: return "NULL";
	case DT_NEEDED: return "NEEDED";
	case DT_PLTRELSZ: return "PLTRELSZ";
	case DT_PLTGOT: return "PLTGOT";
	case DT_HASH: return "HASH";
	case DT_STRTAB: return "STRTAB";
	case DT_SYMTAB: return "SYMTAB";
	case DT_RELA: return "RELA";
	case DT_RELASZ: return "RELASZ";
	case DT_RELAENT: return "RELAENT";
	case DT_STRSZ: return "STRSZ";
	case DT_SYMENT: return "SYMENT";
	case DT_INIT: return "INIT";
	case DT_FINI: return "FINI";
	case DT_SONAME: return "SONAME";
	case DT_RPATH: return "RPATH";
	case DT_SYMBOLIC: return "SYMBOLIC";
	case DT_REL: return "REL";
	case DT_RELSZ: return "RELSZ";
	case DT_RELENT: return "RELENT";
	case DT_PLTREL: return "PLTREL";
	case DT_DEBUG: return "DEBUG";
	case DT_TEXTREL: return "TEXTREL";
	case DT_JMPREL: return "JMPREL";
	case DT_BIND_NOW: return "BIND_NOW";
	case DT_INIT_ARRAY: return "INIT_ARRAY";
	case DT_FINI_ARRAY: return "FINI_ARRAY";
	case DT_INIT_ARRAYSZ: return "INIT_ARRAYSZ";
	case DT_FINI_ARRAYSZ: return "FINI_ARRAYSZ";
	case DT_RUNPATH: return "RUNPATH";
	case DT_FLAGS: return "FLAGS";
	case DT_PREINIT_ARRAY: return "PREINIT_ARRAY";
	case DT_PREINIT_ARRAYSZ: return "PREINIT_ARRAYSZ";
	case DT_SYMTAB_SHNDX: return "SYMTAB_SHNDX";
	case DT_RELRSZ: return "RELRSZ";
	case DT_RELR: return "RELR";
	case DT_RELRENT: return "RELRENT";
	case DT_GNU_HASH: return "GNU_HASH";
	case DT_VERSYM: return "VERSYM";
	case DT_RELACOUNT: return "RELACOUNT";
	case DT_RELCOUNT: return "RELCOUNT";
	case DT_FLAGS_1: return "FLAGS_1";
	case DT_VERDEF: return "VERDEF";
	case DT_VERDEFNUM: return "VERDEFNUM";
	case DT_VERNEED: return "VERNEED";
	case DT_VERNEEDNUM: return "VERNEEDNUM";
	default: return "OTHER";
	}
}

/* ---- symbols ---- */

static void decode_sym(const elf_image *e, const uint8_t *p, elf_sym *s)
{
	uint8_t info, other;
	if (e->bits == 64) {
		s->name = (uint32_t)get(e, p, 4);
		info = p[4];
		other = p[5];
		s->shndx = (uint16_t)get(e, p + 6, 2);
		s->value = get(e, p + 8, 8);
		s->size = get(e, p + 16, 8);
	} else {
		s->name = (uint32_t)get(e, p, 4);
		s->value = get(e, p + 4, 4);
		s->size = get(e, p + 8, 4);
		info = p[12];
		other = p[13];
		s->shndx = (uint16_t)get(e, p + 14, 2);
	}
	s->type = info & 0xf;
	s->bind = info >> 4;
	s->visibility = other & 3;
}

static int fill(const elf_image *e, const uint8_t *buf, size_t count, size_t entsize,
		char *strtab, size_t strsz, elf_symtab *out)
{
	out->syms = xcalloc(count ? count : 1, sizeof *out->syms);
	out->n = count;
	for (size_t i = 0; i < count; i++)
		decode_sym(e, buf + i * entsize, &out->syms[i]);
	out->strtab = strtab;
	out->strsz = strsz;
	return 0;
}

static char *read_strtab(const elf_image *e, uint64_t where, uint64_t size, bool by_vaddr)
{
	if (size == 0 || size > MAX_STRTAB)
		return NULL;
	char *s = xmalloc((size_t)size + 1);
	int rc = by_vaddr ? elf_read_vaddr(e, where, s, (size_t)size)
			  : elf_read_offset(e, where, s, (size_t)size);
	if (rc < 0) {
		free(s);
		return NULL;
	}
	s[size] = 0;
	return s;
}

/* a SHT_SYMTAB or SHT_DYNSYM section and its string table, undecoded */
int elf_rawsyms_read(const elf_image *e, const elf_shdr *sec, elf_rawsyms *out)
{
	memset(out, 0, sizeof *out);
	size_t entsize = e->bits == 64 ? 24 : 16;
	if (sec->type == SHT_NOBITS || sec->size == 0) {
		vm_seterr("empty symbol table");
		return -1;
	}
	if (sec->entsize && sec->entsize < entsize) {
		vm_seterr("symbol entry size %llu is too small", (unsigned long long)sec->entsize);
		return -1;
	}
	if (sec->entsize > 256) {
		vm_seterr("symbol entry size %llu is absurd", (unsigned long long)sec->entsize);
		return -1;
	}
	if (sec->entsize > entsize)
		entsize = (size_t)sec->entsize;
	uint64_t count = sec->size / entsize;
	if (count > MAX_SYMS || (!e->in_memory && sec->size > e->r.size)) {
		vm_seterr("symbol table too large");
		return -1;
	}
	if (sec->link >= e->nsh) {
		vm_seterr("symbol table has no string table");
		return -1;
	}
	const elf_shdr *str = &e->sh[sec->link];
	char *strtab = read_strtab(e, str->offset, str->size, false);
	if (!strtab) {
		vm_seterr("the symbol string table is unreadable");
		return -1;
	}
	uint8_t *buf = xmalloc((size_t)(count * entsize) + 1);
	if (elf_read_offset(e, sec->offset, buf, (size_t)(count * entsize)) < 0) {
		free(buf);
		free(strtab);
		vm_seterr("the symbol table is unreadable");
		return -1;
	}
	*out = (elf_rawsyms){ .raw = buf, .count = (size_t)count, .entsize = entsize, .strtab = strtab,
			      .strsz = (size_t)str->size, .bits = e->bits, .big_endian = e->big_endian };
	/* the GNU hash section that indexes this table, if any */
	size_t self = (size_t)(sec - e->sh);
	for (size_t i = 0; i < e->nsh && self < e->nsh; i++) {
		const elf_shdr *h = &e->sh[i];
		if (h->type != SHT_GNU_HASH || h->link != self || h->size < 16 || h->size > (64u << 20) ||
		    (!e->in_memory && h->size > e->r.size))
			continue;
		out->gnu_hash = xmalloc((size_t)h->size);
		if (elf_read_offset(e, h->offset, out->gnu_hash, (size_t)h->size) == 0) {
			out->gnu_hash_size = (size_t)h->size;
		} else {
			free(out->gnu_hash);
			out->gnu_hash = NULL;
		}
		break;
	}
	/* its versions: which of the globals of one name are hidden */
	for (size_t i = 0; i < e->nsh && self < e->nsh; i++) {
		const elf_shdr *v = &e->sh[i];
		if (v->type != SHT_GNU_versym || v->link != self || v->size / 2 < count ||
		    v->size > (uint64_t)count * 2 + 16 || (!e->in_memory && v->size > e->r.size))
			continue;
		out->versym = xmalloc((size_t)count * 2);
		if (elf_read_offset(e, v->offset, out->versym, (size_t)count * 2) == 0) {
			out->nversym = (size_t)count;
		} else {
			free(out->versym);
			out->versym = NULL;
		}
		break;
	}
	return 0;
}

void elf_rawsyms_free(elf_rawsyms *t)
{
	free(t->raw);
	free(t->strtab);
	free(t->gnu_hash);
	free(t->versym);
	memset(t, 0, sizeof *t);
}

static bool raw_match(const elf_rawsyms *t, const elf_image *cfg, size_t i, const char *name,
		      unsigned how, elf_sym *out)
{
	const uint8_t *p = t->raw + i * t->entsize;
	uint32_t off = (uint32_t)get(cfg, p, 4);
	if (off >= t->strsz || t->strtab[off] != name[0] || strcmp(t->strtab + off, name) != 0)
		return false;
	elf_sym s;
	decode_sym(cfg, p, &s);
	if (s.shndx == SHN_UNDEF || s.shndx == SHN_ABS || s.type == STT_SECTION || s.type == STT_FILE ||
	    (s.type == STT_TLS) != !!(how & ELF_FIND_TLS) || ((how & ELF_FIND_GLOBAL) && s.bind == STB_LOCAL))
		return false;
	*out = s;
	return true;
}

/* symbol i is a hidden version (versym's bit 15): "name@VER", not the
 * one a plain NAME binds to */
static bool raw_hidden(const elf_rawsyms *t, const elf_image *cfg, size_t i)
{
	return t->versym && i < t->nversym && (get(cfg, t->versym + i * 2, 2) & 0x8000);
}

/* DT_GNU_HASH lookup: the bucket of the name's hash, then its chain
 * while the stored hashes (low bit: last of the chain) may match; a
 * hidden version only when the chain has no other */
static int gnu_hash_find(const elf_rawsyms *t, const elf_image *cfg, const char *name, unsigned how,
			 elf_sym *out)
{
	const uint8_t *h = t->gnu_hash;
	uint32_t nbuckets = (uint32_t)get(cfg, h, 4), symoffset = (uint32_t)get(cfg, h + 4, 4);
	uint32_t bloom = (uint32_t)get(cfg, h + 8, 4);
	uint64_t buckets = 16 + (uint64_t)bloom * (uint64_t)(t->bits / 8);
	uint64_t chains = buckets + (uint64_t)nbuckets * 4;
	if (nbuckets == 0 || chains > t->gnu_hash_size)
		return -1; /* damaged: let the caller scan */
	uint32_t hash = 5381;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		hash = hash * 33 + *c;
	uint32_t idx = (uint32_t)get(cfg, h + buckets + (uint64_t)(hash % nbuckets) * 4, 4);
	if (idx < symoffset)
		return 0;
	bool hidden = false;
	elf_sym s;
	for (; idx < t->count; idx++) {
		uint64_t at = chains + (uint64_t)(idx - symoffset) * 4;
		if (at + 4 > t->gnu_hash_size)
			return -1;
		uint32_t ch = (uint32_t)get(cfg, h + at, 4);
		if ((ch | 1) == (hash | 1) && raw_match(t, cfg, idx, name, how, &s)) {
			if (!raw_hidden(t, cfg, idx)) {
				*out = s;
				return 1;
			}
			if (!hidden)
				*out = s;
			hidden = true;
		}
		if (ch & 1)
			return hidden;
	}
	return -1;
}

bool elf_rawsyms_find(const elf_rawsyms *t, const char *name, unsigned how, elf_sym *out)
{
	if (!name[0])
		return false;
	elf_image cfg = { .bits = t->bits, .big_endian = t->big_endian };
	/* the hash holds the table's globals; locals need the scan */
	if (t->gnu_hash) {
		int r = gnu_hash_find(t, &cfg, name, how | ELF_FIND_GLOBAL, out);
		if (r == 1 || (r == 0 && (how & ELF_FIND_GLOBAL)))
			return r == 1;
	}
	int best = 0; /* 3 a global, 2 a hidden global, 1 a local */
	for (size_t i = 0; i < t->count; i++) {
		/* the first letter of the name, before anything is decoded */
		uint32_t off = (uint32_t)get(&cfg, t->raw + i * t->entsize, 4);
		elf_sym s;
		if (off >= t->strsz || t->strtab[off] != name[0] || !raw_match(t, &cfg, i, name, how, &s))
			continue;
		int rank = s.bind == STB_LOCAL ? 1 : raw_hidden(t, &cfg, i) ? 2 : 3;
		if (rank == 3) {
			*out = s;
			return true;
		}
		if (rank > best) /* a better one may still come */
			*out = s;
		if (rank > best)
			best = rank;
	}
	return best > 0;
}

int elf_read_symtab(const elf_image *e, const elf_shdr *sec, elf_symtab *out)
{
	elf_rawsyms raw;
	memset(out, 0, sizeof *out);
	if (elf_rawsyms_read(e, sec, &raw) < 0)
		return -1;
	fill(e, raw.raw, raw.count, raw.entsize, raw.strtab, raw.strsz, out);
	raw.strtab = NULL; /* now the symtab's */
	elf_rawsyms_free(&raw);
	return 0;
}

/* DT_GNU_HASH: the highest symbol index in the buckets, then along its
 * chain to the entry marked last */
static bool gnu_hash_count(const elf_image *e, uint64_t at, uint64_t *count, uint64_t *bytes)
{
	uint8_t h[16];
	if (elf_read_vaddr(e, at, h, 16) < 0)
		return false;
	uint32_t nbuckets = (uint32_t)get(e, h, 4), symoffset = (uint32_t)get(e, h + 4, 4);
	uint32_t bloom = (uint32_t)get(e, h + 8, 4);
	if (nbuckets == 0 || nbuckets > (1u << 24) || bloom > (1u << 24))
		return false;
	uint64_t buckets = at + 16 + (uint64_t)bloom * (uint64_t)(e->bits / 8);
	uint8_t *raw = xmalloc((size_t)nbuckets * 4);
	if (elf_read_vaddr(e, buckets, raw, (size_t)nbuckets * 4) < 0) {
		free(raw);
		return false;
	}
	uint32_t max = 0;
	for (uint32_t i = 0; i < nbuckets; i++) {
		uint32_t v = (uint32_t)get(e, raw + 4 * (size_t)i, 4);
		if (v > max)
			max = v;
	}
	free(raw);
	uint64_t chains = buckets + (uint64_t)nbuckets * 4;
	if (max < symoffset) {
		*count = symoffset;
		*bytes = chains - at;
		return true;
	}
	for (uint32_t idx = max; idx - max < MAX_SYMS; idx++) {
		uint8_t c[4];
		if (elf_read_vaddr(e, chains + (uint64_t)(idx - symoffset) * 4, c, 4) < 0)
			return false;
		if (get(e, c, 4) & 1) {
			*count = (uint64_t)idx + 1;
			*bytes = chains + (uint64_t)(idx - symoffset + 1) * 4 - at;
			return true;
		}
	}
	return false;
}

bool elf_dynsym_count(const elf_image *e, const elf_dyn *d, size_t nd, uint64_t *count,
		      uint64_t *hash_bytes)
{
	uint64_t v, bytes = 0;
	*count = 0;
	if (elf_dyn_find(d, nd, DT_GNU_HASH, &v) && gnu_hash_count(e, elf_dyn_ptr(e, v), count, &bytes)) {
		if (hash_bytes)
			*hash_bytes = bytes;
		return *count > 0 && *count <= MAX_SYMS;
	}
	if (elf_dyn_find(d, nd, DT_HASH, &v)) {
		uint8_t h[8];
		if (elf_read_vaddr(e, elf_dyn_ptr(e, v), h, 8) == 0) {
			uint64_t nbucket = get(e, h, 4);
			*count = get(e, h + 4, 4); /* nchain: one per symbol */
			if (hash_bytes)
				*hash_bytes = (2 + nbucket + *count) * 4;
		}
	}
	return *count > 0 && *count <= MAX_SYMS;
}

int elf_read_dynsym(const elf_image *e, const elf_dyn *d, size_t nd, elf_symtab *out)
{
	memset(out, 0, sizeof *out);
	uint64_t symtab, strtab, strsz, count = 0, v;
	size_t entsize = e->bits == 64 ? 24 : 16;
	if (!elf_dyn_find(d, nd, DT_SYMTAB, &symtab) || !elf_dyn_find(d, nd, DT_STRTAB, &strtab) ||
	    !elf_dyn_find(d, nd, DT_STRSZ, &strsz)) {
		vm_seterr("no dynamic symbol table");
		return -1;
	}
	symtab = elf_dyn_ptr(e, symtab);
	strtab = elf_dyn_ptr(e, strtab);
	if (elf_dyn_find(d, nd, DT_SYMENT, &v) && v > entsize && v < 256)
		entsize = (size_t)v;
	if (!elf_dynsym_count(e, d, nd, &count, NULL)) {
		vm_seterr("cannot count the dynamic symbols");
		return -1;
	}
	char *str = read_strtab(e, strtab, strsz, true);
	if (!str) {
		vm_seterr("the dynamic string table is unreadable");
		return -1;
	}
	uint8_t *buf = xmalloc((size_t)(count * entsize));
	if (elf_read_vaddr(e, symtab, buf, (size_t)(count * entsize)) < 0) {
		free(buf);
		free(str);
		vm_seterr("the dynamic symbol table is unreadable");
		return -1;
	}
	fill(e, buf, (size_t)count, entsize, str, (size_t)strsz, out);
	free(buf);
	return 0;
}

void elf_symtab_free(elf_symtab *t)
{
	free(t->syms);
	free(t->strtab);
	memset(t, 0, sizeof *t);
}

const char *elf_sym_name(const elf_symtab *t, const elf_sym *s)
{
	return s->name < t->strsz ? t->strtab + s->name : "";
}

const char *elf_sym_type_name(uint8_t type)
{
	switch (type) {
	case STT_NOTYPE: return "notype";
	case STT_OBJECT: return "object";
	case STT_FUNC: return "func";
	case STT_SECTION: return "section";
	case STT_FILE: return "file";
	case STT_COMMON: return "common";
	case STT_TLS: return "tls";
	case STT_GNU_IFUNC: return "ifunc";
	default: return "other";
	}
}

const char *elf_sym_bind_name(uint8_t bind)
{
	switch (bind) {
	case STB_LOCAL: return "local";
	case STB_GLOBAL: return "global";
	case STB_WEAK: return "weak";
	case STB_GNU_UNIQUE: return "unique";
	default: return "other";
	}
}

/* ---- symbol versions (.gnu.version against .gnu.version_d) ---- */

char **elf_dynsym_versions(const elf_image *e, const elf_shdr *dynsym, size_t nsyms)
{
	size_t dynidx = (size_t)(dynsym - e->sh);
	const elf_shdr *vs = NULL;
	if (dynidx >= e->nsh || nsyms == 0 || nsyms > MAX_SYMS)
		return NULL;
	for (size_t i = 0; i < e->nsh; i++)
		if (e->sh[i].type == SHT_GNU_versym && e->sh[i].link == dynidx)
			vs = &e->sh[i];
	if (!vs || vs->type == SHT_NOBITS || vs->size / 2 < nsyms)
		return NULL;
	elf_versions v;
	elf_read_versions(e, &v);
	uint8_t *sym = NULL;
	char **out = NULL;
	if (v.ndef) {
		sym = xmalloc(nsyms * 2);
		if (elf_read_offset(e, vs->offset, sym, nsyms * 2) < 0)
			goto done;
		out = xcalloc(nsyms, sizeof *out);
		for (size_t i = 0; i < nsyms; i++) {
			unsigned x = (unsigned)get(e, sym + 2 * i, 2), ndx = x & 0x7fff;
			/* 0 local, 1 global: no version; VER_FLG_BASE (1) names the
			 * file itself, not a version */
			if (ndx <= 1)
				continue;
			for (size_t k = 0; k < v.ndef; k++)
				if (v.def[k].index == ndx && !(v.def[k].flags & 1)) {
					out[i] = xasprintf("%s%s", (x & 0x8000) ? "@" : "@@", v.def[k].name);
					break;
				}
		}
	}
done:
	free(sym);
	elf_versions_free(&v);
	return out;
}

void elf_dynsym_versions_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}
