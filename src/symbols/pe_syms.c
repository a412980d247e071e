/* A PE module's symbols: the export table of the image in target memory
 * (a dump holds it when it holds the image), and from the image's file on
 * disk, when it is the very image (same timestamp and SizeOfImage as the
 * header in memory), its exports and its COFF symbol table (mingw-w64
 * images keep one unless stripped). Symbols are kept at RVA + (base -
 * load bias), so that adding the load bias gives the live address. */
#include "pe_syms.h"

#include "lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/open_file.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "formats/pdb.h"
#include "vmatlas/pe.h"

#define SCN_MEM_EXECUTE 0x20000000u
#define SCN_CNT_CODE 0x20u

/* The image in target memory, read through a few cached 64 KiB blocks:
 * an export table's thousands of names, a .pdata's unwind infos, would
 * otherwise each be a read of the target (a system call on a dump). */
#define BLOCK 65536u
#define NBLOCKS 8

typedef struct block {
	uint64_t addr;
	size_t len; /* bytes held from addr */
	unsigned used;
	bool valid;
	uint8_t *buf;
} block;

typedef struct at_base {
	vm_target *t;
	uint64_t base;
	block b[NBLOCKS];
	unsigned clock;
} at_base;

static block *block_of(at_base *a, uint64_t addr)
{
	uint64_t start = addr & ~(uint64_t)(BLOCK - 1);
	block *victim = &a->b[0];
	for (int i = 0; i < NBLOCKS; i++) {
		block *b = &a->b[i];
		if (b->valid && b->addr == start) {
			b->used = ++a->clock;
			return b;
		}
		if (!b->valid || b->used < victim->used)
			victim = b;
	}
	if (!victim->buf)
		victim->buf = xmalloc(BLOCK);
	ssize_t got = vm_read(a->t, start, victim->buf, BLOCK);
	victim->addr = start;
	victim->len = got > 0 ? (size_t)got : 0;
	victim->valid = true;
	victim->used = ++a->clock;
	return victim;
}

static ssize_t read_at(const vm_reader *r, uint64_t off, void *buf, size_t len)
{
	at_base *a = r->ctx;
	uint64_t addr;
	size_t done = 0;
	if (add_overflow_u64(a->base, off, &addr))
		return 0;
	while (done < len) {
		uint64_t at;
		if (add_overflow_u64(addr, done, &at))
			break;
		block *b = block_of(a, at);
		uint64_t in = at - b->addr;
		if (in >= b->len) {
			/* the block's start is not held: ask for the bytes themselves */
			ssize_t got = vm_read(a->t, at, (uint8_t *)buf + done, len - done);
			return (ssize_t)done + (got > 0 ? got : 0);
		}
		size_t n = b->len - (size_t)in < len - done ? b->len - (size_t)in : len - done;
		memcpy((uint8_t *)buf + done, b->buf + in, n);
		done += n;
		if (b->len < BLOCK && in + n >= b->len)
			break; /* held no further */
	}
	return (ssize_t)done;
}

static void free_cache(at_base *a)
{
	for (int i = 0; i < NBLOCKS; i++)
		free(a->b[i].buf);
	free(a);
}

int pe_open_module_memory(vm_target *t, uint64_t base, pe_image *pe)
{
	if (!t)
		return -1;
	at_base *a = xcalloc(1, sizeof *a);
	a->t = t;
	a->base = base;
	vm_reader r = { read_at, a, UINT32_MAX + 1ull };
	if (pe_open(pe, &r, true) < 0) {
		free_cache(a);
		return -1;
	}
	if (pe_memory_is_file_layout(pe)) { /* its RVAs mean nothing there */
		pe_close(pe);
		free_cache(a);
		return -1;
	}
	return 0;
}

void pe_close_module_memory(pe_image *pe)
{
	at_base *a = pe->r.ctx;
	pe_close(pe);
	free_cache(a);
}

char *pe_module_host_path(const char *path)
{
	if (!path || !path[0])
		return NULL;
	if (path[0] == '/' || (!strchr(path, '\\') && path[1] != ':'))
		return xstrdup(path); /* a host path (--add-module FILE) */
	/* Wine's Z: drive is the root of the Unix file system */
	if ((path[0] == 'Z' || path[0] == 'z') && path[1] == ':' && (path[2] == '\\' || path[2] == '/')) {
		char *p = xstrdup(path + 2);
		for (char *c = p; *c; c++)
			if (*c == '\\')
				*c = '/';
		return p;
	}
	return NULL;
}

static char *g_image_path, *g_symbol_path;

void vm_pe_image_path_set(const char *dirs)
{
	free(g_image_path);
	g_image_path = dirs ? xstrdup(dirs) : NULL;
}

void vm_pdb_symbol_path_set(const char *dirs)
{
	free(g_symbol_path);
	g_symbol_path = dirs ? xstrdup(dirs) : NULL;
}

static int open_pe(const char *host, uint64_t want_size, pe_image *pe, int *fdp)
{
	int fd = open_named_by_target(host);
	struct stat sb;
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return -1;
	}
	vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
	if (pe_open(pe, &r, false) < 0) {
		close(fd);
		return -1;
	}
	if (want_size && pe->size_image != want_size) {
		pe_close(pe);
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

/* the path that opened, in *found when asked */
static int find_module_file(const char *path, uint64_t want_size, pe_image *pe, int *fdp, char **found)
{
	*fdp = -1;
	if (!path || !path[0])
		return -1;
	char *host = pe_module_host_path(path);
	int rc = host ? open_pe(host, 0, pe, fdp) : -1;
	if (rc == 0 && found) {
		*found = host;
		host = NULL;
	}
	free(host);
	if (rc == 0 || !g_image_path)
		return rc;
	/* the image path: DIR/NAME as the dump spells it, then lower case */
	const char *name = win_path_tail(path);
	char *lower = xstrdup(name);
	for (char *c = lower; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	char *dirs = xstrdup(g_image_path), *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d && rc < 0; d = strtok_r(NULL, ":", &save)) {
		for (int k = 0; k < 2 && rc < 0; k++) {
			char *p = xasprintf("%s/%s", d, k ? lower : name);
			if (k == 0 || strcmp(lower, name) != 0)
				rc = open_pe(p, want_size, pe, fdp);
			if (rc == 0 && found) {
				*found = p;
				p = NULL;
			}
			free(p);
		}
	}
	free(dirs);
	free(lower);
	return rc;
}

int pe_open_module_file(const char *path, uint64_t want_size, pe_image *pe, int *fdp)
{
	return find_module_file(path, want_size, pe, fdp, NULL);
}

char *pe_module_file_path(vm_target *t, const vm_module *mod, const char *native)
{
	pe_image mem, file;
	int fd = -1;
	char *found = NULL;
	bool have_mem = pe_open_module_memory(t, mod->base, &mem) == 0;
	const char *path = mod->loader_name && !mod->path ? mod->loader_name : mod->path;
	bool have_file = false;
	if (native && open_pe(native, mod->size, &file, &fd) == 0) {
		have_file = true;
		found = xstrdup(native);
	} else {
		have_file = find_module_file(path, mod->size, &file, &fd, &found) == 0;
	}
	if (have_file) {
		if (have_mem && (file.timestamp != mem.timestamp || file.size_image != mem.size_image)) {
			free(found);
			found = NULL;
		}
		pe_close(&file);
		close(fd);
	}
	if (have_mem)
		pe_close_module_memory(&mem);
	return found;
}

static uint8_t type_at(const pe_image *pe, uint32_t rva)
{
	const pe_section *s = pe_section_of_rva(pe, rva);
	if (!s)
		return STT_NOTYPE;
	return s->flags & (SCN_MEM_EXECUTE | SCN_CNT_CODE) ? STT_FUNC : STT_OBJECT;
}

static size_t add_exports(sym_table *t, pe_image *pe, uint64_t bias)
{
	pe_exports ex;
	size_t n = 0;
	if (!pe->dirs[PE_DIR_EXPORT].rva || pe_read_exports(pe, &ex) < 0)
		return 0;
	for (size_t i = 0; i < ex.n; i++) {
		const pe_export *e = &ex.e[i];
		char ord[32];
		const char *name = e->name;
		if (!name) {
			snprintf(ord, sizeof ord, "#%u", e->ordinal);
			name = ord;
		}
		if (e->forwarder) { /* no address here: a name of another DLL */
			symtab_add_forward(t, name, e->forwarder);
			n++;
			continue;
		}
		if (!e->rva || e->rva >= pe->size_image)
			continue;
		symtab_add_one(t, name, bias + e->rva, 0, type_at(pe, e->rva), STB_GLOBAL, true);
		n++;
	}
	pe_exports_free(&ex);
	return n;
}

/* an i386 COFF name without the C compiler's decoration, as dbghelp and
 * the Microsoft debuggers show it: "_f" (cdecl; "__Z..." is C++'s "_Z..."),
 * "_f@8" (stdcall), "@f@8" (fastcall) are f and _Z...; NULL when the
 * name has none (an assembler's label, say): kept as it is */
char *pe_i386_undecorated(const char *name)
{
	if (name[0] != '_' && name[0] != '@')
		return NULL;
	const char *b = name + 1, *at = strrchr(b, '@');
	size_t n = strlen(b);
	if (at && at[1] && at > b && strspn(at + 1, "0123456789") == strlen(at + 1))
		n = (size_t)(at - b);
	else if (name[0] == '@')
		return NULL;
	return n ? xstrndup(b, n) : NULL;
}

/* the COFF symbol table: functions and data in the image's sections */
static size_t add_coff(sym_table *t, pe_image *pe, uint64_t bias)
{
	pe_symbol *sy;
	size_t ns, n = 0;
	if (!pe->symtab_offset || !pe->nsymbols || pe_read_symbols(pe, &sy, &ns) < 0)
		return 0;
	for (size_t i = 0; i < ns; i++) {
		const pe_symbol *s = &sy[i];
		if (s->section < 1 || (size_t)s->section > pe->nsec || !s->name || !s->name[0] || s->name[0] == '.')
			continue;
		if (s->storage_class != 2 /* EXTERNAL */ && s->storage_class != 3 /* STATIC */)
			continue;
		if (s->storage_class == 3 && s->aux_section)
			continue; /* a section's own symbol */
		const pe_section *sec = &pe->sec[s->section - 1];
		uint64_t rva = (uint64_t)sec->rva + s->value;
		if (rva >= pe->size_image)
			continue;
		uint8_t type = (s->type >> 4) == 2 ? STT_FUNC : type_at(pe, (uint32_t)rva);
		char *plain = pe->machine == 0x14c ? pe_i386_undecorated(s->name) : NULL;
		symtab_add_one(t, plain ? plain : s->name, bias + rva, 0, type,
			       s->storage_class == 2 ? STB_GLOBAL : STB_LOCAL, false);
		free(plain);
		n++;
	}
	pe_symbols_free(sy, ns);
	return n;
}

/* DWARF that mingw leaves in the image's own .debug_* sections (-g):
 * lines from them through libdw; its addresses are the preferred base's */
#define PE_DWARF_MAX ((size_t)256 << 20)

static bool add_dwarf(sym_table *t, pe_image *pe, uint64_t bias)
{
	lines_section sec[32];
	size_t n = 0, total = 0;
	bool info = false;
	for (size_t i = 0; i < pe->nsec && n < 32; i++) {
		const pe_section *s = &pe->sec[i];
		const char *name = s->long_name ? s->long_name : s->name;
		size_t size = s->vsize && s->vsize < s->raw_size ? s->vsize : s->raw_size;
		if (strncmp(name, ".debug_", 7) || !size || size > PE_DWARF_MAX - total)
			continue;
		uint8_t *buf = xmalloc(size);
		if (pe_read_rva(pe, s->rva, buf, size) < 0) {
			free(buf);
			continue;
		}
		sec[n++] = (lines_section){ name, buf, size };
		total += size;
		info |= !strcmp(name, ".debug_info");
	}
	if (info && !t->lines) {
		t->lines = lines_open_sections(sec, n);
		t->lines_tried = t->lines != NULL;
		t->lines_adjust = pe->image_base - bias;
	}
	for (size_t i = 0; i < n; i++)
		free((void *)sec[i].data);
	return t->lines != NULL;
}

/* the image's CodeView record: the PDB's name, GUID and age */
static bool codeview(pe_image *pe, char **name, uint8_t guid[16], uint32_t *age)
{
	pe_debug *d;
	size_t n;
	bool found = false;
	if (!pe->dirs[PE_DIR_DEBUG].rva || pe_read_debug(pe, &d, &n) < 0)
		return false;
	for (size_t i = 0; i < n && !found; i++)
		if (!strcmp(d[i].cv_sig, "RSDS") && d[i].pdb && d[i].pdb[0]) {
			*name = xstrdup(d[i].pdb);
			memcpy(guid, d[i].guid, 16);
			*age = d[i].age;
			found = true;
		}
	pe_debug_free(d, n);
	return found;
}

/* the PDB the CodeView record names, with its GUID: at its own path (a
 * Unix path, Wine's Z:), else by name in the symbol path */
static int open_pdb(const char *cvname, const uint8_t guid[16], pdb_info *p, char **pathp)
{
	char *cands[64];
	size_t nc = 0;
	char *host = pe_module_host_path(cvname);
	if (host)
		cands[nc++] = host;
	const char *base = win_path_tail(cvname);
	char *dirs = g_symbol_path ? xstrdup(g_symbol_path) : NULL, *save = NULL;
	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && nc < 64; d = strtok_r(NULL, ":", &save))
		cands[nc++] = xasprintf("%s/%s", d, base);
	free(dirs);
	int rc = -1;
	for (size_t i = 0; i < nc; i++) {
		if (rc < 0) {
			int fd = open_named_by_target(cands[i]);
			struct stat sb;
			if (fd >= 0 && fstat(fd, &sb) == 0) {
				vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
				if (pdb_read(&r, p) == 0) {
					if (p->have_guid && !memcmp(p->guid, guid, 16)) {
						rc = 0;
						*pathp = xstrdup(cands[i]);
					} else {
						pdb_info_free(p);
					}
				}
			}
			if (fd >= 0)
				close(fd);
		}
		free(cands[i]);
	}
	return rc;
}

/* the public symbols of the image's PDB, placed through its sections */
static void add_pdb(sym_table *t, pe_image *pe, uint64_t bias)
{
	char *cvname = NULL, *path = NULL;
	uint8_t guid[16];
	uint32_t age;
	pdb_info p;
	if (!codeview(pe, &cvname, guid, &age))
		return;
	if (open_pdb(cvname, guid, &p, &path) == 0) {
		size_t n = 0;
		for (size_t i = 0; i < p.n; i++) {
			const pdb_public *x = &p.pub[i];
			if (x->segment < 1 || x->segment > pe->nsec)
				continue;
			uint64_t rva = (uint64_t)pe->sec[x->segment - 1].rva + x->offset;
			if (rva >= pe->size_image)
				continue;
			uint8_t type = (x->flags & 2) ? STT_FUNC : type_at(pe, (uint32_t)rva);
			symtab_add_one(t, x->name, bias + rva, 0, type, STB_GLOBAL, false);
			n++;
		}
		if (n) {
			char *what = xasprintf("pdb:%s", path);
			symtab_note_source(t, what);
			free(what);
		}
		pdb_info_free(&p);
		free(path);
	}
	free(cvname);
}

void pe_syms_load(sym_table *t, vm_target *tg, const vm_module *mod)
{
	uint64_t bias = mod->base - mod->load_bias; /* wraps as the live address does */
	pe_image mem, file;
	bool have_mem = pe_open_module_memory(tg, mod->base, &mem) == 0;
	int fd = -1;
	bool have_file = pe_open_module_file(mod->loader_name && !mod->path ? mod->loader_name : mod->path, mod->size,
					     &file, &fd) == 0;
	if (have_file && have_mem && (file.timestamp != mem.timestamp || file.size_image != mem.size_image)) {
		symtab_note_source(t, "file-differs");
		pe_close(&file);
		close(fd);
		have_file = false;
	}
	size_t got = 0;
	if (have_mem && (got = add_exports(t, &mem, bias)))
		symtab_note_source(t, "memory:exports");
	if (have_mem || have_file)
		add_pdb(t, have_mem ? &mem : &file, bias);
	if (have_file) {
		if (!got && add_exports(t, &file, bias))
			symtab_note_source(t, "file:exports");
		if (add_coff(t, &file, bias))
			symtab_note_source(t, "file:coff");
		if (add_dwarf(t, &file, bias))
			symtab_note_source(t, "file:dwarf");
		pe_close(&file);
		close(fd);
	}
	if (have_mem)
		pe_close_module_memory(&mem);
}
