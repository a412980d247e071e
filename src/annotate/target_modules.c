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
	/* PE images in memory the list does not name */
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (r->type != VM_TYPE_IMAGE || r->state != VM_STATE_COMMIT || (r->win.alloc_base && r->win.alloc_base != r->base) ||
		    inside_module(m, r->base))
			continue;
		uint8_t mz[2];
		if (vm_read(t, r->base, mz, 2) != 2 || mz[0] != 'M' || mz[1] != 'Z')
			continue;
		vm_module *mod = mb_module_add(b);
		int modi = (int)(m->nmodules - 1);
		mod->base = r->base;
		mod->load_bias = r->base;
		mod->path = r->path ? xstrdup(r->path) : NULL;
		mod->name = r->path ? xstrdup(r->path) : xasprintf("image@0x%llx", (unsigned long long)r->base);
		mod->format = "pe";
		mod->sources = VM_SRC_REGIONS;
		if (!place_pe(b, modi)) {
			free(mod->name);
			free(mod->path);
			m->nmodules--;
			continue;
		}
		claim(b, &m->modules[modi]);
	}
}
