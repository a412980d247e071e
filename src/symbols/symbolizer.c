/* Address -> module!symbol+offset (file:line), over a map's modules. */
#include "vmatlas/symbols.h"

#include <fcntl.h>
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/open_file.h"
#include "base/util.h"
#include "debugfile.h"
#include "formats/elf_defs.h"
#include "lines.h"
#include "minidebug.h"
#include "native.h"
#include "perfmap.h"
#include "pe_syms.h"
#include "symtab.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"

struct vm_symbolizer {
	const vm_map *m;
	vm_target *t;
	unsigned flags;
	sym_table **slot;  /* per module; NULL until loaded */
	bool *tried;
	sym_table **owned; /* unique tables, shared by build id */
	size_t nowned, ocap;
	vm_export *exports;
	size_t nexports;
	bool exports_built;
	struct name_index *names; /* per module; for lookups by name */
	perfmap *perf;            /* the runtime's names for its JIT code */
	bool perf_tried;
	native_syms *native;      /* the platform's engine (dbghelp), for PE */
	bool native_tried;
};

/* A module's symbol tables as the files hold them, for the few lookups
 * by name (the heap walk's main_arena, libthread_db's symbols) that
 * should not pay for decoding and sorting whole tables. */
typedef struct name_index {
	bool tried;
	bool use_table; /* no file, or compressed symbols: the sorted table */
	elf_rawsyms *t;
	size_t n;
} name_index;

vm_symbolizer *vm_symbolizer_new(const vm_map *m, vm_target *t, unsigned flags)
{
	vm_symbolizer *s = xcalloc(1, sizeof *s);
	s->m = m;
	s->t = t;
	s->flags = flags;
	s->slot = xcalloc(m->nmodules ? m->nmodules : 1, sizeof *s->slot);
	s->tried = xcalloc(m->nmodules ? m->nmodules : 1, sizeof *s->tried);
	s->names = xcalloc(m->nmodules ? m->nmodules : 1, sizeof *s->names);
	return s;
}

void vm_symbolizer_free(vm_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nowned; i++)
		symtab_free(s->owned[i]);
	free(s->owned);
	free(s->slot);
	free(s->tried);
	for (size_t i = 0; i < s->m->nmodules; i++) {
		for (size_t k = 0; k < s->names[i].n; k++)
			elf_rawsyms_free(&s->names[i].t[k]);
		free(s->names[i].t);
	}
	free(s->names);
	free(s->exports);
	perfmap_free(s->perf);
	native_syms_free(s->native);
	free(s);
}

/* ---- loading one module's symbols ---- */

static bool is_pe(const vm_module *mod)
{
	return mod->format && strcmp(mod->format, "pe") == 0;
}

static native_syms *native_of(vm_symbolizer *s)
{
	if (!s->native_tried) {
		s->native_tried = true;
		s->native = native_syms_new(s->m, s->t);
	}
	return s->native;
}

static int open_module_file(vm_symbolizer *s, const vm_module *mod)
{
	/* through a region of the module: the very inode that is mapped */
	if (s->t && (vm_target_caps(s->t) & VM_CAP_BACKING) && mod->path) {
		for (size_t i = 0; i < s->m->nregions; i++) {
			const vm_region *r = &s->m->regions[i];
			if (r->path && strcmp(r->path, mod->path) == 0 &&
			    range_contains(mod->base, mod->size ? mod->size : 1, r->base)) {
				int fd = vm_target_open_backing(s->t, r);
				if (fd >= 0)
					return fd;
				break;
			}
		}
	}
	return mod->path ? open_named_by_target(mod->path) : -1;
}

static bool open_file_image(int fd, elf_image *e)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return false;
	vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
	if (elf_open(e, &r, false, 0, 4096) < 0)
		return false;
	elf_load_sections(e);
	return true;
}

static bool same_build_id(const elf_image *e, const vm_module *mod)
{
	uint8_t id[64];
	size_t n = 0;
	if (!mod->build_id_len)
		return true; /* nothing to compare with */
	return elf_build_id(e, id, sizeof id, &n) && n == mod->build_id_len &&
	       memcmp(id, mod->build_id, n) == 0;
}

static bool has_dwarf(const elf_image *e)
{
	const elf_shdr *sh = elf_section_by_name(e, ".debug_info");
	return sh && sh->type != SHT_NOBITS && sh->size > 0;
}

/* .symtab and .dynsym of an image; true if any */
static bool add_tables(sym_table *t, const elf_image *e, const char *label, bool versions)
{
	bool any = false;
	for (size_t i = 0; i < e->nsh; i++) {
		const elf_shdr *sh = &e->sh[i];
		if (sh->type != SHT_SYMTAB && sh->type != SHT_DYNSYM)
			continue;
		elf_symtab st;
		if (elf_read_symtab(e, sh, &st) < 0)
			continue;
		/* a symbol in a section that is not loaded names no memory
		 * (glibc's __evoke_link_warning_* in .gnu.warning.*, value 0,
		 * named libc's ELF header): left out */
		for (size_t k = 0; k < st.n; k++) {
			elf_sym *y = &st.syms[k];
			if (y->shndx != SHN_UNDEF && y->shndx < 0xff00 && y->shndx < e->nsh &&
			    !(e->sh[y->shndx].flags & SHF_ALLOC))
				y->shndx = SHN_UNDEF;
		}
		char **vers = versions && sh->type == SHT_DYNSYM ? elf_dynsym_versions(e, sh, st.n) : NULL;
		symtab_add_versioned(t, &st, sh->type == SHT_DYNSYM, vers);
		elf_dynsym_versions_free(vers, st.n);
		elf_symtab_free(&st);
		char *what = xasprintf("%s%s", label, sh->type == SHT_DYNSYM ? "dynsym" : "symtab");
		symtab_note_source(t, what);
		free(what);
		any = true;
	}
	return any;
}

static void add_minidebuginfo(sym_table *t, const elf_image *e)
{
	const elf_shdr *sh = elf_section_by_name(e, ".gnu_debugdata");
	if (!sh || sh->type == SHT_NOBITS || sh->size == 0 || sh->size > (64u << 20))
		return;
	uint8_t *xz = xmalloc((size_t)sh->size), *raw;
	size_t n;
	if (elf_read_offset(e, sh->offset, xz, (size_t)sh->size) == 0 &&
	    minidebug_decompress(xz, (size_t)sh->size, &raw, &n)) {
		elf_image inner;
		vm_reader r = vm_reader_mem(raw, n);
		if (elf_open(&inner, &r, false, 0, 4096) == 0) {
			if (elf_load_sections(&inner) == 0)
				add_tables(t, &inner, "minidebuginfo:", false);
			elf_close(&inner);
		}
		free(raw);
	}
	free(xz);
}

/* the debug link: a file name, NUL, padding, CRC */
static char *debuglink(const elf_image *e)
{
	const elf_shdr *sh = elf_section_by_name(e, ".gnu_debuglink");
	if (!sh || sh->type == SHT_NOBITS || sh->size < 2 || sh->size > 4096)
		return NULL;
	char *buf = xmalloc((size_t)sh->size + 1);
	if (elf_read_offset(e, sh->offset, buf, (size_t)sh->size) < 0) {
		free(buf);
		return NULL;
	}
	buf[sh->size] = 0;
	return buf;
}

/* the module's separate debug file (by build id, else its debug link),
 * when its build id matches; its fd in *fdp */
static bool open_debug_image(const elf_image *main, const vm_module *mod, elf_image *e, int *fdp,
			     char **pathp)
{
	char *path = NULL;
	int fd = debugfile_by_build_id(mod->build_id, mod->build_id_len, &path);
	if (fd < 0 && main) {
		char *link = debuglink(main);
		fd = debugfile_by_link(mod->path, link, &path);
		free(link);
	}
	if (fd < 0)
		return false;
	if (open_file_image(fd, e)) {
		if (same_build_id(e, mod)) {
			*fdp = fd;
			*pathp = path;
			return true;
		}
		elf_close(e);
	}
	close(fd);
	free(path);
	return false;
}

static void add_debug_file(sym_table *t, const elf_image *main, const vm_module *mod)
{
	elf_image e;
	int fd;
	char *path;
	if (!open_debug_image(main, mod, &e, &fd, &path))
		return;
	char *label = xasprintf("debug:%s:", path);
	add_tables(t, &e, label, false);
	symtab_add_sections(t, &e); /* when the module's own file is gone */
	free(label);
	if (has_dwarf(&e) && t->dwarf_fd < 0) {
		t->dwarf_fd = fd;
		fd = -1;
	}
	elf_close(&e);
	if (fd >= 0)
		close(fd);
	free(path);
}

/* no file: the dynamic symbols the image carries in memory */
static void add_memory_dynsym(vm_symbolizer *s, sym_table *t, const vm_module *mod)
{
	if (!s->t)
		return;
	vm_reader rd = vm_reader_target(s->t);
	elf_image e;
	if (elf_open(&e, &rd, true, mod->base, s->m->info.page_size) < 0)
		return;
	elf_dyn *d;
	size_t nd;
	if (elf_read_dynamic(&e, &d, &nd) == 0) {
		elf_symtab st;
		if (elf_read_dynsym(&e, d, nd, &st) == 0) {
			symtab_add(t, &st, true);
			elf_symtab_free(&st);
			symtab_note_source(t, "memory:dynsym");
		}
		free(d);
	}
	elf_close(&e);
}

/* the module's own file when it is the very image (build ids agree);
 * *fdp is its fd (or -1), kept open also when the file differs */
static bool open_module_image(vm_symbolizer *s, const vm_module *mod, elf_image *e, int *fdp,
			      bool *differs)
{
	*differs = false;
	*fdp = open_module_file(s, mod);
	if (*fdp < 0 || !open_file_image(*fdp, e))
		return false;
	if (same_build_id(e, mod))
		return true;
	*differs = true;
	elf_close(e);
	return false;
}

static sym_table *load(vm_symbolizer *s, const vm_module *mod)
{
	/* shared by build id: the same library loaded twice, or again */
	if (mod->build_id_len)
		for (size_t i = 0; i < s->nowned; i++)
			if (s->owned[i]->build_id_len == mod->build_id_len &&
			    memcmp(s->owned[i]->build_id, mod->build_id, mod->build_id_len) == 0)
				return s->owned[i];
	sym_table *t = symtab_new();
	memcpy(t->build_id, mod->build_id, mod->build_id_len);
	t->build_id_len = mod->build_id_len;

	if (is_pe(mod)) {
		if (!mod->data_copy)
			pe_syms_load(t, s->t, mod);
		const char *native = native_syms_source(native_of(s), mod);
		if (native)
			symtab_note_source(t, native);
		symtab_finish(t);
		*ARRAY_PUSH(s->owned, s->nowned, s->ocap) = t;
		return t;
	}
	elf_image e;
	int fd;
	bool differs;
	bool have_file = open_module_image(s, mod, &e, &fd, &differs);
	if (differs)
		symtab_note_source(t, "file-differs");
	if (have_file) {
		add_tables(t, &e, "", s->flags & VM_SYM_VERSIONS);
		symtab_add_sections(t, &e);
		symtab_add_plt(t, &e);
		add_minidebuginfo(t, &e);
		if (has_dwarf(&e)) {
			t->dwarf_fd = dup(fd);
		}
	} else {
		add_memory_dynsym(s, t, mod);
	}
	add_debug_file(t, have_file ? &e : NULL, mod);
	if (have_file)
		elf_close(&e);
	if (fd >= 0)
		close(fd);
	symtab_finish(t);
	*ARRAY_PUSH(s->owned, s->nowned, s->ocap) = t;
	return t;
}

static sym_table *table_of(vm_symbolizer *s, const vm_module *mod)
{
	size_t i = (size_t)(mod - s->m->modules);
	if (i >= s->m->nmodules)
		return NULL;
	if (!s->tried[i]) {
		s->tried[i] = true;
		s->slot[i] = load(s, mod);
	}
	return s->slot[i];
}

const char *vm_symbolizer_sources(vm_symbolizer *s, const vm_module *mod)
{
	sym_table *t = table_of(s, mod);
	return t ? t->sources : NULL;
}

/* ---- lookups ---- */

/* Anonymous executable memory is JIT code (or a trampoline): "[jit]",
 * named by the runtime's perf map where it writes one. */
static bool jit_symbol(vm_symbolizer *s, uint64_t addr, vm_symbol_info *out)
{
	const vm_region *r = out->region;
	if (!r || r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_EXEC) || r->type == VM_TYPE_IMAGE ||
	    r->type == VM_TYPE_SPECIAL || (r->path && r->path[0] == '/'))
		return false;
	out->jit = true;
	if (!s->perf_tried) {
		s->perf_tried = true;
		const vm_target_info *in = &s->m->info;
		if (in->kind == VM_TARGET_LINUX_PROCESS && in->pid > 0) {
			char path[96];
			/* in the process's own /tmp (a container's), else ours */
			snprintf(path, sizeof path, "/proc/%lld/root/tmp/perf-%lld.map", (long long)in->pid,
				 (long long)in->pid);
			if (!(s->perf = perfmap_load(path))) {
				snprintf(path, sizeof path, "/tmp/perf-%lld.map", (long long)in->pid);
				s->perf = perfmap_load(path);
			}
		}
	}
	uint64_t start;
	const char *name = perfmap_find(s->perf, addr, &start);
	if (name) {
		out->symbol = name;
		out->symbol_addr = start;
		out->offset = addr - start;
	}
	return true;
}

/* A PE module's symbol from the platform's engine where it is nearer
 * than ours (a static function a full PDB names, which the publics do
 * not), and its line where we have none. */
static void native_lookup(vm_symbolizer *s, const vm_module *mod, uint64_t addr, vm_symbol_info *out)
{
	native_syms *n = native_of(s);
	native_sym ns;
	if (!n)
		return;
	if (native_syms_find(n, mod, addr, s->flags & VM_SYM_DEMANGLE, &ns) &&
	    (!out->symbol || ns.addr > out->symbol_addr)) {
		out->symbol = ns.name;
		out->mangled = ns.mangled;
		out->symbol_addr = ns.addr;
		out->symbol_size = ns.size;
		out->offset = addr - ns.addr;
	}
	vm_line_row row;
	if ((s->flags & VM_SYM_LINES) && !out->file && native_syms_line(n, mod, addr, &row)) {
		out->file = row.file;
		out->line = row.line;
	}
}

/* addr in an executable mapping of a file that an ELF module maps too,
 * at another address (V8's second mapping of node's builtins): the
 * module's address for the same byte of the file. A mapping only read
 * (a program reading a library's file) is data, not the module's. */
static bool file_alias(const vm_map *m, const vm_region *r, uint64_t addr, uint64_t *in_mod)
{
	if (!r || r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_EXEC) || !r->path || r->path[0] != '/' ||
	    (r->flags & VM_RF_PSEUDO))
		return false;
	uint64_t off = r->offset + (addr - r->base);
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *o = &m->regions[i];
		if (o == r || !o->path || strcmp(o->path, r->path) != 0 || o->lx.inode != r->lx.inode ||
		    o->lx.dev_major != r->lx.dev_major || o->lx.dev_minor != r->lx.dev_minor || off < o->offset ||
		    off - o->offset >= o->size)
			continue;
		const vm_module *mod = vm_map_module_at(m, o->base);
		if (mod && mod->format && !strcmp(mod->format, "elf")) {
			*in_mod = o->base + (off - o->offset);
			return true;
		}
	}
	return false;
}

bool vm_symbolize(vm_symbolizer *s, uint64_t addr, vm_symbol_info *out)
{
	memset(out, 0, sizeof *out);
	out->region = vm_map_region_at(s->m, addr);
	const vm_module *mod = vm_map_module_at(s->m, addr);
	uint64_t in_mod;
	if (!mod && file_alias(s->m, out->region, addr, &in_mod) && vm_map_module_at(s->m, in_mod)) {
		/* named as the module's own byte of the file, in this mapping */
		const vm_region *r = out->region;
		vm_symbolize(s, in_mod, out);
		out->region = r;
		out->alias_of = in_mod;
		if (out->symbol)
			out->symbol_addr += addr - in_mod;
		return true;
	}
	if (!mod)
		return jit_symbol(s, addr, out);
	out->module = mod;
	out->offset = addr - mod->base;
	sym_table *t = table_of(s, mod);
	if (!t)
		return true;
	uint64_t link = addr - mod->load_bias;
	const sym_entry *e = symtab_find(t, link);
	if (e) {
		out->symbol = symtab_display_name(t, e, s->flags & VM_SYM_DEMANGLE);
		if (out->symbol != symtab_name(t, e))
			out->mangled = symtab_name(t, e);
		out->symbol_addr = e->addr + mod->load_bias;
		out->symbol_size = e->size;
		out->offset = link - e->addr;
	}
	if ((s->flags & VM_SYM_LINES) && (t->dwarf_fd >= 0 || t->lines)) {
		if (!t->lines_tried) {
			t->lines_tried = true;
			t->lines = lines_open(t->dwarf_fd);
		}
		lines_lookup(t->lines, link + t->lines_adjust, &out->file, &out->line);
	}
	if (is_pe(mod))
		native_lookup(s, mod, addr, out);
	return true;
}

/* the GOT slot an x86-64 PLT stub jumps through: [endbr64] [bnd] jmp
 * *rel32(%rip) */
static bool plt_slot(const uint8_t *c, uint64_t at, uint64_t *slot)
{
	size_t p = c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa ? 4 : 0;
	p += c[p] == 0xf2;
	if (c[p] != 0xff || c[p + 1] != 0x25)
		return false;
	int32_t rel = (int32_t)((uint32_t)c[p + 2] | (uint32_t)c[p + 3] << 8 | (uint32_t)c[p + 4] << 16 |
				(uint32_t)c[p + 5] << 24);
	*slot = at + p + 6 + (uint64_t)(int64_t)rel;
	return true;
}

/* a module's NAME@plt stub bound to a function of def other than addr */
static bool bound_by_plt(vm_symbolizer *s, const vm_module *def, uint64_t addr, const char *name, uint64_t *target)
{
	char *pn = xasprintf("%s@plt", name);
	bool found = false;
	for (size_t i = 0; i < s->m->nmodules && !found; i++) {
		const vm_module *mod = &s->m->modules[i];
		sym_table *mt = table_of(s, mod);
		for (size_t k = 0; mt && k < mt->n && !found; k++) {
			uint8_t code[16];
			uint64_t stub = mt->e[k].addr + mod->load_bias, slot, v;
			if (strcmp(mt->names + mt->e[k].name, pn) != 0 ||
			    vm_read(s->t, stub, code, sizeof code) != (ssize_t)sizeof code || !plt_slot(code, stub, &slot) ||
			    vm_read(s->t, slot, &v, sizeof v) != (ssize_t)sizeof v)
				continue;
			/* bound: into the defining module, past its resolver (not
			 * yet: back into the caller's PLT) */
			if (v != addr && v - def->base < def->size) {
				*target = v;
				found = true;
			}
		}
	}
	free(pn);
	return found;
}

#define R_X86_64_IRELATIVE 37
#define RELA_MAX (16u << 20) /* libc's are 15 KiB */

/* the slot an IRELATIVE relocation of [at, at+size) of def's memory
 * (its .rela.dyn or .rela.plt) gives the resolver at link address
 * `resolver`: the loader runs those at load time, lazy binding or not,
 * for the module's own calls (libc's internal memcpy) */
static bool bound_in_rela(vm_symbolizer *s, const elf_image *e, const vm_module *def, uint64_t at, uint64_t size,
			  uint64_t resolver, uint64_t *target)
{
	uint64_t mem;
	size_t es = elf_reloc_size(e, true);
	if (size == 0 || size > RELA_MAX || add_overflow_u64(at, def->load_bias, &mem) || mem < def->base ||
	    mem - def->base >= def->size || size > def->size - (mem - def->base))
		return false;
	uint8_t *buf = xmalloc((size_t)size);
	bool found = false;
	if (vm_read(s->t, mem, buf, (size_t)size) == (ssize_t)size) {
		for (uint64_t o = 0; o + es <= size && !found; o += es) {
			elf_reloc r;
			uint64_t slot, v;
			elf_reloc_decode(e, buf + o, true, &r);
			if (r.type != R_X86_64_IRELATIVE || (uint64_t)r.addend != resolver ||
			    add_overflow_u64(r.offset, def->load_bias, &slot) || vm_read(s->t, slot, &v, 8) != 8)
				continue;
			/* run: into the module, elsewhere than the resolver */
			if (v != resolver + def->load_bias && v - def->base < def->size) {
				*target = v;
				found = true;
			}
		}
	}
	free(buf);
	return found;
}

/* the function the module's own IRELATIVE relocations bound the IFUNC at
 * addr to, found through its dynamic section in memory */
static bool bound_by_irelative(vm_symbolizer *s, const vm_module *def, uint64_t addr, uint64_t *target)
{
	vm_reader rd = vm_reader_target(s->t);
	elf_image e;
	if (elf_open(&e, &rd, true, def->base, s->m->info.page_size) < 0) {
		vm_clearerr();
		return false;
	}
	elf_dyn *d = NULL;
	size_t nd = 0;
	bool found = false;
	if (e.bits == 64 && elf_read_dynamic(&e, &d, &nd) == 0) {
		static const int64_t tabs[][2] = { { DT_RELA, DT_RELASZ }, { DT_JMPREL, DT_PLTRELSZ } };
		for (size_t k = 0; k < ARRAY_LEN(tabs) && !found; k++) {
			uint64_t at, size;
			if (elf_dyn_find(d, nd, tabs[k][0], &at) && elf_dyn_find(d, nd, tabs[k][1], &size))
				found = bound_in_rela(s, &e, def, elf_dyn_ptr(&e, at), size, addr - def->load_bias, target);
		}
	}
	vm_clearerr();
	free(d);
	elf_close(&e);
	return found;
}

bool vm_symbol_ifunc_target(vm_symbolizer *s, uint64_t addr, uint64_t *target)
{
	const vm_module *def = vm_map_module_at(s->m, addr);
	sym_table *t = def && s->t && s->m->info.arch == VM_ARCH_X86_64 ? table_of(s, def) : NULL;
	bool ifunc = false;
	/* any of its names (memcpy, __new_memcpy, __GI_memcpy ...): a PLT
	 * slot some module bound, as the program's own calls reach it */
	for (size_t k = 0; t && k < t->n; k++) {
		if (t->e[k].type != STT_GNU_IFUNC || t->e[k].addr + def->load_bias != addr)
			continue;
		ifunc = true;
		if (bound_by_plt(s, def, addr, symtab_name(t, &t->e[k]), target))
			return true;
	}
	/* none yet (lazy binding, before the first call): what the loader
	 * chose for the module's own calls, the same choice */
	return ifunc && bound_by_irelative(s, def, addr, target);
}

/* the line index of the module at addr, opened once; its load bias */
static line_index *lines_at(vm_symbolizer *s, uint64_t addr, uint64_t *bias)
{
	const vm_module *mod = vm_map_module_at(s->m, addr);
	sym_table *t = mod ? table_of(s, mod) : NULL;
	if (!t || t->dwarf_fd < 0)
		return NULL;
	if (!t->lines_tried) {
		t->lines_tried = true;
		t->lines = lines_open(t->dwarf_fd);
	}
	*bias = mod->load_bias;
	return t->lines;
}

static bool module_line_addr(vm_symbolizer *s, const vm_module *mod, const char *file, int line, uint64_t *addr)
{
	uint64_t bias = 0, link;
	line_index *li = mod->base ? lines_at(s, mod->base, &bias) : NULL;
	if (li && lines_find(li, file, line, &link)) {
		*addr = link + bias;
		return true;
	}
	return !li && mod->base && is_pe(mod) && native_syms_line_addr(native_of(s), mod, file, line, addr);
}

bool vm_symbol_line_addr(vm_symbolizer *s, const char *file, int line, uint64_t *addr)
{
	/* the program's own lines first (the loader's first entry), then
	 * the libraries': Wine's DLLs have a main.c too */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->m->nmodules; i++)
			if ((s->m->modules[i].loader_index == 0) == (pass == 0) &&
			    module_line_addr(s, &s->m->modules[i], file, line, addr))
				return true;
	return false;
}

bool vm_symbol_line_row(vm_symbolizer *s, uint64_t addr, vm_line_row *out)
{
	memset(out, 0, sizeof *out);
	uint64_t bias = 0;
	line_index *li = lines_at(s, addr, &bias);
	line_row r;
	const vm_module *mod = vm_map_module_at(s->m, addr);
	if (!li && mod && is_pe(mod))
		return native_syms_line(native_of(s), mod, addr, out);
	if (!li || !lines_row(li, addr - bias, &r))
		return false;
	out->addr = r.addr + bias;
	out->end = r.end + bias;
	out->file = r.file;
	out->line = r.line;
	out->is_stmt = r.is_stmt;
	return true;
}

bool vm_symbol_prologue_end(vm_symbolizer *s, uint64_t lo, uint64_t hi, uint64_t *at)
{
	uint64_t bias = 0;
	line_index *li = lines_at(s, lo, &bias);
	uint64_t link;
	if (!li || hi < lo || !lines_prologue_end(li, lo - bias, hi - bias, &link))
		return false;
	*at = link + bias;
	return true;
}

void vm_symbol_format(const vm_symbol_info *si, uint64_t addr, char *buf, size_t n)
{
	if (si->module && si->symbol) {
		if (si->offset)
			snprintf(buf, n, "%s!%s+0x%llx", si->module->name, si->symbol,
				 (unsigned long long)si->offset);
		else
			snprintf(buf, n, "%s!%s", si->module->name, si->symbol);
	} else if (si->module) {
		snprintf(buf, n, "%s+0x%llx", si->module->name, (unsigned long long)si->offset);
	} else if (si->jit && si->symbol) {
		if (si->offset)
			snprintf(buf, n, "[jit]!%s+0x%llx", si->symbol, (unsigned long long)si->offset);
		else
			snprintf(buf, n, "[jit]!%s", si->symbol);
	} else if (si->jit && si->region) {
		snprintf(buf, n, "[jit]+0x%llx", (unsigned long long)(addr - si->region->base));
	} else if (si->region && si->region->state != VM_STATE_FREE) {
		const char *what = si->region->path ? si->region->path : vm_usage_name(si->region->usage);
		snprintf(buf, n, "%s+0x%llx", what, (unsigned long long)(addr - si->region->base));
	} else {
		snprintf(buf, n, "0x%llx", (unsigned long long)addr);
	}
}

static void index_tables(name_index *ix, const elf_image *e)
{
	for (size_t i = 0; i < e->nsh; i++) {
		if (e->sh[i].type != SHT_SYMTAB && e->sh[i].type != SHT_DYNSYM)
			continue;
		elf_rawsyms rs;
		if (elf_rawsyms_read(e, &e->sh[i], &rs) < 0)
			continue;
		ix->t = xrealloc(ix->t, (ix->n + 1) * sizeof *ix->t);
		ix->t[ix->n++] = rs;
	}
}

static name_index *names_of(vm_symbolizer *s, const vm_module *mod)
{
	name_index *ix = &s->names[mod - s->m->modules];
	if (ix->tried)
		return ix;
	ix->tried = true;
	elf_image e, dbg;
	int fd, dfd;
	bool differs;
	char *path;
	if (!open_module_image(s, mod, &e, &fd, &differs)) {
		ix->use_table = true; /* symbols from memory: the table knows how */
	} else {
		const elf_shdr *mini = elf_section_by_name(&e, ".gnu_debugdata");
		if (mini && mini->type != SHT_NOBITS && mini->size)
			ix->use_table = true; /* compressed: decompress once, for the table */
		else
			index_tables(ix, &e);
		if (!ix->use_table && open_debug_image(&e, mod, &dbg, &dfd, &path)) {
			index_tables(ix, &dbg);
			elf_close(&dbg);
			close(dfd);
			free(path);
		}
		elf_close(&e);
	}
	if (fd >= 0)
		close(fd);
	return ix;
}

/* 1: a global NAME, 2: only a local one, 0: none; -1: the index cannot
 * say, ask the table */
static int find_indexed(vm_symbolizer *s, const vm_module *mod, const char *name, unsigned how,
			uint64_t *value)
{
	size_t i = (size_t)(mod - s->m->modules);
	if (s->tried[i])
		return -1; /* the table is there already */
	name_index *ix = names_of(s, mod);
	if (ix->use_table)
		return -1;
	int found = 0;
	elf_sym sym;
	for (size_t k = 0; k < ix->n; k++) {
		if (!elf_rawsyms_find(&ix->t[k], name, how, &sym))
			continue;
		if (sym.bind != STB_LOCAL) {
			*value = sym.value;
			return 1;
		}
		if (!found)
			*value = sym.value;
		found = 2;
	}
	return found;
}

static int lookup_in_module(vm_symbolizer *s, const vm_module *mod, const char *name, uint64_t *addr)
{
	int r = find_indexed(s, mod, name, 0, addr);
	if (r >= 0) {
		*addr += mod->load_bias;
		return r;
	}
	sym_table *t = table_of(s, mod); /* loaded already, or the only way */
	if (!t)
		return 0;
	/* a global of the default version before a hidden (compat) one, as
	 * the dynamic linker binds NAME, before a local */
	int best = 0;
	for (size_t k = 0; k < t->n; k++) {
		const sym_entry *e = &t->e[k];
		if (strcmp(t->names + e->name, name) != 0)
			continue;
		int rank = e->bind == STB_LOCAL ? 1 : e->versioned ? 2 : 3;
		if (rank == 3) {
			*addr = e->addr + mod->load_bias;
			return 1;
		}
		if (rank > best) {
			*addr = e->addr + mod->load_bias;
			best = rank;
		}
	}
	return best == 2 ? 1 : best == 1 ? 2 : 0;
}

/* a demangled name and one written by hand: the same but for where
 * spaces are ("f(double,int)" is "f(double, int)") */
static bool same_but_spaces(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++, b++;
	}
}

/* a C++ name as it reads demangled: the mangled symbol whose demangled
 * name is it, or it and a parameter list (with one: that overload);
 * 1 a global, 2 a local, 0 */
static int lookup_demangled(vm_symbolizer *s, const vm_module *mod, const char *name, uint64_t *addr)
{
	sym_table *t = table_of(s, mod);
	size_t len = strlen(name);
	bool with_params = strchr(name, '(') != NULL;
	int best = 0;
	for (size_t k = 0; t && k < t->n; k++) {
		const sym_entry *e = &t->e[k];
		const char *raw = t->names + e->name;
		if (raw[0] != '_' || raw[1] != 'Z')
			continue;
		const char *d = symtab_display_name(t, e, true);
		if (with_params ? !same_but_spaces(d, name) : strncmp(d, name, len) != 0 || (d[len] && d[len] != '('))
			continue;
		if (e->bind != STB_LOCAL) {
			*addr = e->addr + mod->load_bias;
			return 1;
		}
		if (!best) {
			*addr = e->addr + mod->load_bias;
			best = 2;
		}
	}
	return best;
}

static bool lookup_spelled(vm_symbolizer *s, const char *module, const char *name, uint64_t *addr);

bool vm_symbol_lookup(vm_symbolizer *s, const char *module, const char *name, uint64_t *addr)
{
	if (lookup_spelled(s, module, name, addr))
		return true;
	/* an i386 image's C name as its COFF table (nm) spells it, _f or
	 * _f@8: the table holds it as f, as dbghelp shows it */
	if (s->m->info.os != VM_OS_WINDOWS || s->m->info.arch != VM_ARCH_I386)
		return false;
	char *plain = pe_i386_undecorated(name);
	bool found = plain && lookup_spelled(s, module, plain, addr);
	free(plain);
	return found;
}

static bool lookup_spelled(vm_symbolizer *s, const char *module, const char *name, uint64_t *addr)
{
	/* a global in any module before a local in any; a demangled C++
	 * name only when no symbol is spelled so */
	bool local = false, cxx = strpbrk(name, ":(<") != NULL;
	for (int pass = 0; pass < 1 + cxx && !local; pass++)
		for (size_t i = 0; i < s->m->nmodules; i++) {
			const vm_module *mod = &s->m->modules[i];
			if (module && strcmp(mod->name, module) != 0 && !(mod->path && strcmp(mod->path, module) == 0))
				continue;
			uint64_t a;
			int r = pass ? lookup_demangled(s, mod, name, &a) : lookup_in_module(s, mod, name, &a);
			if (r == 1) {
				*addr = a;
				return true;
			}
			if (r == 2 && !local) {
				*addr = a;
				local = true;
			}
		}
	return local;
}

/* the end of a template's argument list opening at p ('<'), when it
 * is one: balanced, of what types are written with; else NULL */
static const char *template_end(const char *p)
{
	int depth = 0;
	for (const char *q = p; *q; q++) {
		if (*q == '<')
			depth++;
		else if (*q == '>' && --depth == 0)
			return q + 1;
		else if (!isalnum((unsigned char)*q) && !strchr("_:, *&()[]-", *q))
			return NULL;
	}
	return NULL;
}

size_t vm_symbol_name_len(const char *p)
{
	if (*p == '\'') {
		const char *end = strchr(p + 1, '\'');
		return end ? (size_t)(end + 1 - p) : 0;
	}
	size_t n = 0;
	for (;;) {
		char c = p[n];
		const char *t;
		if (isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$' || c == '@')
			n++;
		else if (c == ':' && p[n + 1] == ':' && n > 0)
			n += p[n + 2] == '~' ? 3 : 2;
		else if (c == '<' && n > 0 && (t = template_end(p + n)) && t[0] == ':' && t[1] == ':')
			n = (size_t)(t - p); /* Box<long>::area; a bare a<b stays a comparison */
		else
			return n;
	}
}

char *vm_symbol_name_dup(const char *p, size_t len)
{
	if (len >= 2 && p[0] == '\'' && p[len - 1] == '\'')
		return xstrndup(p + 1, len - 2);
	return xstrndup(p, len);
}

bool vm_symbol_tls_offset(vm_symbolizer *s, const vm_module *mod, const char *name, uint64_t *off)
{
	int r = find_indexed(s, mod, name, ELF_FIND_TLS, off);
	if (r >= 0)
		return r;
	sym_table *t = table_of(s, mod);
	if (!t)
		return false;
	for (size_t k = 0; k < t->ntls; k++)
		if (strcmp(t->names + t->tls[k].name, name) == 0) {
			*off = t->tls[k].addr;
			return true;
		}
	return false;
}

size_t vm_exports(vm_symbolizer *s, const vm_export **out)
{
	if (!s->exports_built) {
		s->exports_built = true;
		size_t cap = 0;
		for (size_t i = 0; i < s->m->nmodules; i++) {
			const vm_module *mod = &s->m->modules[i];
			sym_table *t = table_of(s, mod);
			if (!t)
				continue;
			for (size_t k = 0; k < t->n; k++) {
				const sym_entry *e = &t->e[k];
				if (e->bind == STB_LOCAL)
					continue;
				vm_export *x = ARRAY_PUSH(s->exports, s->nexports, cap);
				x->module = mod;
				x->name = symtab_display_name(t, e, s->flags & VM_SYM_DEMANGLE);
				x->mangled = x->name != t->names + e->name ? t->names + e->name : NULL;
				x->addr = e->addr + mod->load_bias;
				x->size = e->size;
				x->kind = elf_sym_type_name(e->type);
				x->bind = elf_sym_bind_name(e->bind);
				x->version = symtab_version(t, e);
				x->exported = e->dynamic;
				x->forwarder = NULL;
			}
			for (size_t k = 0; k < t->nfwd; k++) {
				vm_export *x = ARRAY_PUSH(s->exports, s->nexports, cap);
				memset(x, 0, sizeof *x);
				x->module = mod;
				x->name = t->names + t->fwd[k].name;
				x->forwarder = t->names + t->fwd[k].target;
				x->kind = "forwarder";
				x->bind = "global";
				x->exported = true;
			}
		}
	}
	*out = s->exports;
	return s->nexports;
}
