/* vmatlas image FILE: a PEDUMP for PE images, COFF objects, archives of
 * them, and ELF files. The format is told by the file's first bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/open_file.h"
#include "cli.h"
#include "base/format.h"
#include "base/util.h"
#include "image.h"
#include "vmatlas/ar.h"

static const struct { const char *name; unsigned bit; } part_names[] = {
	{ "headers", PART_HEADERS }, { "sections", PART_SECTIONS }, { "dirs", PART_DIRS },
	{ "imports", PART_IMPORTS }, { "exports", PART_EXPORTS }, { "relocs", PART_RELOCS },
	{ "resources", PART_RESOURCES }, { "debug", PART_DEBUG }, { "tls", PART_TLS },
	{ "loadconfig", PART_LOADCONFIG }, { "exceptions", PART_EXCEPTIONS }, { "symbols", PART_SYMBOLS },
	{ "rich", PART_RICH }, { "overlay", PART_OVERLAY }, { "segments", PART_SEGMENTS },
	{ "dynamic", PART_DYNAMIC }, { "notes", PART_NOTES }, { "versions", PART_VERSIONS },
};

typedef struct image_args {
	unsigned parts;
	bool json;
	const char *hex, *member;
	bool have_rva, have_offset;
	uint64_t rva, offset;
} image_args;

/* --headers, --sections ...; --all */
static int part_opt(cli_ctx *ctx, const cli_option *o, const char *v)
{
	image_args *a = ctx->args;
	(void)v;
	if (!strcmp(o->name, "all"))
		a->parts = PART_ALL;
	for (size_t i = 0; i < ARRAY_LEN(part_names); i++)
		if (!strcmp(part_names[i].name, o->name))
			a->parts |= part_names[i].bit;
	return 0;
}

/* --rva N, --offset N */
static int where_opt(cli_ctx *ctx, const cli_option *o, const char *v)
{
	image_args *a = ctx->args;
	bool rva = !strcmp(o->name, "rva");
	if (!parse_u64(v, rva ? &a->rva : &a->offset))
		return cli_usage_error("image", "bad --%s '%s'", o->name, v);
	if (rva)
		a->have_rva = true;
	else
		a->have_offset = true;
	return 0;
}

static void hexdump(const uint8_t *p, size_t n, uint64_t base)
{
	for (size_t i = 0; i < n; i += 16) {
		printf("  %08llx ", (unsigned long long)(base + i));
		for (size_t k = 0; k < 16; k++)
			k + i < n ? printf(" %02x", p[i + k]) : printf("   ");
		printf("  ");
		for (size_t k = 0; k < 16 && i + k < n; k++)
			putchar(p[i + k] >= 0x20 && p[i + k] < 0x7f ? p[i + k] : '.');
		putchar('\n');
	}
}

/* --hex, --rva, --offset on a PE image; 0 or a status */
static int pe_extras(pe_image *pe, const image_args *a)
{
	if (a->hex) {
		const pe_section *s = NULL;
		for (size_t i = 0; i < pe->nsec && !s; i++)
			if (!strcmp(pe_section_name(&pe->sec[i]), a->hex))
				s = &pe->sec[i];
		if (!s)
			return cli_error(EXIT_RUNTIME, "image: no section named '%s'", a->hex);
		uint64_t n = s->raw_size;
		if (n > pe->file_size - (s->raw_offset < pe->file_size ? s->raw_offset : pe->file_size))
			n = s->raw_offset < pe->file_size ? pe->file_size - s->raw_offset : 0;
		uint8_t *b = xmalloc(n ? n : 1);
		if (!vm_reader_full(&pe->r, s->raw_offset, b, n))
			n = 0;
		printf("section %s: %llu bytes at file offset 0x%x, RVA 0x%x\n", a->hex, (unsigned long long)n,
		       s->raw_offset, s->rva);
		hexdump(b, n, s->rva);
		free(b);
	}
	if (a->have_rva) {
		uint64_t off;
		const pe_section *s = a->rva <= UINT32_MAX ? pe_section_of_rva(pe, (uint32_t)a->rva) : NULL;
		if (a->rva > UINT32_MAX || !pe_rva_to_offset(pe, (uint32_t)a->rva, &off))
			printf("RVA 0x%llx: no file offset%s%s\n", (unsigned long long)a->rva, s ? " (zero-filled part of " : "",
			       s ? pe_section_name(s) : "");
		else
			printf("RVA 0x%llx = file offset 0x%llx (%s)\n", (unsigned long long)a->rva, (unsigned long long)off,
			       s ? pe_section_name(s) : "headers");
	}
	if (a->have_offset) {
		uint32_t rva;
		const pe_section *s = pe_section_of_offset(pe, a->offset);
		if (!pe_offset_to_rva(pe, a->offset, &rva))
			printf("file offset 0x%llx: in no section (overlay?)\n", (unsigned long long)a->offset);
		else
			printf("file offset 0x%llx = RVA 0x%x (%s)\n", (unsigned long long)a->offset, rva,
			       s ? pe_section_name(s) : "headers");
	}
	return 0;
}

static int elf_extras(elf_image *e, const image_args *a)
{
	if (a->hex) {
		elf_load_sections(e);
		const elf_shdr *s = elf_section_by_name(e, a->hex);
		if (!s)
			return cli_error(EXIT_RUNTIME, "image: no section named '%s'", a->hex);
		uint64_t n = s->type == 8 /* NOBITS */ ? 0 : s->size;
		if (n > (256u << 20))
			n = 256u << 20;
		uint8_t *b = xmalloc(n ? n : 1);
		if (elf_read_offset(e, s->offset, b, n) < 0)
			n = 0;
		printf("section %s: %llu bytes at file offset 0x%llx, address 0x%llx\n", a->hex, (unsigned long long)n,
		       (unsigned long long)s->offset, (unsigned long long)s->addr);
		hexdump(b, n, s->addr);
		free(b);
	}
	if (a->have_rva || a->have_offset) {
		for (size_t i = 0; i < e->nph; i++) {
			const elf_phdr *p = &e->ph[i];
			if (p->type != 1)
				continue;
			if (a->have_rva && a->rva >= p->vaddr && a->rva - p->vaddr < p->filesz)
				printf("address 0x%llx = file offset 0x%llx (segment %zu)\n", (unsigned long long)a->rva,
				       (unsigned long long)(p->offset + a->rva - p->vaddr), i);
			if (a->have_offset && a->offset >= p->offset && a->offset - p->offset < p->filesz)
				printf("file offset 0x%llx = address 0x%llx (segment %zu)\n", (unsigned long long)a->offset,
				       (unsigned long long)(p->vaddr + a->offset - p->offset), i);
		}
	}
	return 0;
}

static int dump(const vm_reader *r, const char *name, const image_args *a);

static int archive(const vm_reader *r, const char *name, const image_args *a)
{
	ar_archive ar;
	if (ar_open(&ar, r) < 0)
		return cli_error(EXIT_RUNTIME, "image: %s: %s", name, vm_error());
	int rc = 0;
	if (a->member) {
		const ar_member *m = NULL;
		for (size_t i = 0; i < ar.n && !m; i++)
			if (!strcmp(ar.m[i].name, a->member))
				m = &ar.m[i];
		if (!m) {
			rc = cli_error(EXIT_RUNTIME, "image: %s has no member '%s'", name, a->member);
		} else {
			uint8_t *b = xmalloc(m->size ? m->size : 1);
			if (!vm_reader_full(r, m->offset, b, m->size)) {
				rc = cli_error(EXIT_RUNTIME, "image: member '%s' cannot be read", a->member);
			} else {
				vm_reader mr = vm_reader_mem(b, m->size);
				rc = dump(&mr, a->member, a);
			}
			free(b);
		}
		ar_close(&ar);
		return rc;
	}
	if (a->json) {
		json_writer *w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
		json_obj_begin(w);
		json_kstr(w, "format", "archive");
		json_key(w, "members");
		json_arr_begin(w);
		for (size_t i = 0; i < ar.n; i++) {
			const ar_member *m = &ar.m[i];
			json_obj_begin(w);
			json_kstr(w, "name", m->name);
			json_ku64(w, "offset", m->offset);
			json_ku64(w, "size", m->size);
			json_kbool(w, "index", m->is_special);
			if (m->is_import) {
				json_kstr(w, "import_dll", m->import_dll);
				json_kstr(w, "import_symbol", m->import_symbol);
			}
			json_obj_end(w);
		}
		json_arr_end(w);
		json_kstr(w, "warnings", ar.warnings);
		json_obj_end(w);
		json_done(w);
		free(w);
	} else {
		printf("archive, %zu members\n", ar.n);
		for (size_t i = 0; i < ar.n; i++) {
			const ar_member *m = &ar.m[i];
			printf("  0x%08llx %10llu  %s", (unsigned long long)m->offset, (unsigned long long)m->size, m->name);
			if (m->is_special)
				printf("  (%s)", !strcmp(m->name, "//") ? "long names" : "symbol index");
			if (m->is_import)
				printf("  (import %s from %s)", m->import_symbol ? m->import_symbol : "?",
				       m->import_dll ? m->import_dll : "?");
			putchar('\n');
		}
		if (ar.warnings)
			printf("warnings: %s\n", ar.warnings);
	}
	ar_close(&ar);
	return rc;
}

static int dump(const vm_reader *r, const char *name, const image_args *a)
{
	uint8_t head[64] = { 0 };
	size_t got = r->size < sizeof head ? (size_t)r->size : sizeof head;
	if (!vm_reader_full(r, 0, head, got))
		return cli_error(EXIT_RUNTIME, "image: %s cannot be read", name);
	if (ar_is_magic(head, got))
		return archive(r, name, a);
	json_writer *w = NULL;
	if (a->json) {
		w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
	}
	int rc = 0;
	if (elf_is_magic(head, got)) {
		elf_image e;
		if (elf_open(&e, r, false, 0, 4096) < 0) {
			rc = cli_error(EXIT_RUNTIME, "image: %s: %s", name, vm_error());
		} else {
			w ? image_elf_json(&e, a->parts, w) : image_elf_text(&e, a->parts);
			if (!w)
				rc = elf_extras(&e, a);
			elf_close(&e);
		}
	} else if (pe_is_magic(head, got) || coff_is_object(head, got)) {
		pe_image pe;
		int orc = pe_is_magic(head, got) ? pe_open(&pe, r, false) : coff_open(&pe, r);
		if (orc < 0) {
			rc = cli_error(EXIT_RUNTIME, "image: %s: %s", name, vm_error());
		} else {
			w ? image_pe_json(&pe, a->parts, w) : image_pe_text(&pe, a->parts);
			if (!w)
				rc = pe_extras(&pe, a);
			pe_close(&pe);
		}
	} else {
		rc = cli_error(EXIT_RUNTIME, "image: %s is not a PE, COFF, ELF or archive file", name);
	}
	if (w) {
		if (!rc)
			json_done(w);
		free(w);
	}
	return rc;
}

static int image_run(cli_ctx *ctx)
{
	image_args a = *(const image_args *)ctx->args;
	a.json = ctx->json;
	if (!a.parts)
		a.parts = (a.hex || a.have_rva || a.have_offset) ? 0 : PART_DEFAULT;
	const char *path = ctx->argv[0];
	int fd = open_regular(path);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		int rc = cli_error(EXIT_RUNTIME, "image: %s", vm_error());
		if (fd >= 0)
			close(fd);
		return rc;
	}
	/* parsed from a mapping of the file: many small reads, no copy (the
	 * file is read-only to us; one that shrinks meanwhile is the user's
	 * race); where it cannot be mapped, through pread */
	vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
	void *map = MAP_FAILED;
	if (sb.st_size > 0 && (uint64_t)sb.st_size <= SIZE_MAX)
		map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map != MAP_FAILED)
		r = vm_reader_mem(map, (size_t)sb.st_size);
	int rc = dump(&r, path, &a);
	if (map != MAP_FAILED)
		munmap(map, (size_t)sb.st_size);
	close(fd);
	return rc;
}

#define PART(L, H) CLI_OPT_CALL(L, NULL, part_opt, H)

static const cli_option image_opts[] = {
	CLI_OPT_HEADING("Parts:"),
	PART("headers", "the parts of a PE or COFF file (and of an ELF\n"
	     "file where it has them)"),
	PART("sections", NULL), PART("dirs", NULL), PART("imports", NULL), PART("exports", NULL),
	PART("relocs", NULL), PART("resources", NULL), PART("debug", NULL), PART("tls", NULL),
	PART("loadconfig", NULL), PART("exceptions", NULL), PART("symbols", NULL), PART("rich", NULL),
	PART("overlay", NULL),
	PART("segments", "the parts of an ELF file"), PART("dynamic", NULL), PART("notes", NULL), PART("versions", NULL),
	{ .name = "all", .short_name = 'a', .help = "every part", .kind = CLI_CALL, .call = part_opt },
	CLI_OPT_HEADING("Other options:"),
	CLI_OPT_STRING("hex", 0, "SECTION", image_args, hex, "hex dump of a section's bytes in the file"),
	CLI_OPT_CALL("rva", "N", where_opt, "the file offset (and section) of an RVA\n(ELF: of a virtual address)"),
	CLI_OPT_CALL("offset", "N", where_opt, "the RVA (and section) of a file offset"),
	CLI_OPT_STRING("member", 0, "NAME", image_args, member, "of an archive, dump this member (default: list them)"),
};

const cli_command cli_cmd_image = {
	.name = "image",
	.summary = "dump a PE, COFF, ELF file or archive: headers, sections, imports, exports ...",
	.usage = "[OPTIONS] FILE",
	.about = "Dumps an executable image or object file: PE32/PE32+ images (DLL, EXE,\n"
		 "SYS), COFF objects, archives of them (.a, .lib), and ELF files. Without\n"
		 "a part named it shows the headers, sections, directories, imports,\n"
		 "exports and debug information.\n",
	.args = "FILE",
	.min_args = 1,
	.max_args = 1,
	CLI_OPTS(image_opts),
	CLI_ARGS(image_args),
	.run = image_run,
};
