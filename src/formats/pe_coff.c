/* The COFF parts of PE images and objects: the symbol table, section
 * relocations; and two things of the file around the image: the Rich
 * header in the DOS stub and the overlay after the last section. */
#include "pe_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int pe_read_symbols(pe_image *pe, pe_symbol **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!pe->symtab_offset || !pe->nsymbols || pe->in_memory)
		return 0;
	uint64_t count = pe->nsymbols;
	if (pe->symtab_offset > pe->file_size || count * 18 > pe->file_size - pe->symtab_offset) {
		uint64_t fit = pe->symtab_offset < pe->file_size ? (pe->file_size - pe->symtab_offset) / 18 : 0;
		pe_warn(pe, "the symbol table (%u records) runs past the end of the file; %llu read", pe->nsymbols,
			(unsigned long long)fit);
		count = fit;
	}
	if (count > PE_MAX_SYMBOLS)
		count = PE_MAX_SYMBOLS;
	if (!count)
		return 0;
	uint8_t *raw = xmalloc((size_t)count * 18);
	if (pe_read_off(pe, pe->symtab_offset, raw, (size_t)count * 18) < 0) {
		free(raw);
		return -1;
	}
	size_t cap = 0;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *r = raw + 18 * i;
		pe_symbol *s = ARRAY_PUSH(*out, *n, cap);
		if (ld_le32(r) == 0) {
			uint32_t off = ld_le32(r + 4);
			if (pe->strtab && off >= 4 && off < pe->strtab_size)
				s->name = xstrndup(pe->strtab + off, pe->strtab_size - off);
			else
				s->name = xstrdup("");
		} else {
			s->name = xstrndup((const char *)r, 8);
		}
		s->value = ld_le32(r + 8);
		s->section = (int16_t)ld_le16(r + 12);
		s->type = ld_le16(r + 14);
		s->storage_class = r[16];
		s->naux = r[17];
		s->index = (uint32_t)i;
		s->aux_file = NULL;
		s->aux_section = false;
		uint64_t naux = s->naux < count - i - 1 ? s->naux : count - i - 1;
		const uint8_t *aux = r + 18;
		if (s->storage_class == 103 && naux) /* FILE: the name fills the aux records */
			s->aux_file = xstrndup((const char *)aux, (size_t)naux * 18);
		else if (s->storage_class == 3 && naux && s->type == 0 && s->value == 0 && s->section > 0) {
			s->aux_section = true; /* a section definition */
			s->sec_length = ld_le32(aux);
			s->sec_nrelocs = ld_le16(aux + 4);
			s->sec_nlines = ld_le16(aux + 6);
			s->sec_checksum = ld_le32(aux + 8);
			s->sec_number = ld_le16(aux + 12);
			s->sec_selection = aux[14];
		}
		i += s->naux; /* its aux records are not symbols */
	}
	free(raw);
	return 0;
}

void pe_symbols_free(pe_symbol *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		free(s[i].aux_file);
	}
	free(s);
}

int pe_read_section_relocs(pe_image *pe, const pe_section *s, pe_coff_reloc **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	uint32_t count = s->nrelocs;
	uint64_t at = s->reloc_offset;
	if (!count || !at || pe->in_memory)
		return 0;
	if ((s->flags & 0x01000000u) && count == 0xffff) {
		/* LNK_NRELOC_OVFL: the true count is in the first record */
		uint8_t r[10];
		if (pe_read_off(pe, at, r, 10) < 0)
			return -1;
		count = ld_le32(r);
		at += 10;
		if (count)
			count--;
	}
	if (at > pe->file_size || (uint64_t)count * 10 > pe->file_size - at) {
		pe_warn(pe, "section %s: its relocations run past the end of the file", pe_section_name(s));
		count = at < pe->file_size ? (uint32_t)((pe->file_size - at) / 10) : 0;
	}
	if (!count)
		return 0;
	uint8_t *raw = xmalloc((size_t)count * 10);
	if (pe_read_off(pe, at, raw, (size_t)count * 10) < 0) {
		free(raw);
		return -1;
	}
	*out = xcalloc(count, sizeof **out);
	for (uint32_t i = 0; i < count; i++) {
		(*out)[i].vaddr = ld_le32(raw + 10 * i);
		(*out)[i].symbol = ld_le32(raw + 10 * i + 4);
		(*out)[i].type = ld_le16(raw + 10 * i + 8);
	}
	*n = count;
	free(raw);
	return 0;
}

/* ---- the Rich header ---- */

static uint32_t rol(uint32_t v, unsigned n)
{
	n &= 31;
	return n ? v << n | v >> (32 - n) : v;
}

int pe_read_rich(pe_image *pe, pe_rich *out)
{
	memset(out, 0, sizeof *out);
	if (pe->is_object || pe->lfanew <= 0x80 || pe->lfanew > 4096)
		return 1;
	uint32_t len = pe->lfanew & ~3u;
	uint8_t *stub = xmalloc(len);
	if (pe_read_off(pe, 0, stub, len) < 0) {
		free(stub);
		return 1;
	}
	uint32_t rich = 0;
	for (uint32_t at = 0x80; at + 8 <= len; at += 4)
		if (!memcmp(stub + at, "Rich", 4))
			rich = at;
	if (!rich) {
		free(stub);
		return 1;
	}
	uint32_t key = ld_le32(stub + rich + 4), dans = 0;
	for (uint32_t at = rich; at >= 0x80 && at >= 4; at -= 4)
		if ((ld_le32(stub + at - 4) ^ key) == 0x536e6144u) { /* "DanS" */
			dans = at - 4;
			break;
		}
	if (!dans || rich - dans < 16) {
		free(stub);
		pe_warn(pe, "a Rich signature without its DanS start");
		return -1;
	}
	out->key = key;
	out->offset = dans;
	size_t cap = 0;
	for (uint32_t at = dans + 16; at + 8 <= rich; at += 8) {
		uint32_t id = ld_le32(stub + at) ^ key, count = ld_le32(stub + at + 4) ^ key;
		pe_rich_entry *e = ARRAY_PUSH(out->e, out->n, cap);
		e->product = (uint16_t)(id >> 16);
		e->build = (uint16_t)id;
		e->count = count;
	}
	/* the key is a checksum of the DOS header and stub, and of the entries */
	uint32_t sum = dans;
	for (uint32_t i = 0; i < dans; i++)
		if (i < 0x3c || i > 0x3f)
			sum += rol(stub[i], i);
	for (size_t i = 0; i < out->n; i++)
		sum += rol((uint32_t)out->e[i].product << 16 | out->e[i].build, out->e[i].count);
	out->checksum_ok = sum == key;
	free(stub);
	return 0;
}

/* ---- the overlay ---- */

bool pe_overlay(const pe_image *pe, uint64_t *offset, uint64_t *size)
{
	if (pe->in_memory || pe->file_size == UINT64_MAX)
		return false;
	/* as pefile reckons it: the furthest end of the headers, the raw data
	 * of the sections and the directories, but the certificate table
	 * (which sits in the overlay by design) */
	uint64_t end = (uint64_t)pe->lfanew + 24 + pe->opt_size;
	uint64_t fs = pe->file_size;
	for (size_t i = 0; i < pe->nsec; i++) {
		uint64_t e = (uint64_t)pe->sec[i].raw_offset + pe->sec[i].raw_size;
		if (e <= fs && e > end)
			end = e;
	}
	for (int i = 0; i < PE_NUM_DIRS; i++) {
		pe_dir d;
		uint64_t off;
		if (i == PE_DIR_SECURITY || !pe_dir_get(pe, i, &d) || !pe_rva_to_offset(pe, d.rva, &off))
			continue;
		if (off + d.size <= fs && off + d.size > end)
			end = off + d.size;
	}
	if (end >= fs)
		return false;
	*offset = end;
	*size = fs - end;
	return true;
}
