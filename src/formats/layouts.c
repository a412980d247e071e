/* The structure tables, and where their fields fall. */
#include "vmatlas/layout.h"

#include "layouts_win.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(n, t) { n, VM_F_##t, 1, NULL }
#define A(n, t, c) { n, VM_F_##t, c, NULL }
#define S(n, sub, c) { n, VM_F_STRUCT, c, sub }
#define END { NULL, VM_F_U8, 0, NULL }

/* ---- glibc (<link.h>) ---- */

static const vm_field_desc link_map_f[] = {
	F("l_addr", WORD), F("l_name", CSTR), F("l_ld", PTR), F("l_next", PTR), F("l_prev", PTR), END,
};
static const vm_field_desc r_debug_f[] = {
	F("r_version", I32), F("r_map", PTR), F("r_brk", PTR), F("r_state", I32), F("r_ldbase", PTR), END,
};
static const vm_field_desc malloc_chunk_f[] = {
	F("mchunk_prev_size", WORD), F("mchunk_size", WORD), F("fd", PTR), F("bk", PTR),
	F("fd_nextsize", PTR), F("bk_nextsize", PTR), END,
};

/* ---- ELF ---- */

static const vm_field_desc ehdr64_f[] = {
	A("e_ident", CHARS, 16), F("e_type", U16), F("e_machine", U16), F("e_version", U32),
	F("e_entry", U64), F("e_phoff", U64), F("e_shoff", U64), F("e_flags", U32),
	F("e_ehsize", U16), F("e_phentsize", U16), F("e_phnum", U16), F("e_shentsize", U16),
	F("e_shnum", U16), F("e_shstrndx", U16), END,
};
static const vm_field_desc ehdr32_f[] = {
	A("e_ident", CHARS, 16), F("e_type", U16), F("e_machine", U16), F("e_version", U32),
	F("e_entry", U32), F("e_phoff", U32), F("e_shoff", U32), F("e_flags", U32),
	F("e_ehsize", U16), F("e_phentsize", U16), F("e_phnum", U16), F("e_shentsize", U16),
	F("e_shnum", U16), F("e_shstrndx", U16), END,
};
static const vm_field_desc phdr64_f[] = {
	F("p_type", U32), F("p_flags", U32), F("p_offset", U64), F("p_vaddr", U64),
	F("p_paddr", U64), F("p_filesz", U64), F("p_memsz", U64), F("p_align", U64), END,
};
static const vm_field_desc phdr32_f[] = {
	F("p_type", U32), F("p_offset", U32), F("p_vaddr", U32), F("p_paddr", U32),
	F("p_filesz", U32), F("p_memsz", U32), F("p_flags", U32), F("p_align", U32), END,
};
static const vm_field_desc shdr64_f[] = {
	F("sh_name", U32), F("sh_type", U32), F("sh_flags", U64), F("sh_addr", U64),
	F("sh_offset", U64), F("sh_size", U64), F("sh_link", U32), F("sh_info", U32),
	F("sh_addralign", U64), F("sh_entsize", U64), END,
};
static const vm_field_desc shdr32_f[] = {
	F("sh_name", U32), F("sh_type", U32), F("sh_flags", U32), F("sh_addr", U32),
	F("sh_offset", U32), F("sh_size", U32), F("sh_link", U32), F("sh_info", U32),
	F("sh_addralign", U32), F("sh_entsize", U32), END,
};
static const vm_field_desc dyn_f[] = { F("d_tag", WORD), F("d_val", WORD), END };
static const vm_field_desc sym64_f[] = {
	F("st_name", U32), F("st_info", U8), F("st_other", U8), F("st_shndx", U16),
	F("st_value", U64), F("st_size", U64), END,
};
static const vm_field_desc sym32_f[] = {
	F("st_name", U32), F("st_value", U32), F("st_size", U32), F("st_info", U8),
	F("st_other", U8), F("st_shndx", U16), END,
};

/* ---- glibc malloc's, which change with the version ---- */

enum { MAX_GLIBC_FIELDS = 24 };

static void glibc_fields(const char *name, int bits, int ver, vm_field_desc *out)
{
	size_t n = 0;
#define ADD(nm, t, c) (out[n++] = (vm_field_desc){ nm, VM_F_##t, c, NULL })
	if (!strcmp(name, "malloc_state")) {
		ADD("mutex", I32, 1);
		ADD("flags", I32, 1);
		if (ver >= 227)
			ADD("have_fastchunks", I32, 1);
		/* NFASTBINS = fastbin_index(request2size(80 * SIZE_SZ / 4)) + 1 */
		ADD("fastbinsY", PTR, bits == 64 ? 10 : 11);
		ADD("top", PTR, 1);
		ADD("last_remainder", PTR, 1);
		ADD("bins", PTR, 254); /* NBINS * 2 - 2 */
		ADD("binmap", U32, 4);
		ADD("next", PTR, 1);
		ADD("next_free", PTR, 1);
		ADD("attached_threads", WORD, 1);
		ADD("system_mem", WORD, 1);
		ADD("max_system_mem", WORD, 1);
	} else if (!strcmp(name, "heap_info")) {
		ADD("ar_ptr", PTR, 1);
		ADD("prev", PTR, 1);
		ADD("size", WORD, 1);
		ADD("mprotect_size", WORD, 1);
		if (ver >= 235)
			ADD("pagesize", WORD, 1);
	} else if (!strcmp(name, "malloc_par")) {
		/* mp_: malloc's parameters and counters */
		ADD("trim_threshold", WORD, 1);
		ADD("top_pad", WORD, 1);
		ADD("mmap_threshold", WORD, 1);
		ADD("arena_test", WORD, 1);
		ADD("arena_max", WORD, 1);
		if (ver >= 235) {
			ADD("thp_pagesize", WORD, 1);
			ADD("hp_pagesize", WORD, 1);
			ADD("hp_flags", I32, 1);
		}
		ADD("n_mmaps", I32, 1);
		ADD("n_mmaps_max", I32, 1);
		ADD("max_n_mmaps", I32, 1);
		ADD("no_dyn_threshold", I32, 1);
		ADD("mmapped_mem", WORD, 1);
		ADD("max_mmapped_mem", WORD, 1);
		ADD("sbrk_base", PTR, 1);
		ADD("tcache_bins", WORD, 1);
		ADD("tcache_max_bytes", WORD, 1);
		ADD("tcache_count", WORD, 1);
		ADD("tcache_unsorted_limit", WORD, 1);
	} else if (!strcmp(name, "tcache_perthread_struct")) {
		if (ver >= 230)
			ADD("counts", U16, 64);
		else
			ADD("counts", U8, 64);
		ADD("entries", PTR, 64);
	}
#undef ADD
	out[n] = (vm_field_desc)END;
}

/* ---- the catalogue ---- */

typedef struct entry {
	const char *name;
	const vm_field_desc *f32, *f64; /* NULL: glibc_fields() */
	uint64_t full32, full64;        /* sizeof the whole, where the table lists a head */
	bool msvc;                      /* 8-byte members 8-aligned on x86 too */
	int fixed_bits;                 /* 32: one word size whatever the target's (WoW64) */
} entry;

static const entry catalogue[] = {
	{ "link_map", link_map_f, link_map_f, 0, 0, false, 0 },
	{ "r_debug", r_debug_f, r_debug_f, 0, 0, false, 0 },
	{ "malloc_chunk", malloc_chunk_f, malloc_chunk_f, 0, 0, false, 0 },
	{ "malloc_state", NULL, NULL, 0, 0, false, 0 },
	{ "heap_info", NULL, NULL, 0, 0, false, 0 },
	{ "tcache_perthread_struct", NULL, NULL, 0, 0, false, 0 },
	{ "malloc_par", NULL, NULL, 0, 0, false, 0 },
	{ "ehdr", ehdr32_f, ehdr64_f, 0, 0, false, 0 },
	{ "phdr", phdr32_f, phdr64_f, 0, 0, false, 0 },
	{ "shdr", shdr32_f, shdr64_f, 0, 0, false, 0 },
	{ "dyn", dyn_f, dyn_f, 0, 0, false, 0 },
	{ "sym", sym32_f, sym64_f, 0, 0, false, 0 },
	{ "peb", win_peb32_f, win_peb64_f, 0, 0, true, 0 },
	{ "teb", win_teb32_f, win_teb64_f, 0, 0, true, 0 },
	/* a WoW64 process's own 32-bit PEB and TEB, in a 64-bit dump */
	{ "peb32", win_peb32_f, win_peb32_f, 0, 0, true, 32 },
	{ "teb32", win_teb32_f, win_teb32_f, 0, 0, true, 32 },
	{ "process_parameters", win_process_parameters_f, win_process_parameters_f, 0x2a0, 0x410, true, 0 },
	{ "peb_ldr_data", win_peb_ldr_data_f, win_peb_ldr_data_f, 0, 0, true, 0 },
	{ "ldr_data_table_entry", win_ldr_data_table_entry_f, win_ldr_data_table_entry_f, 0, 0, true, 0 },
	{ "kuser_shared_data", win_kuser_shared_data_f, win_kuser_shared_data_f, 0, 0, true, 0 },
};

const char *vm_layout_name(size_t i)
{
	return i < sizeof catalogue / sizeof catalogue[0] ? catalogue[i].name : NULL;
}

/* ---- placing the fields ---- */

static uint32_t type_size(vm_ftype t, int bits)
{
	switch (t) {
	case VM_F_U8: case VM_F_CHARS: return 1;
	case VM_F_U16: case VM_F_WCHARS: return 2;
	case VM_F_U32: case VM_F_I32: case VM_F_PAD4: return 4;
	case VM_F_U64: return 8;
	case VM_F_ALIGN: case VM_F_STRUCT: return 0; /* not of a type's size */
	default: return bits == 32 ? 4 : 8;
	}
}

/* C alignment: i386's gcc aligns 8-byte members to 4, MSVC to 8 */
static uint32_t type_align(vm_ftype t, int bits, bool msvc)
{
	uint32_t s = type_size(t, bits), w = bits == 32 && !msvc ? 4 : 8;
	if (t == VM_F_ALIGN)
		return bits == 32 ? 4 : 8;
	return s < w ? s : w;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Place fd's fields from offset 0; each goes into out (when out is not
 * NULL). Returns the padded size, and the alignment in *align. The tables
 * are ours and small: nothing here can overflow. */
static uint64_t place(const vm_field_desc *fd, int bits, bool msvc, vm_layout *out, uint32_t *align)
{
	uint64_t off = 0;
	uint32_t maxalign = 1;
	for (; fd->name; fd++) {
		uint32_t sz = type_size(fd->type, bits), al = type_align(fd->type, bits, msvc);
		unsigned count = fd->count ? fd->count : 1;
		if (fd->type == VM_F_STRUCT)
			sz = (uint32_t)place(fd->sub, bits, msvc, NULL, &al);
		if (al > maxalign)
			maxalign = al;
		off = round_up(off, al);
		if (out) {
			if (out->n == VM_LAYOUT_MAX_FIELDS) {
				fprintf(stderr, "vmatlas: layout %s has too many fields\n", out->name);
				abort();
			}
			out->f[out->n++] = (vm_layout_field){ fd->name, fd->type, count, (uint32_t)off, sz };
		}
		off += (uint64_t)sz * count;
	}
	*align = maxalign;
	return round_up(off, maxalign);
}

bool vm_layout_get(vm_layout *out, const char *name, int bits, int glibc_version)
{
	const entry *e = NULL;
	for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++)
		if (!strcmp(catalogue[i].name, name))
			e = &catalogue[i];
	if (!e)
		return false;
	bits = e->fixed_bits ? e->fixed_bits : bits == 32 ? 32 : 64;
	vm_field_desc dyn[MAX_GLIBC_FIELDS];
	const vm_field_desc *fd = bits == 32 ? e->f32 : e->f64;
	if (!fd) {
		glibc_fields(name, bits, glibc_version ? glibc_version : 299, dyn);
		fd = dyn;
	}
	memset(out, 0, sizeof *out);
	out->name = e->name;
	out->bits = bits;
	uint32_t align;
	out->size = place(fd, bits, e->msvc, out, &align);
	uint64_t full = bits == 32 ? e->full32 : e->full64;
	out->full_size = full ? full : out->size;
	return true;
}

const vm_layout_field *vm_layout_field_get(const vm_layout *L, const char *field)
{
	for (size_t i = 0; i < L->n; i++)
		if (!strcmp(L->f[i].name, field))
			return &L->f[i];
	return NULL;
}

uint64_t vm_layout_off(const vm_layout *L, const char *field)
{
	const vm_layout_field *f = vm_layout_field_get(L, field);
	if (!f) {
		fprintf(stderr, "vmatlas: layout %s has no field %s\n", L->name, field);
		abort();
	}
	return f->off;
}
