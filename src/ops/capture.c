/* Writing an ELF core of a live process, the way the kernel lays one out
 * (one PT_LOAD per region, PROT_NONE and undumped regions with no file
 * bytes, notes first: NT_PRSTATUS per thread, NT_PRPSINFO, NT_AUXV,
 * NT_FILE), plus a "VMATLAS" note holding the snapshot of the map. The
 * memory goes first and the headers last, once every segment's size is
 * known (a read can come up short). */
#include "vmatlas/capture.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/bytes.h"
#include "formats/elfcore_write.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "formats/elfcore.h"
#include "vmatlas/control.h"
#include "vmatlas/error.h"
#include "vmatlas/snapshot.h"

#define CHUNK (1u << 20)
#define NT_PRSTATUS 1
#define NT_PRFPREG 2
#define NT_PRPSINFO 3
#define NT_X86_XSTATE 0x202
#define XSTATE_MAX (64u << 10)
#define NT_AUXV 6
#define NT_FILE 0x46494c45

/* one thread's notes: NT_PRSTATUS, then (x86-64, when the thread is
 * held by a control handle) NT_PRFPREG and NT_X86_XSTATE, in the kernel's
 * order: gdb takes the notes after a thread's NT_PRSTATUS as its own */
static void note_thread(cw_buf *b, uint16_t machine, int bits, const vm_thread *th, int64_t ppid,
			vm_control *c)
{
	size_t reg_off, reg_len, pid_off, total;
	core_prstatus_layout(machine, bits, &reg_off, &reg_len, &pid_off, &total);
	uint8_t d[512] = { 0 };
	st_le32(d + pid_off, (uint32_t)th->tid);
	st_le32(d + pid_off + 4, (uint32_t)ppid);
	core_regs_encode(machine, th, d + reg_off, reg_len);
	vm_fpregs fp;
	bool fpvalid = c && machine == EM_X86_64 && bits == 64 && th->regs_valid &&
		       vm_control_get_fpregs(c, th->tid, &fp) == 0;
	if (fpvalid)
		st_le32(d + reg_off + reg_len, 1); /* pr_fpvalid */
	cw_note(b, "CORE", NT_PRSTATUS, d, total);
	if (!fpvalid)
		return;
	cw_note(b, "CORE", NT_PRFPREG, fp.fxsave, sizeof fp.fxsave);
	uint8_t *xs = xmalloc(XSTATE_MAX);
	ssize_t n = vm_control_get_xstate(c, th->tid, xs, XSTATE_MAX);
	if (n > 0)
		cw_note(b, "LINUX", NT_X86_XSTATE, xs, (size_t)n);
	free(xs);
}

static void note_prpsinfo(cw_buf *b, int bits, const vm_target_info *in, const char *args)
{
	uint8_t d[136] = { 0 };
	bool b64 = bits == 64;
	d[0] = 0;
	d[1] = (uint8_t)(in->state && in->state != '?' ? in->state : 'R');
	size_t ids = b64 ? 24 : 12, fn = b64 ? 40 : 28;
	st_le32(d + ids, (uint32_t)in->pid);
	if (in->name)
		memcpy(d + fn, in->name, strnlen(in->name, 15));
	memcpy(d + fn + 16, args, strnlen(args, 79));
	cw_note(b, "CORE", NT_PRPSINFO, d, b64 ? 136 : 124);
}

/* argv as one line, for pr_psargs */
static void read_args(vm_target *t, const vm_target_info *in, char out[81])
{
	memset(out, 0, 81);
	if (!in->arg_start || in->arg_end <= in->arg_start)
		return;
	size_t n = (size_t)(in->arg_end - in->arg_start);
	if (n > 80)
		n = 80;
	ssize_t got = vm_read(t, in->arg_start, out, n);
	for (ssize_t i = 0; i < got; i++)
		if (out[i] == 0)
			out[i] = ' ';
	out[got > 0 ? got : 0] = 0;
	for (ssize_t i = got - 1; i >= 0 && out[i] == ' '; i--)
		out[i] = 0;
}

static void note_auxv(cw_buf *b, vm_target *t, int bits)
{
	vm_auxv *av;
	size_t n;
	if (!(vm_target_caps(t) & VM_CAP_AUXV) || vm_target_auxv(t, &av, &n) < 0)
		return;
	cw_buf d = { 0 };
	for (size_t i = 0; i < n; i++) {
		cw_put_word(&d, bits, av[i].type);
		cw_put_word(&d, bits, av[i].value);
	}
	cw_note(b, "CORE", NT_AUXV, d.p, d.n);
	free(d.p);
	free(av);
}

static void note_file(cw_buf *b, const vm_map *m, int bits)
{
	cw_buf d = { 0 }, names = { 0 };
	uint64_t count = 0, pg = m->info.page_size;
	cw_put_word(&d, bits, 0); /* count, patched below */
	cw_put_word(&d, bits, pg);
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (r->state == VM_STATE_FREE || !r->path || r->path[0] != '/')
			continue;
		cw_put_word(&d, bits, r->base);
		cw_put_word(&d, bits, r->base + r->size);
		cw_put_word(&d, bits, r->offset / pg);
		cw_put(&names, r->path, strlen(r->path));
		if (r->flags & VM_RF_DELETED)
			cw_put(&names, " (deleted)", 10);
		cw_put(&names, "", 1);
		count++;
	}
	uint8_t c[8];
	st_le64(c, count);
	memcpy(d.p, c, (size_t)bits / 8);
	if (names.n)
		cw_put(&d, names.p, names.n);
	cw_note(b, "CORE", NT_FILE, d.p, d.n);
	free(d.p);
	free(names.p);
}

/* ---- which memory goes in ---- */

static bool holds_stack(const vm_map *m, const vm_region *r)
{
	for (size_t i = 0; i < m->nthreads; i++)
		if (ranges_overlap(r->base, r->size, m->threads[i].stack_base, m->threads[i].stack_size) ||
		    range_contains(r->base, r->size, m->threads[i].sp))
			return true;
	return false;
}

/* how many bytes of region r to write from its start */
static uint64_t want_bytes(const vm_map *m, const vm_region *r, bool private_only)
{
	bool vdso = r->path && strcmp(r->path, "[vdso]") == 0;
	if (r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_READ) || (r->type == VM_TYPE_SPECIAL && !vdso))
		return 0;
	/* private memory: anonymous, and the pages of file mappings the
	 * process wrote (data, GOT, relocated RELRO: copy-on-write) */
	bool cow = !(r->prot & VM_PROT_SHARED) &&
		   ((r->prot & VM_PROT_WRITE) || (r->stats.valid && r->stats.private_dirty));
	if (!private_only || r->type == VM_TYPE_PRIVATE || cow || vdso || holds_stack(m, r))
		return r->size;
	/* an image's headers: tools find the build id there */
	if (r->type == VM_TYPE_IMAGE && r->offset == 0)
		return m->info.page_size < r->size ? m->info.page_size : r->size;
	return 0;
}

typedef struct seg {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;
} seg;

static uint32_t pflags(uint32_t prot)
{
	return (prot & VM_PROT_READ ? 4u : 0u) | (prot & VM_PROT_WRITE ? 2u : 0u) | (prot & VM_PROT_EXEC ? 1u : 0u);
}

/* copy [addr, addr+len) into the file at off; bytes copied (short at the
 * first unreadable one) */
static uint64_t copy_memory(vm_target *t, atomic_file *f, uint8_t *chunk, uint64_t addr, uint64_t len,
			    uint64_t off)
{
	uint64_t done = 0;
	while (done < len && !f->failed) {
		size_t want = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t got = vm_read(t, addr + done, chunk, want);
		if (got <= 0)
			break;
		af_pwrite(f, chunk, (size_t)got, off + done);
		done += (uint64_t)got;
		if ((size_t)got < want)
			break;
	}
	return done;
}

/* A file mapping's pages: those the process holds a private copy of
 * (present and not the file's page: written, copy-on-write) from its
 * memory; every other one (clean, or not in memory at all) from the file
 * itself, so that capturing faults nothing in: the target's RSS stays as
 * it was. false when the region cannot be read that way. */
static bool copy_file_region(vm_target *t, atomic_file *f, uint8_t *chunk, const vm_region *r, uint64_t len,
			     uint64_t off, uint64_t pg, uint64_t *copied)
{
	unsigned caps = vm_target_caps(t);
	if (!(caps & VM_CAP_PAGES) || !(caps & VM_CAP_BACKING) || !r->path || r->path[0] != '/' || pg == 0 ||
	    r->type == VM_TYPE_PRIVATE || r->type == VM_TYPE_SPECIAL)
		return false;
	int fd = vm_target_open_backing(t, r);
	if (fd < 0)
		return false;
	vm_page_run *runs = NULL;
	size_t nruns = 0;
	vm_page_counts counts;
	if (vm_target_pages(t, r->base, (len + pg - 1) / pg, &runs, &nruns, &counts) < 0) {
		close(fd);
		return false;
	}
	uint64_t done = 0;
	bool short_read = false;
	for (size_t k = 0; k < nruns && !short_read && !f->failed; k++) {
		const vm_page_run *u = &runs[k];
		if (u->addr != r->base + done || u->count > UINT64_MAX / pg)
			break; /* runs cover the range in order: anything else ends it */
		uint64_t at = u->addr - r->base, n = u->count * pg;
		if (at >= len)
			break;
		if (n > len - at)
			n = len - at;
		bool own = (u->flags & (VM_PAGE_PRESENT | VM_PAGE_SWAPPED)) && !(u->flags & VM_PAGE_FILE);
		if (own) {
			uint64_t got = copy_memory(t, f, chunk, r->base + at, n, off + at);
			if (got < n)
				short_read = true;
			done = at + got;
			continue;
		}
		for (uint64_t d = 0; d < n && !f->failed;) {
			size_t want = n - d < CHUNK ? (size_t)(n - d) : CHUNK;
			uint64_t foff;
			ssize_t got = 0;
			if (!add_overflow_u64(r->offset, at + d, &foff) && foff <= (uint64_t)INT64_MAX)
				got = pread(fd, chunk, want, (off_t)foff);
			if (got < 0)
				got = 0;
			/* past the file's end: the kernel's zeros */
			memset(chunk + got, 0, want - (size_t)got);
			af_pwrite(f, chunk, want, off + at + d);
			d += want;
		}
		done = at + n;
	}
	free(runs);
	close(fd);
	*copied = done; /* short at the first page that could not be read */
	return true;
}

static int write_core(vm_target *t, vm_control *c, const vm_snapshot *snap, const vm_capture_options *o,
		      const char *path, vm_capture_result *res)
{
	const vm_map *m = snap->map;
	const vm_target_info *in = &m->info;
	uint16_t machine;
	if (in->arch == VM_ARCH_X86_64)
		machine = in->bits == 64 ? EM_X86_64 : EM_386;
	else if (in->arch == VM_ARCH_I386)
		machine = EM_386;
	else {
		vm_seterr("capture writes x86 cores only (this process is %s)", vm_arch_name(in->arch));
		return -1;
	}
	int bits = machine == EM_X86_64 ? 64 : 32;

	/* the notes */
	cw_buf notes = { 0 };
	char args[81];
	read_args(t, in, args);
	note_prpsinfo(&notes, bits, in, args);
	for (int pass = 0; pass < 2; pass++) /* the main thread first, as gdb expects */
		for (size_t i = 0; i < m->nthreads; i++)
			if (m->threads[i].is_main == (pass == 0))
				note_thread(&notes, machine, bits, &m->threads[i], 0, c);
	note_auxv(&notes, t, bits);
	note_file(&notes, m, bits);
	uint8_t *sbuf;
	size_t slen;
	if (vm_snapshot_encode(snap, &sbuf, &slen) < 0) {
		free(notes.p);
		return -1;
	}
	cw_note(&notes, CORE_VMATLAS_OWNER, CORE_NT_VMATLAS_SNAPSHOT, sbuf, slen);
	free(sbuf);

	/* one segment per region */
	seg *segs = xcalloc(m->nregions ? m->nregions : 1, sizeof *segs);
	size_t nseg = 0;
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (r->state == VM_STATE_FREE)
			continue;
		segs[nseg++] = (seg){ r->base, r->size, 0, want_bytes(m, r, o->private_only), pflags(r->prot) };
	}
	uint64_t nph = nseg + 1, pg = in->page_size;
	size_t ehsz = bits == 64 ? 64 : 52, phsz = bits == 64 ? 56 : 32, shsz = bits == 64 ? 64 : 40;
	uint64_t notes_off = ehsz + nph * phsz;
	uint64_t shoff = nph >= PN_XNUM ? notes_off + notes.n : 0;
	uint64_t data = ((shoff ? shoff + shsz : notes_off + notes.n) + pg - 1) / pg * pg;

	atomic_file f;
	if (af_open_seekable(&f, path) < 0) {
		free(notes.p);
		free(segs);
		return -1;
	}
	uint8_t *chunk = xmalloc(CHUNK);
	uint64_t at = data;
	memset(res, 0, sizeof *res);
	for (size_t i = 0; i < nseg && !f.failed; i++) {
		seg *s = &segs[i];
		uint64_t want = s->filesz;
		s->offset = at;
		const vm_region *r = vm_map_region_at(m, s->vaddr);
		uint64_t got = 0;
		if (want && !(r && copy_file_region(t, &f, chunk, r, want, at, pg, &got)))
			got = copy_memory(t, &f, chunk, s->vaddr, want, at);
		s->filesz = got;
		if (s->filesz < want)
			res->unreadable++;
		res->bytes_dumped += s->filesz;
		at += (s->filesz + pg - 1) / pg * pg;
	}
	free(chunk);
	cw_buf head = { 0 };
	cw_put_ehdr(&head, machine, bits, nph, shoff);
	cw_put_phdr(&head, bits, 4 /* PT_NOTE */, 0, notes_off, 0, notes.n, 0, 4);
	for (size_t i = 0; i < nseg; i++)
		cw_put_phdr(&head, bits, 1 /* PT_LOAD */, segs[i].flags, segs[i].offset, segs[i].vaddr, segs[i].filesz,
			 segs[i].memsz, pg);
	cw_put(&head, notes.p, notes.n);
	if (shoff)
		cw_put_shdr0(&head, bits, nph);
	af_pwrite(&f, head.p, head.n, 0);
	/* the file ends with the last segment's bytes, or the headers */
	if (f.written < at && at > data) {
		static const uint8_t z;
		af_pwrite(&f, &z, 1, at - 1);
	}
	res->file_size = f.written;
	res->nsegments = nseg;
	res->nthreads = m->nthreads;
	res->nregions = m->nregions;
	free(head.p);
	free(notes.p);
	free(segs);
	return af_commit(&f);
}

/* the state each thread was in before capture stopped it: a core says
 * what the threads were doing, not that vmatlas held them */
static void restore_states(vm_map *m, const vm_thread *before, size_t n)
{
	for (size_t i = 0; i < m->nthreads; i++)
		for (size_t k = 0; k < n; k++)
			if (before[k].tid == m->threads[i].tid && before[k].state && before[k].state != '?') {
				m->threads[i].state = before[k].state;
				break;
			}
}

int vm_capture(vm_target *t, const vm_capture_options *o, const char *path, vm_capture_result *res)
{
	if (vm_target_caps(t) & VM_CAP_OS_DUMP)
		return vm_capture_os_dump(t, o, path, res);
	if (!(vm_target_caps(t) & VM_CAP_FREEZE)) {
		vm_seterr("capture needs a live process (this target is a %s)", vm_target_kind_name(vm_target_kind_of(t)));
		return -1;
	}
	vm_thread *before = NULL;
	size_t nbefore = 0;
	if (vm_target_threads(t, VM_THREADS_STATES, &before, &nbefore) < 0)
		nbefore = 0;
	/* held through a control handle where there is one: it also reads
	 * the FP/SSE and XSAVE state the core should carry */
	vm_control *c = (vm_target_caps(t) & VM_CAP_CONTROL) ? vm_control_open(t) : NULL;
	if (!c && vm_target_freeze(t) < 0) {
		vm_threads_free(before, nbefore);
		return -1;
	}
	vm_map_options mo = o->mo ? *o->mo : (vm_map_options){ 0 };
	mo.freeze = false; /* frozen already, until the core is written */
	vm_snapshot snap;
	int rc = vm_snapshot_take(t, &mo, false, false, &snap);
	if (rc == 0) {
		restore_states(snap.map, before, nbefore);
		rc = write_core(t, c, &snap, o, path, res);
		vm_snapshot_free(&snap);
	}
	if (c)
		vm_control_close(c);
	else
		vm_target_thaw(t);
	vm_threads_free(before, nbefore);
	return rc;
}
