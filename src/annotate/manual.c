/* Modules registered by hand (NAME_OR_PATH=BASE[,SIZE]), as WinDbg's
 * `.reload name=base,size`: for a module the loader's list does not show
 * and the region scan cannot see (its header is gone or was never
 * mapped), so that its symbols can still be used. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "annotate.h"
#include "base/open_file.h"
#include "base/util.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"
#include "vmatlas/pe.h"

/* a bare name: the path of a mapping or module of that name */
static const char *resolve(const vm_map *m, const char *name)
{
	if (strchr(name, '/'))
		return name;
	for (size_t i = 0; i < m->nmodules; i++)
		if (m->modules[i].path && strcmp(path_tail(m->modules[i].path), name) == 0)
			return m->modules[i].path;
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].path && m->regions[i].path[0] == '/' &&
		    strcmp(path_tail(m->regions[i].path), name) == 0)
			return m->regions[i].path;
	return access(name, R_OK) == 0 ? name : NULL;
}

void ann_manual(map_builder *b)
{
	vm_map *m = b->m;
	for (size_t k = 0; k < b->opt->nmanual; k++) {
		const vm_manual_module *mm = &b->opt->manual[k];
		const char *path = resolve(m, mm->name_or_path);
		if (!path) {
			vm_map_warn(m, "--add-module %s: no such file or mapping", mm->name_or_path);
			continue;
		}
		int fd = open_regular(path);
		if (fd < 0) {
			vm_map_warn(m, "--add-module %s: %s", mm->name_or_path, vm_error());
			continue;
		}
		struct stat sb;
		elf_image e;
		uint64_t lo = 0, hi = 0;
		bool ok = fd >= 0 && fstat(fd, &sb) == 0, pe = false;
		int bits = m->info.bits;
		if (ok) {
			vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
			uint8_t head[2];
			if (vm_reader_full(&r, 0, head, 2) && pe_is_magic(head, 2)) {
				/* a PE image: BASE is its image base, symbols are at RVAs */
				pe_image p;
				ok = pe_open(&p, &r, false) == 0;
				if (ok) {
					pe = true;
					hi = p.size_image;
					bits = p.bits;
					pe_close(&p);
				}
			} else {
				ok = elf_open(&e, &r, false, 0, m->info.page_size) == 0;
				if (ok) {
					ok = elf_load_extent(&e, &lo, &hi);
					elf_close(&e);
				}
			}
		}
		if (fd >= 0)
			close(fd);
		if (!ok) {
			vm_map_warn(m, "--add-module %s: %s is not a readable ELF or PE image", mm->name_or_path,
				    path);
			continue;
		}
		vm_module *mod = NULL;
		for (size_t i = 0; i < m->nmodules; i++)
			if (m->modules[i].base == mm->base)
				mod = &m->modules[i];
		if (!mod) {
			mod = mb_module_add(b);
			mod->name = xstrdup(path_tail(path));
			mod->format = pe ? "pe" : "elf";
			mod->bits = bits;
			mod->base = mm->base;
		}
		/* BASE is where the image's first page went */
		mod->load_bias = mm->base - lo;
		mod->size = mm->size ? mm->size : hi - lo;
		if (!mod->path) {
			mod->path = xstrdup(path);
		} else if (pe && strcmp(mod->path, path) != 0) {
			/* the file given for a listed module (a Windows path the
			 * host cannot open): its symbols come from the file */
			if (!mod->loader_name)
				mod->loader_name = mod->path;
			else
				free(mod->path);
			mod->path = xstrdup(path);
		}
		mod->sources |= VM_SRC_MANUAL;
	}
}
