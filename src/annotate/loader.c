/* The loader's list of modules: r_debug and its link_map chain, found
 * through the executable's DT_DEBUG (or ld.so's _r_debug), read from
 * target memory and merged with the modules the region scan found.
 * A module in one list and not the other is what an unlinked or injected
 * library, or a damaged loader list, looks like. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"
#include "vmatlas/layout.h"

#define AT_PHDR_T 3
#define AT_BASE_T 7
#define AT_ENTRY_T 9
#define MAX_LINK_MAPS 4096
#define MAX_NAME 4096

static vm_module *module_at(vm_map *m, uint64_t addr)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (m->modules[i].size && range_contains(m->modules[i].base, m->modules[i].size, addr))
			return &m->modules[i];
	return NULL;
}

/* the address of r_debug: the executable's DT_DEBUG, else ld.so's _r_debug */
static uint64_t find_r_debug(map_builder *b, const vm_auxv *av, size_t nav)
{
	vm_map *m = b->m;
	uint64_t entry = 0, phdr = 0, interp = 0;
	for (size_t i = 0; i < nav; i++) {
		if (av[i].type == AT_ENTRY_T)
			entry = av[i].value;
		else if (av[i].type == AT_PHDR_T)
			phdr = av[i].value;
		else if (av[i].type == AT_BASE_T)
			interp = av[i].value;
	}
	vm_reader rd = vm_reader_target(b->t);
	vm_module *exe = module_at(m, phdr ? phdr : entry);
	if (exe) {
		elf_image e;
		if (elf_open(&e, &rd, true, exe->base, m->info.page_size) == 0) {
			elf_dyn *d;
			size_t nd;
			uint64_t v = 0;
			if (elf_read_dynamic(&e, &d, &nd) == 0) {
				elf_dyn_find(d, nd, DT_DEBUG, &v);
				free(d);
			}
			elf_close(&e);
			if (v)
				return v;
		}
	}
	/* no DT_DEBUG (e.g. not set yet): ask the dynamic loader itself */
	vm_module *ld = interp ? module_at(m, interp) : NULL;
	if (!ld)
		return 0;
	elf_image e;
	uint64_t addr = 0;
	if (elf_open(&e, &rd, true, ld->base, m->info.page_size) == 0) {
		elf_dyn *d;
		size_t nd;
		elf_symtab st;
		if (elf_read_dynamic(&e, &d, &nd) == 0) {
			if (elf_read_dynsym(&e, d, nd, &st) == 0) {
				for (size_t i = 0; i < st.n; i++)
					if (st.syms[i].shndx && strcmp(elf_sym_name(&st, &st.syms[i]), "_r_debug") == 0)
						addr = st.syms[i].value + e.bias;
				elf_symtab_free(&st);
			}
			free(d);
		}
		elf_close(&e);
	}
	return addr;
}

static vm_module *match(vm_map *m, uint64_t l_addr, uint64_t l_ld, const char *name, bool first,
			uint64_t exe_addr)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (l_ld && m->modules[i].dynamic == l_ld)
			return &m->modules[i];
	if (first && exe_addr)
		return module_at(m, exe_addr);
	for (size_t i = 0; i < m->nmodules; i++) {
		vm_module *mod = &m->modules[i];
		if (mod->load_bias == l_addr && name[0] && strcmp(mod->name, path_tail(name)) == 0)
			return mod;
	}
	return NULL;
}

void ann_loader(map_builder *b)
{
	vm_map *m = b->m;
	if (!(vm_target_caps(b->t) & VM_CAP_AUXV))
		return;
	vm_auxv *av;
	size_t nav;
	if (vm_target_auxv(b->t, &av, &nav) < 0) {
		vm_map_warn(m, "the loader's module list: %s", vm_error());
		return;
	}
	uint64_t exe_addr = 0;
	for (size_t i = 0; i < nav; i++)
		if (av[i].type == AT_ENTRY_T)
			exe_addr = av[i].value;
	uint64_t rdebug = find_r_debug(b, av, nav);
	free(av);
	if (!rdebug)
		return; /* static programs have no loader list */

	vm_reader rd = vm_reader_target(b->t);
	size_t w = m->info.bits == 32 ? 4 : 8;
	vm_layout rl, ll;
	vm_layout_get(&rl, "r_debug", m->info.bits, 0);
	vm_layout_get(&ll, "link_map", m->info.bits, 0);
	uint64_t o_addr = vm_layout_off(&ll, "l_addr"), o_name = vm_layout_off(&ll, "l_name");
	uint64_t o_ld = vm_layout_off(&ll, "l_ld"), o_next = vm_layout_off(&ll, "l_next");
	uint64_t lm;
	size_t rdi = mb_find(b, rdebug);
	if (rdi != (size_t)-1)
		vm_region_add_content(&m->regions[rdi], VM_CK_SYSDATA, rdebug, rl.size, "r_debug",
				      "the dynamic loader's debugger interface");
	if (!vm_reader_word(&rd, rdebug + vm_layout_off(&rl, "r_map"), w, &lm)) {
		vm_map_warn(m, "r_debug at 0x%llx is unreadable: no loader list",
			    (unsigned long long)rdebug);
		return;
	}
	uint64_t *seen = NULL;
	size_t nseen = 0, cap = 0;
	for (size_t k = 0; lm; k++) {
		if (k == MAX_LINK_MAPS) {
			vm_map_warn(m, "the loader's list has more than %d entries: cut short", MAX_LINK_MAPS);
			break;
		}
		bool loop = false;
		for (size_t i = 0; i < nseen; i++)
			loop |= seen[i] == lm;
		if (loop) {
			vm_map_warn(m, "the loader's list loops at 0x%llx", (unsigned long long)lm);
			break;
		}
		*ARRAY_PUSH(seen, nseen, cap) = lm;
		uint64_t l_addr, l_name, l_ld, l_next;
		if (!vm_reader_word(&rd, lm + o_addr, w, &l_addr) || !vm_reader_word(&rd, lm + o_name, w, &l_name) ||
		    !vm_reader_word(&rd, lm + o_ld, w, &l_ld) || !vm_reader_word(&rd, lm + o_next, w, &l_next)) {
			vm_map_warn(m, "link_map entry at 0x%llx is unreadable: the loader list is cut short",
				    (unsigned long long)lm);
			break;
		}
		char *name = l_name ? vm_reader_string(&rd, l_name, MAX_NAME - 1) : NULL;
		if (!name)
			name = xstrdup("");
		vm_module *mod = match(m, l_addr, l_ld, name, k == 0, exe_addr);
		if (mod) {
			mod->sources |= VM_SRC_LOADER;
			mod->loader_entry = lm;
			mod->loader_index = (int)k;
			if (name[0] && (!mod->path || strcmp(name, mod->path) != 0))
				mod->loader_name = xstrdup(name);
		} else {
			mod = mb_module_add(b);
			mod->name = xstrdup(name[0] ? path_tail(name) : "[unnamed]");
			mod->path = name[0] == '/' ? xstrdup(name) : NULL;
			mod->base = l_addr;
			mod->load_bias = l_addr;
			mod->dynamic = l_ld;
			mod->format = "elf";
			mod->bits = m->info.bits;
			mod->sources = VM_SRC_LOADER;
			mod->loader_entry = lm;
			mod->loader_index = (int)k;
		}
		/* the entry itself, where the loader allocated it */
		size_t ri = mb_find(b, lm);
		if (ri != (size_t)-1) {
			char what[96];
			snprintf(what, sizeof what, "the loader's entry for %s", mod->name);
			vm_content *c = vm_region_add_content(&m->regions[ri], VM_CK_SYSDATA, lm,
							      ll.size, "link_map", what);
			c->module = (int)(mod - m->modules);
		}
		free(name);
		lm = l_next;
	}
	free(seen);
}
