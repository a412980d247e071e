/* A PE module's symbols: the export table of the image in target memory
 * (a dump holds it when it holds the image), and from the image's file on
 * disk, when it is the very image (same timestamp and SizeOfImage as the
 * header in memory), its exports and its COFF symbol table (mingw-w64
 * images keep one unless stripped). Symbols are kept at RVA + (base -
 * load bias), so that adding the load bias gives the live address. */
#include "pe_syms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/open_file.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "vmatlas/pe.h"

#define SCN_MEM_EXECUTE 0x20000000u
#define SCN_CNT_CODE 0x20u

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

int pe_open_module_memory(vm_target *t, uint64_t base, pe_image *pe)
{
	if (!t)
		return -1;
	at_base *a = xmalloc(sizeof *a);
	a->t = t;
	a->base = base;
	vm_reader r = { read_at, a, UINT32_MAX + 1ull };
	if (pe_open(pe, &r, true) < 0) {
		free(a);
		return -1;
	}
	return 0;
}

void pe_close_module_memory(pe_image *pe)
{
	void *ctx = pe->r.ctx;
	pe_close(pe);
	free(ctx);
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

int pe_open_module_file(const char *path, pe_image *pe, int *fdp)
{
	char *host = pe_module_host_path(path);
	*fdp = -1;
	if (!host)
		return -1;
	int fd = open_named_by_target(host);
	free(host);
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
	*fdp = fd;
	return 0;
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
		if (e->forwarder || !e->rva || e->rva >= pe->size_image)
			continue; /* a forwarder has no address here */
		char ord[32];
		const char *name = e->name;
		if (!name) {
			snprintf(ord, sizeof ord, "#%u", e->ordinal);
			name = ord;
		}
		symtab_add_one(t, name, bias + e->rva, 0, type_at(pe, e->rva), STB_GLOBAL, true);
		n++;
	}
	pe_exports_free(&ex);
	return n;
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
		symtab_add_one(t, s->name, bias + rva, 0, type, s->storage_class == 2 ? STB_GLOBAL : STB_LOCAL, false);
		n++;
	}
	pe_symbols_free(sy, ns);
	return n;
}

void pe_syms_load(sym_table *t, vm_target *tg, const vm_module *mod)
{
	uint64_t bias = mod->base - mod->load_bias; /* wraps as the live address does */
	pe_image mem, file;
	bool have_mem = pe_open_module_memory(tg, mod->base, &mem) == 0;
	int fd = -1;
	bool have_file = pe_open_module_file(mod->path, &file, &fd) == 0;
	if (have_file && have_mem && (file.timestamp != mem.timestamp || file.size_image != mem.size_image)) {
		symtab_note_source(t, "file-differs");
		pe_close(&file);
		close(fd);
		have_file = false;
	}
	size_t got = 0;
	if (have_mem && (got = add_exports(t, &mem, bias)))
		symtab_note_source(t, "memory:exports");
	if (have_file) {
		if (!got && add_exports(t, &file, bias))
			symtab_note_source(t, "file:exports");
		if (add_coff(t, &file, bias))
			symtab_note_source(t, "file:coff");
		pe_close(&file);
		close(fd);
	}
	if (have_mem)
		pe_close_module_memory(&mem);
}
