/* vmatlas image for ELF files: header, segments, sections, dynamic
 * section, symbols, notes; as text or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define SHT_SYMTAB 2
#define SHT_RELA 4
#define SHT_NOTE 7
#define SHT_REL 9
#define SHT_DYNSYM 11
#define SHT_RELR 19

static const char *shflags(uint64_t f, char *buf, size_t n)
{
	static const char letters[] = "WAXxMSILOGTC"; /* readelf's, by bit */
	size_t k = 0;
	for (int i = 0; i < 12 && k + 1 < n; i++)
		if (f >> i & 1 && letters[i] != 'x')
			buf[k++] = letters[i];
	if (f & (1ull << 31) && k + 1 < n)
		buf[k++] = 'E';
	buf[k] = 0;
	return buf;
}

static const char *phflags(uint32_t f, char *buf)
{
	buf[0] = f & 4 ? 'R' : ' ';
	buf[1] = f & 2 ? 'W' : ' ';
	buf[2] = f & 1 ? 'E' : ' ';
	buf[3] = 0;
	return buf;
}

static const char *to_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * n] = 0;
	return out;
}

/* relocations in a section: its size over its entry size */
static uint64_t reloc_count(const elf_shdr *s, int bits)
{
	uint64_t es = s->entsize ? s->entsize : s->type == SHT_RELA ? (bits == 64 ? 24 : 12) : (bits == 64 ? 16 : 8);
	return s->size / es;
}

static void symbols_json(elf_image *e, json_writer *w, bool with_list)
{
	json_key(w, "symtabs");
	json_arr_begin(w);
	for (size_t i = 0; i < e->nsh; i++) {
		if (e->sh[i].type != SHT_SYMTAB && e->sh[i].type != SHT_DYNSYM)
			continue;
		elf_symtab st;
		if (elf_read_symtab(e, &e->sh[i], &st) < 0)
			continue;
		json_obj_begin(w);
		json_kstr(w, "section", e->sh[i].namestr);
		json_ku64(w, "count", st.n);
		if (with_list) {
			json_key(w, "symbols");
			json_arr_begin(w);
			for (size_t k = 0; k < st.n; k++) {
				json_obj_begin(w);
				json_kstr(w, "name", elf_sym_name(&st, &st.syms[k]));
				json_kaddr(w, "value", st.syms[k].value);
				json_ku64(w, "size", st.syms[k].size);
				json_kstr(w, "type", elf_sym_type_name(st.syms[k].type));
				json_kstr(w, "bind", elf_sym_bind_name(st.syms[k].bind));
				json_ku64(w, "shndx", st.syms[k].shndx);
				json_obj_end(w);
			}
			json_arr_end(w);
		}
		json_obj_end(w);
		elf_symtab_free(&st);
	}
	json_arr_end(w);
}

void image_elf_json(elf_image *e, unsigned parts, json_writer *w)
{
	char f[32];
	elf_load_sections(e);
	json_obj_begin(w);
	json_kstr(w, "format", "elf");
	json_ku64(w, "bits", (uint64_t)e->bits);
	json_kstr(w, "endian", e->big_endian ? "big" : "little");
	json_kstr(w, "type", elf_type_name(e->type));
	json_kstr(w, "machine", elf_machine_name(e->machine));
	json_kaddr(w, "entry", e->entry);
	if (parts & PART_HEADERS) {
		json_key(w, "header");
		json_obj_begin(w);
		json_ku64(w, "osabi", e->osabi);
		json_ku64(w, "version", e->version);
		json_ku64(w, "flags", e->flags);
		json_ku64(w, "phoff", e->phoff);
		json_ku64(w, "shoff", e->shoff);
		json_ku64(w, "ehsize", e->ehsize);
		json_ku64(w, "phentsize", e->phentsize);
		json_ku64(w, "phnum", e->phnum);
		json_ku64(w, "shentsize", e->shentsize);
		json_ku64(w, "shnum", e->shnum);
		json_ku64(w, "shstrndx", e->shstrndx);
		json_obj_end(w);
	}
	if (parts & PART_SEGMENTS) {
		json_key(w, "segments");
		json_arr_begin(w);
		for (size_t i = 0; i < e->nph; i++) {
			const elf_phdr *p = &e->ph[i];
			json_obj_begin(w);
			json_kstr(w, "type", elf_phdr_type_name(p->type));
			json_ku64(w, "offset", p->offset);
			json_kaddr(w, "vaddr", p->vaddr);
			json_kaddr(w, "paddr", p->paddr);
			json_ku64(w, "filesz", p->filesz);
			json_ku64(w, "memsz", p->memsz);
			json_kstr(w, "flags", phflags(p->flags, f));
			json_ku64(w, "align", p->align);
			json_obj_end(w);
		}
		json_arr_end(w);
	}
	if (parts & PART_SECTIONS) {
		json_key(w, "sections");
		json_arr_begin(w);
		for (size_t i = 0; i < e->nsh; i++) {
			const elf_shdr *s = &e->sh[i];
			json_obj_begin(w);
			json_kstr(w, "name", s->namestr);
			json_kstr(w, "type", elf_shdr_type_name(s->type));
			json_kaddr(w, "addr", s->addr);
			json_ku64(w, "offset", s->offset);
			json_ku64(w, "size", s->size);
			json_kstr(w, "flags", shflags(s->flags, f, sizeof f));
			json_ku64(w, "link", s->link);
			json_ku64(w, "info", s->info);
			json_ku64(w, "align", s->addralign);
			json_ku64(w, "entsize", s->entsize);
			json_obj_end(w);
		}
		json_arr_end(w);
	}
	if (parts & PART_DYNAMIC) {
		elf_dyn *d;
		size_t nd;
		json_key(w, "dynamic");
		if (elf_read_dynamic(e, &d, &nd) == 0) {
			json_arr_begin(w);
			for (size_t i = 0; i < nd; i++) {
				json_obj_begin(w);
				json_kstr(w, "tag", elf_dyn_tag_name(d[i].tag));
				json_kaddr(w, "value", d[i].val);
				json_obj_end(w);
			}
			json_arr_end(w);
			uint64_t count, bytes;
			json_key(w, "dynsym_count");
			if (elf_dynsym_count(e, d, nd, &count, &bytes))
				json_u64(w, count);
			else
				json_null(w);
			free(d);
		} else {
			json_null(w);
		}
	}
	if (parts & PART_RELOCS) {
		json_key(w, "relocations");
		json_arr_begin(w);
		for (size_t i = 0; i < e->nsh; i++) {
			const elf_shdr *s = &e->sh[i];
			if (s->type != SHT_RELA && s->type != SHT_REL && s->type != SHT_RELR)
				continue;
			json_obj_begin(w);
			json_kstr(w, "section", s->namestr);
			elf_reloc *r;
			size_t n;
			if (elf_read_relocs(e, s, &r, &n) == 0) {
				json_ku64(w, "entries", n);
				json_key(w, "relocs");
				json_arr_begin(w);
				for (size_t k = 0; k < n; k++) {
					json_obj_begin(w);
					json_kaddr(w, "offset", r[k].offset);
					json_ku64(w, "type", r[k].type);
					json_ku64(w, "sym", r[k].sym);
					if (r[k].has_addend)
						json_ki64(w, "addend", r[k].addend);
					json_obj_end(w);
				}
				json_arr_end(w);
				free(r);
			} else {
				json_ku64(w, "entries", reloc_count(s, e->bits));
			}
			json_obj_end(w);
		}
		json_arr_end(w);
	}
	if (parts & PART_VERSIONS) {
		elf_versions v;
		elf_read_versions(e, &v);
		json_key(w, "versions");
		json_obj_begin(w);
		json_key(w, "defined");
		json_arr_begin(w);
		for (size_t i = 0; i < v.ndef; i++) {
			json_obj_begin(w);
			json_ku64(w, "index", v.def[i].index);
			json_kstr(w, "name", v.def[i].name);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_key(w, "needed");
		json_arr_begin(w);
		for (size_t i = 0; i < v.nneed; i++) {
			json_obj_begin(w);
			json_kstr(w, "file", v.need[i].file);
			json_kstr(w, "name", v.need[i].name);
			json_ku64(w, "index", v.need[i].index);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_obj_end(w);
		elf_versions_free(&v);
	}
	if (parts & PART_NOTES) {
		elf_note *nt;
		size_t nn;
		elf_read_notes(e, &nt, &nn);
		json_key(w, "notes");
		json_arr_begin(w);
		for (size_t i = 0; i < nn; i++) {
			char hex[2 * 64 + 1];
			json_obj_begin(w);
			json_kstr(w, "owner", nt[i].owner);
			json_ku64(w, "type", nt[i].type);
			json_ku64(w, "size", nt[i].desc_size);
			json_kstr(w, "where", nt[i].where);
			if (nt[i].desc_len <= 64)
				json_kstr(w, "desc", to_hex(nt[i].desc, nt[i].desc_len, hex));
			json_obj_end(w);
		}
		json_arr_end(w);
		elf_notes_free(nt, nn);
	}
	if (parts & PART_NOTES) {
		uint8_t id[64];
		size_t idlen;
		json_key(w, "build_id");
		if (elf_build_id(e, id, sizeof id, &idlen)) {
			char hex[129];
			for (size_t i = 0; i < idlen; i++)
				snprintf(hex + 2 * i, 3, "%02x", id[i]);
			json_str(w, hex);
		} else {
			json_null(w);
		}
	}
	if (parts & (PART_SYMBOLS | PART_SECTIONS))
		symbols_json(e, w, parts & PART_SYMBOLS);
	json_kstr(w, "warnings", e->warnings);
	json_obj_end(w);
}

void image_elf_text(elf_image *e, unsigned parts)
{
	char f[32];
	elf_load_sections(e);
	if (!parts)
		return;
	printf("ELF%d %s-endian %s, %s\n", e->bits, e->big_endian ? "big" : "little", elf_type_name(e->type),
	       elf_machine_name(e->machine));
	if (parts & PART_HEADERS)
		printf("\nELF header\n  entry 0x%llx, flags 0x%x, %u program headers at 0x%llx, %u section headers at "
		       "0x%llx, names in section %u\n",
		       (unsigned long long)e->entry, e->flags, e->phnum, (unsigned long long)e->phoff, e->shnum,
		       (unsigned long long)e->shoff, e->shstrndx);
	if (parts & PART_SEGMENTS) {
		printf("\nProgram headers\n  %-14s %10s %18s %10s %10s %s %s\n", "Type", "Offset", "VirtAddr", "FileSiz",
		       "MemSiz", "Flg", "Align");
		for (size_t i = 0; i < e->nph; i++) {
			const elf_phdr *p = &e->ph[i];
			printf("  %-14s 0x%08llx 0x%016llx 0x%08llx 0x%08llx %s 0x%llx\n", elf_phdr_type_name(p->type),
			       (unsigned long long)p->offset, (unsigned long long)p->vaddr, (unsigned long long)p->filesz,
			       (unsigned long long)p->memsz, phflags(p->flags, f), (unsigned long long)p->align);
		}
	}
	if (parts & PART_SECTIONS) {
		printf("\nSection headers\n  %-3s %-24s %-14s %18s %10s %10s %s\n", "#", "Name", "Type", "Address",
		       "Offset", "Size", "Flags");
		for (size_t i = 0; i < e->nsh; i++) {
			const elf_shdr *s = &e->sh[i];
			printf("  %-3zu %-24s %-14s 0x%016llx 0x%08llx 0x%08llx %s\n", i, s->namestr,
			       elf_shdr_type_name(s->type), (unsigned long long)s->addr, (unsigned long long)s->offset,
			       (unsigned long long)s->size, shflags(s->flags, f, sizeof f));
		}
	}
	if (parts & PART_DYNAMIC) {
		elf_dyn *d;
		size_t nd;
		if (elf_read_dynamic(e, &d, &nd) == 0) {
			printf("\nDynamic section (%zu entries)\n", nd);
			for (size_t i = 0; i < nd; i++)
				printf("  %-20s 0x%llx\n", elf_dyn_tag_name(d[i].tag), (unsigned long long)d[i].val);
			uint64_t count, bytes;
			if (elf_dynsym_count(e, d, nd, &count, &bytes))
				printf("  %llu dynamic symbols (from the hash table)\n", (unsigned long long)count);
			free(d);
		}
	}
	if (parts & PART_RELOCS) {
		for (size_t i = 0; i < e->nsh; i++) {
			const elf_shdr *s = &e->sh[i];
			if (s->type != SHT_RELA && s->type != SHT_REL && s->type != SHT_RELR)
				continue;
			elf_reloc *r;
			size_t n;
			if (elf_read_relocs(e, s, &r, &n) < 0) {
				printf("\nRelocation section %s: %llu entries\n", s->namestr,
				       (unsigned long long)reloc_count(s, e->bits));
				continue;
			}
			printf("\nRelocation section %s: %zu entries\n", s->namestr, n);
			for (size_t k = 0; k < n; k++) {
				printf("  0x%016llx type %3u sym %6u", (unsigned long long)r[k].offset, r[k].type, r[k].sym);
				if (r[k].has_addend)
					printf(" %+lld", (long long)r[k].addend);
				putchar('\n');
			}
			free(r);
		}
	}
	if (parts & PART_VERSIONS) {
		elf_versions v;
		elf_read_versions(e, &v);
		if (v.ndef || v.nneed)
			printf("\nSymbol versions\n");
		for (size_t i = 0; i < v.ndef; i++)
			printf("  defines %-24s (index %u)\n", v.def[i].name, v.def[i].index);
		for (size_t i = 0; i < v.nneed; i++)
			printf("  needs   %-24s from %s (index %u)\n", v.need[i].name, v.need[i].file, v.need[i].index);
		elf_versions_free(&v);
	}
	if (parts & PART_NOTES) {
		elf_note *nt;
		size_t nn;
		elf_read_notes(e, &nt, &nn);
		if (nn)
			printf("\nNotes\n");
		for (size_t i = 0; i < nn; i++) {
			char hex[2 * 64 + 1];
			printf("  %-24s %-8s type %-4u %5u bytes  %s\n", nt[i].where, nt[i].owner, nt[i].type, nt[i].desc_size,
			       nt[i].desc_len <= 64 ? to_hex(nt[i].desc, nt[i].desc_len, hex) : "");
		}
		elf_notes_free(nt, nn);
	}
	if (parts & PART_NOTES) {
		uint8_t id[64];
		size_t idlen;
		if (elf_build_id(e, id, sizeof id, &idlen)) {
			printf("\nBuild ID: ");
			for (size_t i = 0; i < idlen; i++)
				printf("%02x", id[i]);
			putchar('\n');
		}
	}
	if (parts & (PART_SYMBOLS | PART_SECTIONS)) {
		for (size_t i = 0; i < e->nsh; i++) {
			if (e->sh[i].type != SHT_SYMTAB && e->sh[i].type != SHT_DYNSYM)
				continue;
			elf_symtab st;
			if (elf_read_symtab(e, &e->sh[i], &st) < 0)
				continue;
			printf("\nSymbol table %s: %zu symbols\n", e->sh[i].namestr, st.n);
			for (size_t k = 0; (parts & PART_SYMBOLS) && k < st.n; k++)
				printf("  %6zu 0x%016llx %6llu %-7s %-6s %5u %s\n", k, (unsigned long long)st.syms[k].value,
				       (unsigned long long)st.syms[k].size, elf_sym_type_name(st.syms[k].type),
				       elf_sym_bind_name(st.syms[k].bind), st.syms[k].shndx, elf_sym_name(&st, &st.syms[k]));
			elf_symtab_free(&st);
		}
	}
	if (e->warnings)
		printf("\nwarnings: %s\n", e->warnings);
}
