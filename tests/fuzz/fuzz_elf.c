/* libFuzzer harness: the ELF parser, from a file and as loaded in memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmatlas/elf.h"

static void exercise(elf_image *e)
{
	uint64_t lo, hi;
	elf_load_extent(e, &lo, &hi);
	uint8_t id[64], buf[64];
	size_t idlen;
	elf_build_id(e, id, sizeof id, &idlen);
	if (elf_load_sections(e) == 0) {
		elf_section_by_name(e, ".text");
		elf_note *nt;
		size_t nn;
		elf_read_notes(e, &nt, &nn);
		elf_notes_free(nt, nn);
		elf_versions v;
		elf_read_versions(e, &v);
		elf_versions_free(&v);
		for (size_t i = 0; i < e->nsh && i < 64; i++) {
			elf_reloc *r;
			if (elf_read_relocs(e, &e->sh[i], &r, &nn) == 0)
				free(r);
		}
		for (size_t i = 0; i < e->nsh && i < 64; i++) {
			elf_read_offset(e, e->sh[i].offset, buf, sizeof buf);
			elf_symtab st;
			if ((e->sh[i].type == 2 || e->sh[i].type == 11) && elf_read_symtab(e, &e->sh[i], &st) == 0) {
				for (size_t k = 0; k < st.n; k++)
					elf_sym_name(&st, &st.syms[k]);
				elf_symtab_free(&st);
			}
			elf_rawsyms rs;
			if ((e->sh[i].type == 2 || e->sh[i].type == 11) && elf_rawsyms_read(e, &e->sh[i], &rs) == 0) {
				elf_sym s;
				elf_rawsyms_find(&rs, "main_arena", ELF_FIND_GLOBAL, &s);
				elf_rawsyms_find(&rs, "a", 0, &s);
				elf_rawsyms_find(&rs, "tcache", ELF_FIND_TLS, &s);
				elf_rawsyms_free(&rs);
			}
		}
	}
	elf_dyn *d;
	size_t nd;
	if (elf_read_dynamic(e, &d, &nd) == 0) {
		uint64_t count, bytes;
		elf_dynsym_count(e, d, nd, &count, &bytes);
		elf_symtab st;
		if (elf_read_dynsym(e, d, nd, &st) == 0) {
			for (size_t k = 0; k < st.n; k++)
				elf_sym_name(&st, &st.syms[k]);
			elf_symtab_free(&st);
		}
		free(d);
	}
	for (size_t i = 0; i < e->nph && i < 64; i++)
		elf_read_vaddr(e, e->ph[i].vaddr, buf, sizeof buf);
}

/* memory: the input is mapped at a high address, everything else unreadable */
typedef struct at {
	const uint8_t *p;
	size_t n;
	uint64_t base;
} at;

static ssize_t at_read(const vm_reader *r, uint64_t off, void *buf, size_t len)
{
	const at *a = r->ctx;
	if (off < a->base || off - a->base >= a->n)
		return 0;
	size_t o = (size_t)(off - a->base), k = a->n - o < len ? a->n - o : len;
	memcpy(buf, a->p + o, k);
	return (ssize_t)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	elf_image e;
	vm_reader r = vm_reader_mem(data, size);
	if (elf_open(&e, &r, false, 0, 4096) == 0) {
		exercise(&e);
		elf_close(&e);
	}
	at a = { data, size, 0x7f0000000000ull };
	vm_reader m = { at_read, &a, UINT64_MAX };
	if (elf_open(&e, &m, true, a.base, 4096) == 0) {
		e.linear = size / 2;
		exercise(&e);
		elf_close(&e);
	}
	return 0;
}
