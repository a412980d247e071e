/* Modules a target lists itself (a minidump's module list), and PE
 * images in memory: the headers parsed from memory, their sections and
 * data directories placed on the map as ELF images' are. Sources as for
 * Linux: L listed, R an image header found in memory; so L alone is a
 * listed module the dump holds no header of, R alone an image in memory
 * the list lacks. */
#include "annotate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/pe.h"
#include "vmatlas/win_env.h"

typedef struct at_base {
	vm_target *t;
	uint64_t base;
} at_base;

static ssize_t read_at(const vm_reader *r, uint64_t off, void *buf, size_t len)
{
	const at_base *a = r->ctx;
	uint64_t addr;
	if (add_overflow_u64(a->base, off, &addr))
		return 0;
	return vm_read(a->t, addr, buf, len);
}

static vm_module *module_based(vm_map *m, uint64_t base)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (m->modules[i].base == base)
			return &m->modules[i];
	return NULL;
}

static bool inside_module(const vm_map *m, uint64_t addr)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (range_contains(m->modules[i].base, m->modules[i].size, addr))
			return true;
	return false;
}

/* the module's PE headers from memory, placed; false if there are none */
static bool place_pe(map_builder *b, int modi)
{
	vm_map *m = b->m;
	at_base a = { b->t, m->modules[modi].base };
	vm_reader r = { read_at, &a, UINT32_MAX + 1ull };
	pe_image pe;
	if (pe_open(&pe, &r, true) < 0)
		return false;
	vm_module *mod = &m->modules[modi];
	uint64_t lo = mod->base;
	if (!mod->size)
		mod->size = pe.size_image;
	uint64_t hi = lo + mod->size;
	if (hi < lo)
		hi = UINT64_MAX;
	mod->format = "pe";
	mod->bits = pe.magic == 0x20b ? 64 : 32;
	if (pe.entry_rva)
		mod->entry = lo + pe.entry_rva;
	char detail[96];
	snprintf(detail, sizeof detail, "PE%s %s %s", pe.magic == 0x20b ? "32+" : "32",
		 pe.characteristics & 0x2000 ? "DLL" : "EXE", pe_machine_name(pe.machine));
	if (pe_memory_is_file_layout(&pe)) {
		/* a PE file mapped as data: its sections are not at their RVAs */
		mb_place(b, lo, hi, VM_CK_HEADER, lo, pe.size_headers ? pe.size_headers : 0x400, "PE header",
			 "a PE file mapped as data (file layout, not an image)", modi);
		mod->entry = 0;
		pe_close(&pe);
		return true;
	}
	mb_place(b, lo, hi, VM_CK_HEADER, lo, pe.size_headers ? pe.size_headers : 0x400, "PE header", detail, modi);
	for (size_t i = 0; i < pe.nsec; i++) {
		const pe_section *s = &pe.sec[i];
		char flags[64];
		pe_section_flags(s->flags, flags, sizeof flags);
		mb_place(b, lo, hi, VM_CK_SECTION, lo + s->rva, s->vsize ? s->vsize : s->raw_size, pe_section_name(s),
			 flags, modi);
	}
	for (uint32_t i = 0; i < pe.ndirs && i < PE_NUM_DIRS; i++) {
		const pe_dir *d = &pe.dirs[i];
		/* the security directory holds a file offset, not an address */
		if (!d->rva || !d->size || i == 4)
			continue;
		mb_place(b, lo, hi, VM_CK_DIRECTORY, lo + d->rva, d->size, pe_dir_name((int)i), NULL, modi);
	}
	if (pe.warnings)
		vm_map_warn(m, "%s: %s", mod->name, pe.warnings);
	pe_close(&pe);
	return true;
}

/* the module's regions become one image allocation */
static void claim(map_builder *b, const vm_module *mod)
{
	vm_map *m = b->m;
	int gid = -1;
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if (r->state == VM_STATE_FREE || !ranges_overlap(r->base, r->size, mod->base, mod->size) ||
		    mb_claimed(b, i))
			continue;
		if (gid < 0)
			gid = mb_group_new(b, VM_USAGE_IMAGE, mod->path ? mod->path : mod->name);
		mb_claim(b, i, gid);
		r->type = VM_TYPE_IMAGE;
		if (!r->path && mod->path)
			r->path = xstrdup(mod->path);
	}
}

#define MAX_PROBES (1u << 20)

/* an image header at addr that no module covers: a module found in the
 * region scan */
static void scan_at(map_builder *b, uint64_t addr)
{
	vm_map *m = b->m;
	uint8_t mz[2];
	if (inside_module(m, addr) || vm_read(b->t, addr, mz, 2) != 2 || mz[0] != 'M' || mz[1] != 'Z')
		return;
	const vm_region *r = vm_map_region_at(m, addr);
	vm_module *mod = mb_module_add(b);
	int modi = (int)(m->nmodules - 1);
	mod->base = addr;
	mod->load_bias = addr;
	mod->path = r && r->path && r->base == addr ? xstrdup(r->path) : NULL;
	mod->name = mod->path ? xstrdup(win_path_tail(mod->path)) : xasprintf("image@0x%llx", (unsigned long long)addr);
	mod->format = "pe";
	mod->loader_index = -1;
	mod->sources = VM_SRC_REGIONS;
	if (!place_pe(b, modi)) {
		free(mod->name);
		free(mod->path);
		m->nmodules--;
		return;
	}
	claim(b, &m->modules[modi]);
}

/* the PEB's loader list (PEB.Ldr, load order): a third source, besides
 * the dump's list and the scan; a module it names that neither has is
 * added, with its header placed when memory holds it */
static void peb_loader(map_builder *b)
{
	vm_map *m = b->m;
	vm_win_env e;
	if (vm_win_env_read(m, b->t, &e) < 0) {
		vm_win_env_free(&e);
		return;
	}
	if (e.ldr_note)
		vm_map_warn(m, "%s", e.ldr_note);
	for (size_t i = 0; i < e.nldr; i++) {
		const vm_win_ldr_entry *x = &e.ldr_list[i];
		if (!x->base)
			continue;
		vm_module *mod = module_based(m, x->base);
		if (!mod) {
			mod = mb_module_add(b);
			int modi = (int)(m->nmodules - 1);
			mod->base = x->base;
			mod->load_bias = x->base;
			mod->size = x->size;
			mod->format = "pe";
			mod->bits = m->info.bits;
			mod->loader_index = (int)i;
			if (place_pe(b, modi))
				m->modules[modi].sources |= VM_SRC_REGIONS;
			mod = &m->modules[modi];
			claim(b, mod);
		}
		mod->sources |= VM_SRC_PEB;
		const char *name = x->base_name ? x->base_name : x->full_name ? win_path_tail(x->full_name) : NULL;
		if (x->full_name && !mod->path)
			mod->path = xstrdup(x->full_name);
		if (name && (!mod->name || strncmp(mod->name, "image@", 6) == 0)) {
			free(mod->name);
			mod->name = xstrdup(name);
		}
		if (!mod->name)
			mod->name = xasprintf("image@0x%llx", (unsigned long long)mod->base);
	}
	vm_win_env_free(&e);
}

static bool stamp_of(vm_target *t, uint64_t base, uint32_t *stamp, uint32_t *size)
{
	at_base a = { t, base };
	vm_reader r = { read_at, &a, UINT32_MAX + 1ull };
	pe_image pe;
	if (pe_open(&pe, &r, true) < 0)
		return false;
	*stamp = pe.timestamp;
	*size = pe.size_image;
	pe_close(&pe);
	return true;
}

/* an image only the scan found whose header is that of a listed module
 * (same timestamp and SizeOfImage): the module's file mapped a second
 * time (dbghelp, resource loading): named after it */
static void name_copies(map_builder *b)
{
	vm_map *m = b->m;
	for (size_t i = 0; i < m->nmodules; i++) {
		vm_module *x = &m->modules[i];
		uint32_t ts, sz, ts2, sz2;
		if (x->sources != VM_SRC_REGIONS || strncmp(x->name, "image@", 6) != 0 ||
		    !stamp_of(b->t, x->base, &ts, &sz))
			continue;
		for (size_t k = 0; k < m->nmodules; k++) {
			const vm_module *y = &m->modules[k];
			if (k == i || !(y->sources & (VM_SRC_LOADER | VM_SRC_PEB)) || !stamp_of(b->t, y->base, &ts2, &sz2) ||
			    ts != ts2 || sz != sz2)
				continue;
			free(x->name);
			x->name = xasprintf("%s (its file, mapped again)", y->name);
			x->data_copy = true;
			if (!x->path && y->path)
				x->path = xstrdup(y->path);
			break;
		}
	}
}

void ann_target_modules(map_builder *b)
{
	vm_map *m = b->m;
	vm_target *t = b->t;
	vm_module *v = NULL;
	size_t n = 0;
	if (!(vm_target_caps(t) & VM_CAP_MODULES) || vm_target_modules(t, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		vm_module *have = module_based(m, v[i].base);
		if (have) { /* found in memory already (an ELF image) */
			have->sources |= VM_SRC_LOADER;
			have->loader_index = v[i].loader_index;
			if (!have->path)
				have->path = v[i].path, v[i].path = NULL;
			free(v[i].name);
			free(v[i].path);
			continue;
		}
		vm_module *mod = mb_module_add(b);
		*mod = v[i];
		int modi = (int)(m->nmodules - 1);
		/* listed and found in memory: both sources, as a Linux module
		 * in the loader's list and the region scan */
		if (strcmp(mod->format, "pe") == 0 && place_pe(b, modi))
			m->modules[modi].sources |= VM_SRC_REGIONS;
		claim(b, &m->modules[modi]);
	}
	free(v);
	if (m->info.os != VM_OS_WINDOWS)
		return;
	/* PE images in memory the list does not name: at the start of each
	 * image allocation; where the protection (so the type) is unknown,
	 * at every 64 KiB boundary (where Windows maps images) of memory the
	 * target holds */
	size_t probes = 0;
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (r->state != VM_STATE_COMMIT)
			continue;
		if (r->type == VM_TYPE_IMAGE) {
			if (!(r->win.alloc_base && r->win.alloc_base != r->base))
				scan_at(b, r->base);
			continue;
		}
		if (!(r->flags & VM_RF_PROT_UNKNOWN) || !r->held)
			continue;
		uint64_t end = r->base + r->size;
		for (uint64_t a = (r->base + 0xffff) & ~(uint64_t)0xffff; a >= r->base && a < end && probes < MAX_PROBES;
		     a += 0x10000, probes++)
			scan_at(b, a);
	}
	peb_loader(b);
	name_copies(b);
}
