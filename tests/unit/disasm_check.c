/* `unit-tests --disasm-check FILE`: the instruction boundaries Zydis
 * (vm_disasm_buf) finds in every function objdump -d lists in FILE (an
 * x86-64 ELF file) must be objdump's. Prints "N functions agree" or the
 * first disagreements. The integration tests run it on libc. */
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "vmatlas/debug.h"

typedef struct image {
	const uint8_t *p;
	size_t size;
	const Elf64_Phdr *ph;
	int nph;
} image;

/* the file bytes at virtual address a, and how many there are */
static const uint8_t *at(const image *im, uint64_t a, size_t *avail)
{
	for (int i = 0; i < im->nph; i++) {
		const Elf64_Phdr *h = &im->ph[i];
		if (h->p_type == PT_LOAD && a >= h->p_vaddr && a - h->p_vaddr < h->p_filesz &&
		    h->p_offset + h->p_filesz <= im->size) {
			*avail = (size_t)(h->p_filesz - (a - h->p_vaddr));
			return im->p + h->p_offset + (a - h->p_vaddr);
		}
	}
	return NULL;
}

typedef struct func {
	char name[256];
	uint64_t *addr;
	size_t n, cap;
	int stop; /* objdump skipped zeros or did not decode: compare up to here */
} func;

static int check_func(const image *im, const func *f, int *shown)
{
	size_t n = f->stop >= 0 ? (size_t)f->stop : f->n;
	if (n < 1)
		return 0;
	uint64_t a = f->addr[0];
	for (size_t i = 0; i < n; i++) {
		if (a != f->addr[i]) {
			if ((*shown)++ < 10)
				printf("%s: objdump has an instruction at 0x%" PRIx64 ", Zydis at 0x%" PRIx64 "\n", f->name,
				       f->addr[i], a);
			return 1;
		}
		size_t avail;
		const uint8_t *p = at(im, a, &avail);
		vm_dbg_insn in;
		if (!p || !vm_disasm_buf(p, avail < 15 ? avail : 15, a, &in)) {
			if (i + 1 == n)
				return 0; /* a function's last bytes may be data or cut */
			if ((*shown)++ < 10)
				printf("%s: Zydis cannot decode at 0x%" PRIx64 "\n", f->name, a);
			return 1;
		}
		a += in.len;
	}
	return 0;
}

int disasm_check(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		perror(path);
		return 1;
	}
	image im = { mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0), (size_t)sb.st_size, NULL, 0 };
	close(fd);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)im.p;
	if (im.p == MAP_FAILED || im.size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > im.size) {
		fprintf(stderr, "%s: not a 64-bit ELF file\n", path);
		return 1;
	}
	im.ph = (const Elf64_Phdr *)(im.p + eh->e_phoff);
	im.nph = eh->e_phnum;
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "objdump -d --no-show-raw-insn -j .text '%s'", path);
	FILE *o = popen(cmd, "r");
	if (!o) {
		perror("objdump");
		return 1;
	}
	char line[4096];
	func f = { .stop = -1 };
	int funcs = 0, bad = 0, shown = 0;
	while (fgets(line, sizeof line, o)) {
		uint64_t a;
		char name[256];
		if (sscanf(line, "%" SCNx64 " <%255[^>]>:", &a, name) == 2) {
			if (f.n) {
				bad += check_func(&im, &f, &shown);
				funcs++;
			}
			f.n = 0;
			f.stop = -1;
			snprintf(f.name, sizeof f.name, "%s", name);
			continue;
		}
		if (strstr(line, "\t...")) {
			if (f.stop < 0)
				f.stop = (int)f.n;
			continue;
		}
		char *colon = strchr(line, ':');
		if (!colon || sscanf(line, " %" SCNx64 ":", &a) != 1)
			continue;
		if (strstr(colon, "(bad)") && f.stop < 0)
			f.stop = (int)f.n;
		if (f.n == f.cap) {
			f.cap = f.cap ? 2 * f.cap : 256;
			f.addr = realloc(f.addr, f.cap * sizeof *f.addr);
			if (!f.addr)
				abort();
		}
		f.addr[f.n++] = a;
	}
	if (f.n) {
		bad += check_func(&im, &f, &shown);
		funcs++;
	}
	free(f.addr);
	int st = pclose(o);
	munmap((void *)im.p, im.size);
	if (st != 0 || funcs == 0) {
		fprintf(stderr, "objdump failed on %s\n", path);
		return 1;
	}
	if (bad) {
		printf("%d of %d functions disagree\n", bad, funcs);
		return 1;
	}
	printf("%d functions agree\n", funcs);
	return 0;
}
