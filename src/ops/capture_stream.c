/* `vmatlas capture - -o FILE`: a core that arrives on a pipe (the kernel's
 * core_pattern "|/path/to/vmatlas capture - -o /var/crash/core.%p"),
 * copied to FILE as it comes, then given the vmatlas snapshot of what it
 * holds as a note of its own: a second PT_NOTE segment at the end of the
 * file, with the program headers moved there too (ELF lets e_phoff point
 * anywhere), so nothing the kernel wrote moves. */
#include "vmatlas/capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/bytes.h"
#include "base/util.h"
#include "formats/elfcore_write.h"
#include "formats/elf_defs.h"
#include "formats/elfcore.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"
#include "vmatlas/snapshot.h"

#define CHUNK (1u << 20)

static uint64_t copy_in(int in, atomic_file *f)
{
	uint8_t *chunk = xmalloc(CHUNK);
	uint64_t total = 0;
	while (!f->failed) {
		ssize_t n = read(in, chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vm_seterr_errno("reading the core from standard input");
			total = UINT64_MAX;
			break;
		}
		if (n == 0)
			break;
		af_write(f, chunk, (size_t)n);
		total += (uint64_t)n;
	}
	free(chunk);
	return total;
}

/* the note and the new program headers after the end of the file, then
 * the ELF header pointed at them */
static int add_note(atomic_file *f, const elf_image *e, const uint8_t *snap, size_t slen, uint64_t end)
{
	int bits = e->bits;
	size_t phsz = bits == 64 ? 56 : 32, shsz = bits == 64 ? 64 : 40;
	uint64_t nph = (uint64_t)e->nph + 1;
	cw_buf tail = { 0 };
	uint64_t notes_off = (end + 7) / 8 * 8;
	cw_note(&tail, CORE_VMATLAS_OWNER, CORE_NT_VMATLAS_SNAPSHOT, snap, slen);
	uint64_t notes_len = tail.n;
	static const uint8_t zero[8];
	cw_put(&tail, zero, (8 - tail.n % 8) % 8);
	uint64_t phoff = notes_off + tail.n;
	for (size_t i = 0; i < e->nph; i++) {
		const elf_phdr *p = &e->ph[i];
		cw_put_phdr(&tail, bits, p->type, p->flags, p->offset, p->vaddr, p->filesz, p->memsz, p->align);
	}
	cw_put_phdr(&tail, bits, 4 /* PT_NOTE */, 0, notes_off, 0, notes_len, 0, 4);
	uint64_t shoff = 0;
	if (nph >= PN_XNUM) {
		shoff = phoff + nph * phsz;
		cw_put_shdr0(&tail, bits, nph);
	}
	af_pwrite(f, tail.p, tail.n, notes_off);
	free(tail.p);

	uint8_t h[64];
	if (pread(f->fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
		vm_seterr("the core's ELF header is unreadable");
		return -1;
	}
	uint16_t phnum = nph >= PN_XNUM ? PN_XNUM : (uint16_t)nph;
	if (bits == 64) {
		st_le64(h + 32, phoff);
		st_le16(h + 54, (uint16_t)phsz);
		st_le16(h + 56, phnum);
		if (shoff) {
			st_le64(h + 40, shoff);
			st_le16(h + 58, (uint16_t)shsz);
			st_le16(h + 60, 1);
		}
	} else {
		if (phoff > UINT32_MAX || shoff > UINT32_MAX) {
			vm_seterr("the 32-bit core is too large to take a note at its end");
			return -1;
		}
		st_le32(h + 28, (uint32_t)phoff);
		st_le16(h + 42, (uint16_t)phsz);
		st_le16(h + 44, phnum);
		if (shoff) {
			st_le32(h + 32, (uint32_t)shoff);
			st_le16(h + 46, (uint16_t)shsz);
			st_le16(h + 48, 1);
		}
	}
	af_pwrite(f, h, bits == 64 ? 64 : 52, 0);
	return 0;
}

/* What /proc of the dying process tells that its core does not: thread
 * names, and each region's statistics (smaps). Read before the core is
 * taken in: once the kernel has written it the process is gone. */
typedef struct live_facts {
	vm_region *regions;
	size_t nregions;
	vm_thread *threads;
	size_t nthreads;
} live_facts;

static void live_read(int64_t pid, live_facts *lf)
{
	memset(lf, 0, sizeof *lf);
	char spec[32];
	snprintf(spec, sizeof spec, "%lld", (long long)pid);
	vm_target *t = vm_target_open(spec);
	if (!t)
		return; /* the map is made from the core alone */
	if (vm_target_regions(t, VM_REGIONS_STATS, &lf->regions, &lf->nregions) < 0)
		lf->nregions = 0;
	/* names and states only: nothing may stop a dying process */
	if (vm_target_threads(t, VM_THREADS_STATES, &lf->threads, &lf->nthreads) < 0)
		lf->nthreads = 0;
	vm_target_close(t);
}

static void live_overlay(vm_map *m, const live_facts *lf)
{
	for (size_t i = 0; i < m->nthreads; i++)
		for (size_t k = 0; k < lf->nthreads; k++)
			if (lf->threads[k].tid == m->threads[i].tid && lf->threads[k].name) {
				free(m->threads[i].name);
				m->threads[i].name = xstrdup(lf->threads[k].name);
				break;
			}
	/* both are in address order */
	size_t k = 0;
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		while (k < lf->nregions && lf->regions[k].base < r->base)
			k++;
		if (k < lf->nregions && lf->regions[k].base == r->base && lf->regions[k].size == r->size &&
		    lf->regions[k].stats.valid)
			r->stats = lf->regions[k].stats;
	}
}

static void live_free(live_facts *lf)
{
	vm_regions_free(lf->regions, lf->nregions);
	vm_threads_free(lf->threads, lf->nthreads);
}

/* 0: done; -1: refused (not a core, or ours already); -2: a core we
 * could not add the map to, worth keeping as it came */
static int annotate(atomic_file *f, uint64_t size, const vm_capture_options *o, const live_facts *lf,
		    vm_capture_result *res)
{
	uint8_t head[18];
	if (pread(f->fd, head, sizeof head, 0) != (ssize_t)sizeof head || !core_is_magic(head, sizeof head)) {
		vm_seterr("standard input is not an ELF core file");
		return -1;
	}
	vm_target *t = vm_target_open(f->tmp);
	if (!t)
		return -2;
	vm_map *saved = NULL;
	int rc = vm_map_saved(t, &saved);
	vm_map_free(saved);
	if (rc <= 0) { /* ours already (0), or damaged (-1) */
		vm_target_close(t);
		if (rc == 0)
			vm_seterr("the core holds a vmatlas map already: it is a copy of one vmatlas wrote");
		return rc == 0 ? -1 : -2;
	}
	vm_map_options mo = o->mo ? *o->mo : (vm_map_options){ 0 };
	vm_snapshot snap;
	if (vm_snapshot_take(t, &mo, false, false, &snap) < 0) {
		vm_target_close(t);
		return -2;
	}
	live_overlay(snap.map, lf);
	uint8_t *sbuf = NULL;
	size_t slen = 0;
	rc = vm_snapshot_encode(&snap, &sbuf, &slen);
	res->nthreads = snap.map->nthreads;
	res->nregions = snap.map->nregions;
	vm_snapshot_free(&snap);
	vm_target_close(t);
	if (rc < 0)
		return -2;
	vm_reader r = vm_reader_fd(f->fd, size);
	elf_image e;
	if (elf_open(&e, &r, false, 0, 4096) < 0) {
		free(sbuf);
		return -2;
	}
	rc = -2;
	if (e.big_endian)
		vm_seterr("big-endian cores are not supported");
	else
		rc = add_note(f, &e, sbuf, slen, size);
	for (size_t i = 0; i < e.nph; i++)
		if (e.ph[i].type == PT_LOAD) {
			res->nsegments++;
			res->bytes_dumped += e.ph[i].filesz;
		}
	elf_close(&e);
	free(sbuf);
	return rc;
}

int vm_capture_core_stream(int in, const vm_capture_options *o, const char *path, vm_capture_result *res)
{
	memset(res, 0, sizeof *res);
	live_facts lf;
	memset(&lf, 0, sizeof lf);
	if (o->live_pid > 0)
		live_read(o->live_pid, &lf);
	atomic_file f;
	if (af_open_seekable(&f, path) < 0) {
		live_free(&lf);
		return -1;
	}
	uint64_t size = copy_in(in, &f);
	if (f.failed) {
		live_free(&lf);
		return af_commit(&f); /* says why, removes the temporary */
	}
	int rc = size == UINT64_MAX ? -1 : annotate(&f, size, o, &lf, res);
	live_free(&lf);
	if (rc == -1) {
		af_abort(&f);
		return -1;
	}
	res->file_size = f.written;
	if (rc == -2) {
		/* a crash handler must not lose the core: keep it as it came */
		char *why = xstrdup(vm_error());
		if (af_commit(&f) == 0)
			vm_seterr("%s; %s holds the core as it came, without the map", why, path);
		free(why);
		return -1;
	}
	return af_commit(&f);
}
