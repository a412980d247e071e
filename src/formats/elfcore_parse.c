/* Reading an ELF core: the PT_LOAD segments (the memory), and the notes
 * that describe the process (threads and registers, the file mappings,
 * the auxiliary vector, the signal, the process). A note's meaning
 * depends on its owner as well as its type: only "CORE" and "LINUX" notes
 * are decoded as such. Every count and size is checked against the bytes
 * there are before anything is allocated. */
#include "elfcore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/warnlist.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "vmatlas/error.h"

#define MAX_NOTE_SEGMENT (256u << 20)
#define MAX_WARNINGS 32
#define MAX_THREADS (1u << 20)

#define NT_PRSTATUS 1
#define NT_FPREGSET 2
#define NT_PRPSINFO 3
#define NT_AUXV 6
#define NT_386_TLS 0x200
#define NT_SIGINFO 0x53494749
#define NT_FILE 0x46494c45

static void warn(core_file *cf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(core_file *cf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	warnlist_add(&cf->warnings, &cf->nwarnings, MAX_WARNINGS, fmt, ap);
	va_end(ap);
}

bool core_is_magic(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (len < 18 || !elf_is_magic(buf, len))
		return false;
	uint16_t type = p[EI_DATA] == ELFDATA2MSB ? (uint16_t)(p[16] << 8 | p[17]) : (uint16_t)(p[17] << 8 | p[16]);
	return type == ET_CORE;
}

/* ---- segments ---- */

static int cmp_seg(const void *a, const void *b)
{
	const core_seg *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static void read_segments(core_file *cf)
{
	const elf_image *e = &cf->elf;
	size_t cap = 0;
	for (size_t i = 0; i < e->nph; i++) {
		const elf_phdr *ph = &e->ph[i];
		if (ph->type != PT_LOAD || ph->memsz == 0)
			continue;
		core_seg s = { ph->vaddr, ph->memsz, ph->offset, ph->filesz, ph->flags };
		uint64_t end;
		if (add_overflow_u64(s.vaddr, s.memsz, &end) && end != 0) {
			warn(cf, "a segment at 0x%llx wraps around the address space", (unsigned long long)s.vaddr);
			s.memsz = 0 - s.vaddr;
		}
		if (s.filesz > s.memsz)
			s.filesz = s.memsz;
		if (s.offset > e->r.size || s.filesz > e->r.size - s.offset) {
			warn(cf, "the segment at 0x%llx runs past the end of the file (truncated core)",
			     (unsigned long long)s.vaddr);
			s.filesz = s.offset > e->r.size ? 0 : e->r.size - s.offset;
		}
		*ARRAY_PUSH(cf->segs, cf->nsegs, cap) = s;
	}
	if (cf->nsegs > 1)
		qsort(cf->segs, cf->nsegs, sizeof *cf->segs, cmp_seg);
	/* overlapping segments: the earlier one wins */
	size_t out = 0;
	for (size_t i = 0; i < cf->nsegs; i++) {
		core_seg s = cf->segs[i];
		if (out) {
			const core_seg *p = &cf->segs[out - 1];
			uint64_t pend = p->vaddr + p->memsz;
			if (pend == 0 || pend > s.vaddr) {
				uint64_t cut = pend == 0 ? s.memsz : pend - s.vaddr;
				warn(cf, "segments overlap at 0x%llx", (unsigned long long)s.vaddr);
				if (cut >= s.memsz)
					continue;
				s.vaddr += cut;
				s.memsz -= cut;
				s.offset += cut < s.filesz ? cut : s.filesz;
				s.filesz = cut < s.filesz ? s.filesz - cut : 0;
			}
		}
		cf->segs[out++] = s;
	}
	cf->nsegs = out;
}

/* ---- notes ---- */

static uint64_t word(const core_file *cf, const uint8_t *p)
{
	return elf_gw(&cf->elf, p); /* the core's class is its notes' */
}

static int cmp_file(const void *a, const void *b)
{
	const core_file_map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void note_file(core_file *cf, const uint8_t *d, size_t len)
{
	size_t w = (size_t)cf->bits / 8;
	if (cf->files || len < 2 * w) {
		warn(cf, cf->files ? "more than one NT_FILE note" : "NT_FILE note too short");
		return;
	}
	uint64_t count = word(cf, d), pgsz = word(cf, d + w);
	if (count > (len - 2 * w) / (3 * w)) {
		warn(cf, "NT_FILE claims %llu files in %zu bytes", (unsigned long long)count, len);
		return;
	}
	/* the unit of the file offsets; gdb's gcore writes 1 (bytes), which
	 * is no page size: AT_PAGESZ or the default stands then */
	if (pgsz && pgsz <= (1u << 30) && (pgsz & (pgsz - 1)) == 0) {
		if (pgsz >= 1024)
			cf->page_size = pgsz;
	} else
		pgsz = cf->page_size;
	const uint8_t *names = d + 2 * w + count * 3 * w, *end = d + len;
	cf->files = xcalloc(count ? count : 1, sizeof *cf->files);
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *p = d + 2 * w + i * 3 * w;
		core_file_map f = { word(cf, p), word(cf, p + w), 0, NULL, false };
		uint64_t pg = word(cf, p + 2 * w);
		const uint8_t *nul = names < end ? memchr(names, 0, (size_t)(end - names)) : NULL;
		if (!nul) {
			warn(cf, "NT_FILE names end early");
			break;
		}
		size_t nlen = (size_t)(nul - names);
		const char *name = (const char *)names;
		names = nul + 1;
		if (f.end <= f.start || mul_overflow_u64(pg, pgsz, &f.offset))
			continue;
		static const char del[] = " (deleted)";
		if (nlen >= sizeof del - 1 && memcmp(name + nlen - (sizeof del - 1), del, sizeof del - 1) == 0) {
			nlen -= sizeof del - 1;
			f.deleted = true;
		}
		f.path = xstrndup(name, nlen);
		cf->files[cf->nfiles++] = f;
	}
	if (cf->nfiles > 1)
		qsort(cf->files, cf->nfiles, sizeof *cf->files, cmp_file);
	size_t out = 0;
	for (size_t i = 0; i < cf->nfiles; i++) {
		if (out && cf->files[out - 1].end > cf->files[i].start) {
			warn(cf, "NT_FILE entries overlap at 0x%llx", (unsigned long long)cf->files[i].start);
			free(cf->files[i].path);
			continue;
		}
		cf->files[out++] = cf->files[i];
	}
	cf->nfiles = out;
}

static void note_prstatus(core_file *cf, const uint8_t *d, size_t len, size_t *cap)
{
	size_t reg_off, reg_len, pid_off, total;
	if (!core_prstatus_layout(cf->machine, cf->bits, &reg_off, &reg_len, &pid_off, &total)) {
		if (!cf->nthreads)
			warn(cf, "registers of machine %u are not decoded", cf->machine);
		reg_len = 0;
		reg_off = 0;
		pid_off = cf->bits == 64 ? 32 : 24;
		total = pid_off + 4;
	}
	if (len < total) {
		warn(cf, "NT_PRSTATUS note too short (%zu bytes)", len);
		return;
	}
	if (cf->nthreads >= MAX_THREADS)
		return;
	core_thread *t = ARRAY_PUSH(cf->threads, cf->nthreads, *cap);
	memset(t, 0, sizeof *t);
	t->signal = elf_g16(&cf->elf, d + 12);
	t->th.tid = (int32_t)elf_g32(&cf->elf, d + pid_off);
	t->th.state = '?';
	if (reg_len) {
		core_regs_decode(cf->machine, &cf->elf, d + reg_off, reg_len, &t->th);
		t->fpvalid = elf_g32(&cf->elf, d + reg_off + reg_len) != 0;
	}
}

static void note_prpsinfo(core_file *cf, const uint8_t *d, size_t len)
{
	/* 64-bit: 136 bytes, uid/gid 32-bit; 32-bit: 124 bytes, 16-bit */
	bool b64 = cf->bits == 64;
	size_t need = b64 ? 136 : 124;
	if (len < need) {
		warn(cf, "NT_PRPSINFO note too short (%zu bytes)", len);
		return;
	}
	const elf_image *e = &cf->elf;
	cf->have_psinfo = true;
	cf->sname = d[1] >= 0x20 && d[1] < 0x7f ? (char)d[1] : '?';
	size_t ids = b64 ? 24 : 12;
	cf->uid = b64 ? elf_g32(e, d + 16) : elf_g16(e, d + 8);
	cf->pid = (int32_t)elf_g32(e, d + ids);
	cf->ppid = (int32_t)elf_g32(e, d + ids + 4);
	size_t fn = b64 ? 40 : 28;
	memcpy(cf->fname, d + fn, 16);
	cf->fname[16] = 0;
	memcpy(cf->psargs, d + fn + 16, 80);
	cf->psargs[80] = 0;
}

static void note_auxv(core_file *cf, const uint8_t *d, size_t len)
{
	size_t w = (size_t)cf->bits / 8, n = len / (2 * w);
	if (cf->auxv)
		return;
	cf->auxv = xcalloc(n ? n : 1, sizeof *cf->auxv);
	for (size_t i = 0; i < n; i++) {
		uint64_t type = word(cf, d + 2 * w * i), val = word(cf, d + 2 * w * i + w);
		cf->auxv[cf->nauxv++] = (vm_auxv){ type, val };
		if (type == 0)
			break;
		/* a page of less than 1 KiB is damage: everything per page
		 * (hashes, presence) would grow with it */
		if (type == 6 /* AT_PAGESZ */ && val >= 1024 && val <= (1u << 30) && (val & (val - 1)) == 0)
			cf->page_size = val;
	}
}

static void note_siginfo(core_file *cf, const uint8_t *d, size_t len)
{
	size_t addr_off = cf->bits == 64 ? 16 : 12;
	if (len < addr_off + (size_t)cf->bits / 8 || cf->have_siginfo)
		return;
	cf->have_siginfo = true;
	cf->sig_no = (int32_t)elf_g32(&cf->elf, d);
	cf->sig_errno = (int32_t)elf_g32(&cf->elf, d + 4);
	cf->sig_code = (int32_t)elf_g32(&cf->elf, d + 8);
	cf->sig_addr = word(cf, d + addr_off);
}

/* i386: the thread pointer is the base of the TLS descriptor %gs selects */
static void note_386_tls(core_file *cf, const uint8_t *d, size_t len)
{
	if (!cf->nthreads || cf->machine != EM_386)
		return;
	vm_thread *th = &cf->threads[cf->nthreads - 1].th;
	uint64_t gs = 0;
	for (size_t i = 0; i < th->nregs; i++)
		if (strcmp(th->regs[i].name, "gs") == 0)
			gs = th->regs[i].value;
	for (size_t at = 0; at + 16 <= len; at += 16)
		if (elf_g32(&cf->elf, d + at) == gs >> 3) {
			th->tp = elf_g32(&cf->elf, d + at + 4);
			if (th->nregs < VM_THREAD_MAX_REGS)
				th->regs[th->nregs++] = (vm_reg){ "gs_base", th->tp };
		}
}

static void notes_in(core_file *cf, const uint8_t *b, uint64_t size, uint64_t file_off, size_t *tcap)
{
	const elf_image *e = &cf->elf;
	for (uint64_t at = 0; at + 12 <= size;) {
		uint32_t nsz = elf_g32(e, b + at), dsz = elf_g32(e, b + at + 4), type = elf_g32(e, b + at + 8);
		uint64_t name_at = at + 12, desc_at = name_at + (((uint64_t)nsz + 3) & ~3ull);
		uint64_t next = desc_at + (((uint64_t)dsz + 3) & ~3ull);
		if (desc_at > size || dsz > size - desc_at) {
			warn(cf, "a note runs past its segment");
			return;
		}
		size_t olen = nsz ? strnlen((const char *)b + name_at, nsz) : 0;
		const char *owner = (const char *)b + name_at;
		const uint8_t *d = b + desc_at;
		bool core = olen == 4 && memcmp(owner, "CORE", 4) == 0;
		bool linux_ = olen == 5 && memcmp(owner, "LINUX", 5) == 0;
		if (core) {
			switch (type) {
			case NT_PRSTATUS: note_prstatus(cf, d, dsz, tcap); break;
			case NT_PRPSINFO: note_prpsinfo(cf, d, dsz); break;
			case NT_AUXV: note_auxv(cf, d, dsz); break;
			case NT_SIGINFO: note_siginfo(cf, d, dsz); break;
			case NT_FILE: note_file(cf, d, dsz); break;
			default: break;
			}
		} else if (linux_ && type == NT_386_TLS) {
			note_386_tls(cf, d, dsz);
		} else if (olen == strlen(CORE_VMATLAS_OWNER) && memcmp(owner, CORE_VMATLAS_OWNER, olen) == 0 &&
			   type == CORE_NT_VMATLAS_SNAPSHOT && !cf->snap_size) {
			cf->snap_off = file_off + desc_at;
			cf->snap_size = dsz;
		}
		if (next <= at)
			return;
		at = next;
	}
}

static void read_notes(core_file *cf)
{
	const elf_image *e = &cf->elf;
	size_t tcap = 0;
	for (size_t i = 0; i < e->nph; i++) {
		const elf_phdr *ph = &e->ph[i];
		if (ph->type != PT_NOTE || ph->filesz == 0)
			continue;
		if (ph->offset > e->r.size || ph->filesz > e->r.size - ph->offset) {
			warn(cf, "a note segment runs past the end of the file");
			continue;
		}
		if (ph->filesz > MAX_NOTE_SEGMENT) {
			warn(cf, "a note segment of %llu bytes is too large; skipped",
			     (unsigned long long)ph->filesz);
			continue;
		}
		uint8_t *b = xmalloc((size_t)ph->filesz);
		if (vm_reader_full(&e->r, ph->offset, b, (size_t)ph->filesz))
			notes_in(cf, b, ph->filesz, ph->offset, &tcap);
		else
			warn(cf, "a note segment is unreadable");
		free(b);
	}
}

int core_parse(core_file *cf, const vm_reader *r)
{
	memset(cf, 0, sizeof *cf);
	uint8_t head[18];
	if (!vm_reader_full(r, 0, head, sizeof head) || !core_is_magic(head, sizeof head)) {
		vm_seterr("not an ELF core file");
		return -1;
	}
	if (elf_open(&cf->elf, r, false, 0, 4096) < 0)
		return -1;
	cf->machine = cf->elf.machine;
	cf->bits = cf->elf.bits;
	cf->page_size = 4096;
	cf->sname = '?';
	if (cf->elf.warnings)
		warn(cf, "%s", cf->elf.warnings);
	read_segments(cf);
	read_notes(cf);
	if (!cf->nsegs)
		warn(cf, "the core holds no memory (no PT_LOAD segment)");
	if (!cf->nthreads)
		warn(cf, "the core names no thread (no NT_PRSTATUS note)");
	if (!cf->pid && cf->nthreads)
		cf->pid = cf->threads[0].th.tid;
	for (size_t i = 0; i < cf->nthreads; i++)
		cf->threads[i].th.is_main = cf->threads[i].th.tid == cf->pid;
	return 0;
}

void core_file_free(core_file *cf)
{
	elf_close(&cf->elf);
	free(cf->segs);
	for (size_t i = 0; i < cf->nfiles; i++)
		free(cf->files[i].path);
	free(cf->files);
	for (size_t i = 0; i < cf->nthreads; i++)
		free(cf->threads[i].th.name);
	free(cf->threads);
	free(cf->auxv);
	free(cf->warnings);
	memset(cf, 0, sizeof *cf);
}
