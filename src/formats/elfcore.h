/* ELF core files (written by the kernel, by gdb's gcore, by `vmatlas
 * capture`): the parsed file. Parsing is a pure
 * function of a reader, so it is unit-tested and fuzzed without a file. */
#ifndef VMATLAS_FORMATS_ELFCORE_H
#define VMATLAS_FORMATS_ELFCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmatlas/elf.h"
#include "vmatlas/model.h"
#include "vmatlas/reader.h"

/* a PT_LOAD: memory [vaddr, vaddr+memsz), of which the first filesz
 * bytes are in the file at offset */
typedef struct core_seg {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags; /* PF_R 4, PF_W 2, PF_X 1 */
} core_seg;

/* an NT_FILE entry: a file mapping */
typedef struct core_file_map {
	uint64_t start, end, offset; /* offset in bytes */
	char *path;
	bool deleted; /* " (deleted)" was cut from path */
} core_file_map;

typedef struct core_thread {
	vm_thread th;   /* tid, registers */
	int signal;     /* pr_cursig */
	bool fpvalid;
} core_thread;

typedef struct core_file {
	elf_image elf;
	uint16_t machine;
	int bits;
	uint64_t page_size; /* from NT_FILE or AT_PAGESZ; 4096 when neither says */
	core_seg *segs;     /* sorted by vaddr, overlaps cut away */
	size_t nsegs;
	core_file_map *files; /* sorted by start, no overlaps */
	size_t nfiles;
	core_thread *threads;
	size_t nthreads;
	bool have_psinfo;
	int64_t pid, ppid;
	uint32_t uid;
	char sname;         /* state letter, '?' unknown */
	char fname[17];
	char psargs[81];
	vm_auxv *auxv;
	size_t nauxv;
	bool have_siginfo;
	int sig_no, sig_code, sig_errno;
	uint64_t sig_addr;
	/* where `vmatlas capture` put its snapshot (0 size: none) */
	uint64_t snap_off, snap_size;
	char *warnings; /* "; "-separated, NULL when none */
	size_t nwarnings;
} core_file;

/* the owner and type of the note `vmatlas capture` writes */
#define CORE_VMATLAS_OWNER "VMATLAS"
#define CORE_NT_VMATLAS_SNAPSHOT 1

/* true if buf looks like an ELF core file */
bool core_is_magic(const void *buf, size_t len);
/* parse; -1 (error set) when it is not an ELF core at all; a damaged
 * one gives what could be read and warnings */
int core_parse(core_file *cf, const vm_reader *r);
void core_file_free(core_file *cf);

/* decode the registers of one NT_PRSTATUS pr_reg block */
void core_regs_decode(uint16_t machine, const elf_image *e, const uint8_t *p, size_t len,
		      vm_thread *th);
/* the pr_reg block of a thread (little-endian), from its registers by
 * name; its length, 0 for a machine we do not write */
size_t core_regs_encode(uint16_t machine, const vm_thread *th, uint8_t *out, size_t cap);
/* how NT_PRSTATUS is laid out for machine: where pr_reg starts, its
 * length, and the offset of pr_pid; false for an unknown machine */
bool core_prstatus_layout(uint16_t machine, int bits, size_t *reg_off, size_t *reg_len,
			  size_t *pid_off, size_t *total);

#endif
