#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "elf_builder.h"
#include "vmatlas/elf.h"

static void check_basic(int bits, bool be)
{
	elf_built b;
	elf_build(&b, bits, be, 2, 0x400000);
	vm_reader r = vm_reader_mem(b.buf, b.len);
	elf_image e;
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0);
	CHECK(e.bits == bits && e.big_endian == be);
	CHECK_U64(e.type, 2);
	CHECK_U64(e.entry, 0x400100);
	CHECK_U64(e.nph, 2);
	CHECK_U64(e.ph[0].memsz, 0x3000);
	uint64_t lo, hi;
	CHECK(elf_load_extent(&e, &lo, &hi));
	CHECK_U64(lo, 0x400000);
	CHECK_U64(hi, 0x403000);
	uint8_t id[64];
	size_t idlen = 0;
	CHECK(elf_build_id(&e, id, sizeof id, &idlen));
	CHECK(idlen == 20 && memcmp(id, elf_built_id, 20) == 0);
	CHECK(elf_load_sections(&e) == 0);
	CHECK_U64(e.nsh, 4);
	CHECK(elf_section_by_name(&e, ".text") != NULL);
	const elf_shdr *bss = elf_section_by_name(&e, ".bss");
	CHECK(bss && bss->size == 0x2000 && bss->addr == 0x401000);
	uint8_t word[4];
	CHECK(elf_read_vaddr(&e, 0x400200, word, 4) == 0);
	CHECK(elf_read_vaddr(&e, 0x401000, word, 4) < 0); /* .bss has no file bytes */
	CHECK(e.warnings == NULL);
	elf_close(&e);
}

static void basic64le(void) { check_basic(64, false); }
static void basic32be(void) { check_basic(32, true); }
static void basic32le(void) { check_basic(32, false); }

/* a reader over a buffer that pretends to live at `base` in memory */
typedef struct at_base {
	const uint8_t *p;
	size_t n;
	uint64_t base;
} at_base;

static ssize_t at_read(const vm_reader *r, uint64_t off, void *buf, size_t len)
{
	const at_base *a = r->ctx;
	if (off < a->base || off - a->base >= a->n)
		return 0;
	size_t o = (size_t)(off - a->base), n = a->n - o < len ? a->n - o : len;
	memcpy(buf, a->p + o, n);
	return (ssize_t)n;
}

static void memory_bias(void)
{
	elf_built b;
	elf_build(&b, 64, false, 3, 0);
	at_base a = { b.buf, 0x1000, 0x7f0000000000ull };
	vm_reader r = { at_read, &a, UINT64_MAX };
	elf_image e;
	CHECK(elf_open(&e, &r, true, a.base, 4096) == 0);
	CHECK_U64(e.bias, 0x7f0000000000ull);
	uint8_t id[64];
	size_t idlen;
	CHECK(elf_build_id(&e, id, sizeof id, &idlen));
	/* the section table is past the mapped bytes: not in memory */
	CHECK(elf_load_sections(&e) < 0);
	elf_close(&e);
	/* unless the whole file is mapped linearly (the vdso) */
	at_base whole = { b.buf, b.len, 0x7f0000000000ull };
	r.ctx = &whole;
	CHECK(elf_open(&e, &r, true, whole.base, 4096) == 0);
	e.linear = b.len;
	CHECK(elf_load_sections(&e) == 0 && e.nsh == 4);
	elf_close(&e);
}

static void hostile(void)
{
	elf_built b;
	elf_image e;
	vm_reader r;

	/* truncated header */
	elf_build(&b, 64, false, 2, 0x400000);
	r = vm_reader_mem(b.buf, 20);
	CHECK(elf_open(&e, &r, false, 0, 4096) < 0);

	/* bad class and bad byte order */
	elf_build(&b, 64, false, 2, 0x400000);
	b.buf[4] = 7;
	r = vm_reader_mem(b.buf, b.len);
	CHECK(elf_open(&e, &r, false, 0, 4096) < 0);
	b.buf[4] = 2;
	b.buf[5] = 0;
	CHECK(elf_open(&e, &r, false, 0, 4096) < 0);

	/* an absurd program header count: a warning, no headers */
	elf_build(&b, 64, false, 2, 0x400000);
	eb_put(&b, 56, 0xfffe, 2);
	r = vm_reader_mem(b.buf, b.len);
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0);
	CHECK(e.nph == 0 && e.warnings != NULL);
	elf_close(&e);

	/* program header entries too small */
	elf_build(&b, 64, false, 2, 0x400000);
	eb_put(&b, 54, 8, 2);
	r = vm_reader_mem(b.buf, b.len);
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0 && e.nph == 0 && e.warnings);
	elf_close(&e);

	/* section table past the end of the file */
	elf_build(&b, 64, false, 2, 0x400000);
	eb_put(&b, 40, 0xffffffffffff0000ull, 8);
	r = vm_reader_mem(b.buf, b.len);
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0);
	CHECK(elf_load_sections(&e) < 0);
	elf_close(&e);

	/* name table index out of range; names past the table */
	elf_build(&b, 64, false, 2, 0x400000);
	eb_put(&b, 62, 77, 2); /* shstrndx */
	r = vm_reader_mem(b.buf, b.len);
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0);
	CHECK(elf_load_sections(&e) == 0 && e.warnings);
	CHECK_STR(e.sh[1].namestr, "");
	elf_close(&e);
	elf_build(&b, 64, false, 2, 0x400000);
	eb_put(&b, 0x1000 + 64, 0xffffff, 4); /* .text name offset */
	r = vm_reader_mem(b.buf, b.len);
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0 && elf_load_sections(&e) == 0);
	CHECK_STR(e.sh[1].namestr, "");
	elf_close(&e);

	/* a note whose sizes run past its segment */
	elf_build(&b, 64, false, 2, 0x400000);
	eb_put(&b, 0x204, 0xfffffff0, 4);
	r = vm_reader_mem(b.buf, b.len);
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0);
	uint8_t id[64];
	size_t idlen;
	CHECK(!elf_build_id(&e, id, sizeof id, &idlen));
	elf_close(&e);

	/* a segment whose end overflows */
	elf_build(&b, 64, false, 2, 0x400000);
	eb_put(&b, 64 + 16, 0xfffffffffffff000ull, 8);
	eb_put(&b, 64 + 40, 0x10000, 8);
	r = vm_reader_mem(b.buf, b.len);
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0);
	uint64_t lo, hi;
	CHECK(!elf_load_extent(&e, &lo, &hi));
	elf_close(&e);
}

static void pn_xnum(void)
{
	/* more program headers than fit in e_phnum: the real count is in
	 * section header 0's sh_info */
	elf_built b;
	elf_build(&b, 64, false, 4, 0);
	eb_put(&b, 56, 0xffff, 2);
	eb_put(&b, 0x1000 + 44, 2, 4);
	vm_reader r = vm_reader_mem(b.buf, b.len);
	elf_image e;
	CHECK(elf_open(&e, &r, false, 0, 4096) == 0);
	CHECK_U64(e.nph, 2);
	elf_close(&e);
}

/* does some defined global NAME with this value exist in the decoded table? */
static bool decoded_has(const elf_symtab *st, const char *name, uint64_t value, bool tls)
{
	for (size_t k = 0; k < st->n; k++) {
		const elf_sym *s = &st->syms[k];
		if (s->shndx != 0 && s->shndx != 0xfff1 && s->bind != 0 && (s->type == 6) == tls &&
		    s->value == value && strcmp(elf_sym_name(st, s), name) == 0)
			return true;
	}
	return false;
}

/* finding by name (GNU hash, or the scan) against the decoded tables of
 * the libraries this test runs with (libc, libdw, ...): every defined
 * global is found, with a value some symbol of that name has; the hash
 * and the scan agree; names not there are not found */
static void find_by_name(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f != NULL);
	char line[4096], done[16][512];
	size_t ndone = 0, checked = 0, hashed = 0;
	while (f && fgets(line, sizeof line, f) && ndone < 16) {
		char *path = strchr(line, '/');
		if (!path || !strstr(path, ".so"))
			continue;
		path[strcspn(path, "\n")] = 0;
		bool seen = false;
		for (size_t i = 0; i < ndone; i++)
			seen |= strcmp(done[i], path) == 0;
		if (seen || strlen(path) >= sizeof done[0])
			continue;
		strcpy(done[ndone++], path);
		int fd = open(path, O_RDONLY);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
		elf_image e;
		if (elf_open(&e, &r, false, 0, 4096) == 0 && elf_load_sections(&e) == 0) {
			for (size_t i = 0; i < e.nsh; i++) {
				if (e.sh[i].type != 2 && e.sh[i].type != 11)
					continue;
				elf_symtab st;
				elf_rawsyms raw, scan;
				CHECK(elf_read_symtab(&e, &e.sh[i], &st) == 0);
				CHECK(elf_rawsyms_read(&e, &e.sh[i], &raw) == 0);
				scan = raw;
				scan.gnu_hash = NULL; /* the same table, found by the scan */
				hashed += raw.gnu_hash != NULL;
				for (size_t k = 0; k < st.n; k++) {
					const elf_sym *s = &st.syms[k];
					const char *name = elf_sym_name(&st, s);
					if (s->shndx == 0 || s->shndx == 0xfff1 || s->bind == 0 || !name[0] ||
					    s->type == 3 || s->type == 4)
						continue;
					unsigned how = ELF_FIND_GLOBAL | (s->type == 6 ? ELF_FIND_TLS : 0);
					elf_sym a, b;
					CHECK(elf_rawsyms_find(&raw, name, how, &a));
					CHECK(elf_rawsyms_find(&scan, name, how, &b));
					CHECK(decoded_has(&st, name, a.value, s->type == 6));
					CHECK(decoded_has(&st, name, b.value, s->type == 6));
					checked++;
				}
				elf_sym x;
				CHECK(!elf_rawsyms_find(&raw, "no such symbol, surely", ELF_FIND_GLOBAL, &x));
				CHECK(!elf_rawsyms_find(&scan, "no such symbol, surely", 0, &x));
				elf_symtab_free(&st);
				elf_rawsyms_free(&raw);
			}
		}
		elf_close(&e);
		close(fd);
	}
	if (f)
		fclose(f);
	CHECK(checked > 1000 && hashed > 0);
}

const unit_test elf_tests[] = {
	{ "elf/basic64le", basic64le },
	{ "elf/basic32be", basic32be },
	{ "elf/basic32le", basic32le },
	{ "elf/memory_bias", memory_bias },
	{ "elf/hostile", hostile },
	{ "elf/pn_xnum", pn_xnum },
	{ "elf/find_by_name", find_by_name },
	{ NULL, NULL },
};
