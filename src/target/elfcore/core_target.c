/* The target over an ELF core: its regions are the dumped segments plus
 * the file mappings the core names but did not dump (gcore leaves out
 * read-only file mappings); memory is read from the core, and where the
 * core has no bytes for a read-only file mapping, from that file on disk
 * once it is shown to be the same file. Memory that is in neither is an
 * error to read, never zeros. */
#include "core_target.h"
#include "formats/elfcore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "formats/proc_parse.h"
#include "vmatlas/error.h"

#include "core_internal.h"

/* a small read through the windows, under ct->lock */
static ssize_t window_read(core_target *ct, uint64_t off, void *buf, size_t len)
{
	struct core_window *w = NULL, *oldest = &ct->win[0];
	for (size_t i = 0; i < NWINDOWS && !w; i++) {
		struct core_window *c = &ct->win[i];
		if (c->len && off >= c->off && off - c->off < c->len)
			w = c;
		else if (c->used < oldest->used)
			oldest = c;
	}
	if (!w) {
		w = oldest;
		if (!w->buf)
			w->buf = xmalloc(WINDOW);
		uint64_t start = off / WINDOW * WINDOW;
		ssize_t got = start <= ct->r.size ? ct->r.read(&ct->r, start, w->buf, WINDOW) : -1;
		w->off = start;
		w->len = got > 0 ? (uint64_t)got : 0;
		if (!(off >= w->off && off - w->off < w->len))
			return ct->r.read(&ct->r, off, buf, len);
	}
	w->used = ++ct->tick;
	uint64_t have = w->len - (off - w->off);
	size_t n = have < len ? (size_t)have : len;
	memcpy(buf, w->buf + (off - w->off), n);
	return (ssize_t)n;
}

/* len bytes of the core file at off, through a window for small reads */
static ssize_t file_read(core_target *ct, uint64_t off, void *buf, size_t len)
{
	if (len > 4096)
		return ct->r.read(&ct->r, off, buf, len);
	pthread_mutex_lock(&ct->lock);
	ssize_t n = window_read(ct, off, buf, len);
	pthread_mutex_unlock(&ct->lock);
	return n;
}

/* ---- areas ---- */

static void add_area(core_target *ct, size_t *cap, uint64_t base, uint64_t size, long seg, long file)
{
	if (size)
		*ARRAY_PUSH(ct->areas, ct->nareas, *cap) = (core_area){ base, size, seg, file };
}

static int cmp_area(const void *a, const void *b)
{
	const core_area *x = a, *y = b;
	return x->base < y->base ? -1 : x->base > y->base;
}

/* the file mapping holding addr, -1 if none */
static long file_at(const core_file *cf, uint64_t addr)
{
	size_t lo = 0, hi = cf->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cf->files[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cf->nfiles && cf->files[lo].start <= addr ? (long)lo : -1;
}

static void build_areas(core_target *ct)
{
	const core_file *cf = &ct->cf;
	size_t cap = 0;
	for (size_t i = 0; i < cf->nsegs; i++)
		add_area(ct, &cap, cf->segs[i].vaddr, cf->segs[i].memsz, (long)i, file_at(cf, cf->segs[i].vaddr));
	/* the parts of file mappings no segment covers */
	size_t s = 0;
	for (size_t i = 0; i < cf->nfiles; i++) {
		uint64_t at = cf->files[i].start, end = cf->files[i].end;
		while (s < cf->nsegs && cf->segs[s].vaddr + cf->segs[s].memsz <= at &&
		       cf->segs[s].vaddr + cf->segs[s].memsz != 0)
			s++;
		for (size_t k = s; k < cf->nsegs && at < end && cf->segs[k].vaddr < end; k++) {
			if (cf->segs[k].vaddr > at)
				add_area(ct, &cap, at, cf->segs[k].vaddr - at, -1, (long)i);
			uint64_t send = cf->segs[k].vaddr + cf->segs[k].memsz;
			at = send == 0 || send > end ? end : send;
		}
		if (at < end)
			add_area(ct, &cap, at, end - at, -1, (long)i);
	}
	if (ct->nareas > 1)
		qsort(ct->areas, ct->nareas, sizeof *ct->areas, cmp_area);
}

static const core_area *area_at(const core_target *ct, uint64_t addr)
{
	size_t lo = 0, hi = ct->nareas;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const core_area *a = &ct->areas[mid];
		if (a->base + a->size <= addr && a->base + a->size != 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ct->nareas && ct->areas[lo].base <= addr ? &ct->areas[lo] : NULL;
}

/* bytes of the area the core holds, from its base */
uint64_t core_area_held(const core_target *ct, const core_area *a)
{
	return a->seg >= 0 ? ct->cf.segs[a->seg].filesz : 0;
}

static uint32_t area_prot(const core_target *ct, const core_area *a)
{
	if (a->seg < 0)
		return VM_PROT_READ; /* refined from the file's headers in regions() */
	uint32_t f = ct->cf.segs[a->seg].flags, p = 0;
	if (f & 4)
		p |= VM_PROT_READ;
	if (f & 2)
		p |= VM_PROT_WRITE;
	if (f & 1)
		p |= VM_PROT_EXEC;
	return p;
}

/* ---- memory ---- */

static ssize_t core_read(vm_target *t, uint64_t addr, void *buf, size_t len)
{
	core_target *ct = CT(t);
	size_t done = 0;
	while (done < len) {
		uint64_t at = addr + done;
		if (at < addr)
			break;
		const core_area *a = area_at(ct, at);
		if (!a)
			break;
		uint64_t in = at - a->base, held = core_area_held(ct, a);
		size_t want = len - done;
		if (in < held) {
			if (want > held - in)
				want = (size_t)(held - in);
			ssize_t got = file_read(ct, ct->cf.segs[a->seg].offset + in, (uint8_t *)buf + done, want);
			if (got <= 0)
				break;
			/* a short read is the end of a window (a small read across
			 * a window's edge: gdb's segments are not page-aligned in
			 * the file), not of the data: read on until one gives 0 */
			done += (size_t)got;
			continue;
		}
		/* not in the core: a read-only file mapping is read from the file */
		if (a->file < 0 || (area_prot(ct, a) & VM_PROT_WRITE))
			break;
		if (want > a->size - in)
			want = (size_t)(a->size - in);
		int fd = core_backing_open(ct, a->file);
		if (fd < 0)
			break;
		const core_file_map *f = &ct->cf.files[a->file];
		uint64_t off;
		ssize_t got = -1;
		if (!add_overflow_u64(f->offset, at - f->start, &off) && off <= INT64_MAX)
			got = pread(fd, (uint8_t *)buf + done, want, (off_t)off);
		close(fd);
		if (got <= 0)
			break;
		done += (size_t)got;
		if ((size_t)got < want)
			break;
	}
	if (done == 0 && len)
		vm_seterr("0x%llx is not in the core", (unsigned long long)addr);
	return (ssize_t)done;
}

static void core_pages_present(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out)
{
	core_target *ct = CT(t);
	for (size_t i = 0; i < n; i++) {
		const core_area *a = area_at(ct, addrs[i]);
		out[i] = a && addrs[i] - a->base < core_area_held(ct, a);
	}
}

static int core_present_range(vm_target *t, uint64_t addr, uint64_t npages, int8_t *out)
{
	uint64_t pg = CT(t)->cf.page_size;
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t at = addr + i * pg;
		core_pages_present(t, &at, 1, &out[i]);
	}
	return 0;
}

static int core_open_backing(vm_target *t, const vm_region *r)
{
	core_target *ct = CT(t);
	const core_area *a = area_at(ct, r->base);
	return a ? core_backing_open(ct, a->file) : -1;
}

/* ---- regions ---- */

/* what a mapping the core did not dump allowed: the flags of the file's
 * own segment at that offset, when the file is an ELF image */
static uint32_t prot_from_file(core_target *ct, const core_area *a)
{
	uint32_t prot = VM_PROT_READ;
	int fd = core_backing_open(ct, a->file);
	if (fd < 0)
		return prot;
	struct stat sb;
	elf_image e;
	if (fstat(fd, &sb) == 0) {
		vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
		if (elf_open(&e, &r, false, 0, ct->cf.page_size) == 0) {
			uint64_t off = ct->cf.files[a->file].offset + (a->base - ct->cf.files[a->file].start);
			uint64_t pg = ct->cf.page_size;
			for (size_t i = 0; i < e.nph; i++) {
				const elf_phdr *ph = &e.ph[i];
				uint64_t lo = ph->offset & ~(pg - 1);
				if (ph->type == PT_LOAD && off >= lo && off - lo < ph->filesz + (ph->offset - lo)) {
					if (ph->flags & 1)
						prot |= VM_PROT_EXEC;
					break;
				}
			}
			elf_close(&e);
		}
	}
	close(fd);
	return prot;
}

static uint64_t auxv_val(const core_file *cf, uint64_t type)
{
	for (size_t i = 0; i < cf->nauxv; i++)
		if (cf->auxv[i].type == type)
			return cf->auxv[i].value;
	return 0;
}

/* The kernel's names for anonymous regions are not in a core: give back
 * the ones we can tell. [stack] holds the strings of the initial stack
 * (AT_EXECFN), [vdso] is at AT_SYSINFO_EHDR with [vvar] right below it,
 * [heap] is the first anonymous region after the executable's end. */
static void name_pseudo(core_target *ct, vm_region *r, size_t n)
{
	const core_file *cf = &ct->cf;
	uint64_t execfn = auxv_val(cf, 31), vdso = auxv_val(cf, 33), phdr = auxv_val(cf, 3);
	uint64_t exe_end = 0;
	long exe_file = phdr ? file_at(cf, phdr) : -1;
	for (size_t i = 0; i < n; i++) {
		vm_region *x = &r[i];
		if (x->path)
			continue;
		const char *name = NULL;
		if (execfn && range_contains(x->base, x->size, execfn))
			name = "[stack]";
		else if (vdso && x->base == vdso)
			name = "[vdso]";
		else if (cf->bits == 64 && x->base == 0xffffffffff600000ull)
			name = "[vsyscall]";
		if (name) {
			x->path = xstrdup(name);
			proc_classify_region(x);
		}
	}
	/* the kernel's data pages sit right below the vdso: [vvar], and on
	 * newer kernels [vvar_vclock] above it */
	for (size_t i = 0; vdso && i < n; i++) {
		if (r[i].base != vdso)
			continue;
		size_t below = 0;
		while (below < 2 && i > below && !r[i - below - 1].path &&
		       r[i - below - 1].base + r[i - below - 1].size == r[i - below].base &&
		       !(r[i - below - 1].prot & (VM_PROT_WRITE | VM_PROT_EXEC)))
			below++;
		for (size_t k = 1; k <= below; k++) {
			r[i - k].path = xstrdup(below == 2 && k == 1 ? "[vvar_vclock]" : "[vvar]");
			proc_classify_region(&r[i - k]);
		}
		break;
	}
	if (exe_file < 0)
		return;
	/* the executable's mappings run on from the one holding its headers */
	for (size_t i = 0; i < n; i++) {
		if (!exe_end && !range_contains(r[i].base, r[i].size, phdr))
			continue;
		if (exe_end && (r[i].base != exe_end || !r[i].path ||
				strcmp(r[i].path, cf->files[exe_file].path) != 0))
			break;
		exe_end = r[i].base + r[i].size;
	}
	/* brk starts after the executable, randomized by up to 32 MiB (1 GiB
	 * on some configurations) */
	for (size_t i = 0; exe_end && i < n; i++) {
		vm_region *x = &r[i];
		if (x->base < exe_end)
			continue;
		if (x->base - exe_end > (1ull << 30))
			break;
		if (!x->path && (x->prot & (VM_PROT_READ | VM_PROT_WRITE)) == (VM_PROT_READ | VM_PROT_WRITE)) {
			x->path = xstrdup("[heap]");
			proc_classify_region(x);
		}
		break;
	}
}

static int core_regions(vm_target *t, unsigned flags, vm_region **out, size_t *n)
{
	(void)flags;
	core_target *ct = CT(t);
	const core_file *cf = &ct->cf;
	vm_region *r = xcalloc(ct->nareas ? ct->nareas : 1, sizeof *r);
	for (size_t i = 0; i < ct->nareas; i++) {
		const core_area *a = &ct->areas[i];
		vm_region *x = &r[i];
		x->base = a->base;
		x->size = a->size;
		x->alloc = (size_t)-1;
		x->prot = a->seg >= 0 ? area_prot(ct, a) : prot_from_file(ct, a);
		uint64_t held = core_area_held(ct, a);
		if (held == 0)
			x->flags |= VM_RF_NO_DATA;
		else if (held < a->size)
			x->flags |= VM_RF_PART_DATA;
		x->held = held;
		if (a->file >= 0) {
			const core_file_map *f = &cf->files[a->file];
			x->path = xstrdup(f->path);
			x->offset = f->offset + (a->base - f->start);
			if (f->deleted)
				x->flags |= VM_RF_DELETED;
			/* anonymous shared memory shows up as these files */
			if (!strncmp(f->path, "/dev/zero", 9) || !strncmp(f->path, "/SYSV", 5) ||
			    !strncmp(f->path, "/memfd:", 7) || !strncmp(f->path, "/dev/shm/", 9))
				x->prot |= VM_PROT_SHARED;
			if (held < a->size && !(x->prot & VM_PROT_WRITE)) {
				int fd = core_backing_open(ct, a->file);
				if (fd >= 0) {
					x->flags |= VM_RF_FROM_FILE;
					close(fd);
				}
			}
		}
		proc_classify_region(x);
	}
	name_pseudo(ct, r, ct->nareas);
	*out = r;
	*n = ct->nareas;
	return 0;
}

/* ---- threads, auxv ---- */

static int core_threads(vm_target *t, unsigned flags, vm_thread **out, size_t *n)
{
	(void)flags;
	core_target *ct = CT(t);
	const core_file *cf = &ct->cf;
	vm_thread *th = xcalloc(cf->nthreads ? cf->nthreads : 1, sizeof *th);
	for (size_t i = 0; i < cf->nthreads; i++) {
		th[i] = cf->threads[i].th;
		th[i].name = th[i].is_main && cf->fname[0] ? xstrdup(cf->fname) : NULL;
		th[i].stack_copy = NULL;
	}
	*out = th;
	*n = cf->nthreads;
	return 0;
}

static int core_auxv(vm_target *t, vm_auxv **out, size_t *n)
{
	const core_file *cf = &CT(t)->cf;
	if (!cf->nauxv) {
		vm_seterr("the core has no auxiliary vector");
		return -1;
	}
	*out = xcalloc(cf->nauxv, sizeof **out);
	memcpy(*out, cf->auxv, cf->nauxv * sizeof **out);
	*n = cf->nauxv;
	return 0;
}

/* ---- facts ---- */

static bool rd_word(core_target *ct, uint64_t addr, uint64_t *v)
{
	uint8_t b[8] = { 0 };
	size_t w = (size_t)ct->cf.bits / 8;
	if (vm_read_full(&ct->base, addr, b, w) < 0)
		return false;
	*v = w == 8 ? elf_g64(&ct->cf.elf, b) : elf_g32(&ct->cf.elf, b);
	return true;
}

/* the end of the NUL-terminated string at addr (bounded), 0 if unreadable */
static uint64_t str_end(core_target *ct, uint64_t addr)
{
	char buf[256];
	for (uint64_t at = addr; at - addr < (1u << 20);) {
		ssize_t got = core_read(&ct->base, at, buf, sizeof buf);
		if (got <= 0)
			return 0;
		const char *nul = memchr(buf, 0, (size_t)got);
		if (nul)
			return at + (uint64_t)(nul - buf) + 1;
		at += (uint64_t)got;
	}
	return 0;
}

/* Find argc, argv and envp: the auxiliary vector the core carries is
 * also on the initial stack, right after envp's NULL. */
static void find_initial_stack(core_target *ct, vm_target_info *in)
{
	const core_file *cf = &ct->cf;
	uint64_t execfn = auxv_val(cf, 31);
	const core_area *a = execfn ? area_at(ct, execfn) : NULL;
	size_t w = (size_t)cf->bits / 8;
	if (!a || cf->nauxv < 2)
		return;
	uint64_t held = core_area_held(ct, a);
	uint64_t lo = a->base, hi = a->base + held;
	if (hi - lo > (8u << 20))
		lo = hi - (8u << 20);
	size_t len = (size_t)(hi - lo);
	uint8_t *buf = xmalloc(len ? len : 1);
	if (core_read(&ct->base, lo, buf, len) != (ssize_t)len) {
		free(buf);
		return;
	}
	/* the first two auxv entries, as they sit in memory */
	uint64_t want[4] = { cf->auxv[0].type, cf->auxv[0].value, cf->auxv[1].type, cf->auxv[1].value };
	uint64_t auxv_at = 0;
	for (size_t off = len >= 4 * w ? len - 4 * w : 0; off + 4 * w <= len; off -= w) {
		bool ok = true;
		for (size_t k = 0; k < 4 && ok; k++) {
			const uint8_t *p = buf + off + k * w;
			ok = (w == 8 ? elf_g64(&cf->elf, p) : elf_g32(&cf->elf, p)) == want[k];
		}
		if (ok) {
			auxv_at = lo + off;
			break;
		}
		if (off < w)
			break;
	}
	free(buf);
	if (!auxv_at)
		return;
	/* envp[] ends just below auxv; argv[] ends just below envp[] */
	uint64_t p = auxv_at - w, v;
	if (!rd_word(ct, p, &v) || v != 0)
		return;
	uint64_t envp = p;
	for (size_t k = 0; k < 65536 && rd_word(ct, envp - w, &v) && v != 0; k++)
		envp -= w;
	uint64_t argv_null = envp - w;
	if (!rd_word(ct, argv_null, &v) || v != 0)
		return;
	uint64_t argc_at = 0, last = 0;
	for (uint64_t k = 0; k < 65536; k++) {
		uint64_t at = argv_null - (k + 1) * w;
		if (!rd_word(ct, at, &v))
			return;
		if (v == k) {
			argc_at = at;
			break;
		}
		if (!k)
			last = v;
	}
	if (!argc_at)
		return;
	in->stack_start = argc_at;
	uint64_t first;
	if (argc_at + w < argv_null && rd_word(ct, argc_at + w, &first)) {
		in->arg_start = first;
		in->arg_end = str_end(ct, last);
	}
	if (envp < p && rd_word(ct, envp, &first) && rd_word(ct, p - w, &last)) {
		in->env_start = first;
		in->env_end = str_end(ct, last);
	}
}

static int core_info(vm_target *t, vm_target_info *out)
{
	core_target *ct = CT(t);
	const core_file *cf = &ct->cf;
	if (!ct->have_info) {
		vm_target_info *in = &ct->info;
		in->kind = VM_TARGET_ELF_CORE;
		in->pid = cf->pid;
		in->name = cf->fname[0] ? xstrdup(cf->fname) : NULL;
		uint64_t phdr = auxv_val(cf, 3), entry = auxv_val(cf, 9);
		long fi = file_at(cf, phdr ? phdr : entry);
		in->exe = fi >= 0 ? xstrdup(cf->files[fi].path) : NULL;
		in->os = VM_OS_LINUX;
		in->arch = elf_machine_arch(cf->machine);
		in->bits = cf->bits;
		in->state = cf->sname;
		in->page_size = cf->page_size;
		in->user_top = vm_user_top(in->os, cf->bits, cf->page_size);
		find_initial_stack(ct, in);
		if (cf->have_siginfo) {
			in->lx.signal = cf->sig_no;
			in->lx.signal_code = cf->sig_code;
			in->lx.signal_addr = cf->sig_addr;
		} else {
			for (size_t i = 0; i < cf->nthreads && !in->lx.signal; i++)
				in->lx.signal = cf->threads[i].signal;
		}
		strbuf sb = STRBUF_INIT;
		if (cf->warnings)
			sb_puts(&sb, cf->warnings);
		ct->warnings = sb.len ? sb_detach(&sb) : (sb_free(&sb), NULL);
		in->warnings = ct->warnings;
		ct->have_info = true;
	}
	*out = ct->info;
	return 0;
}

/* ---- the map `vmatlas capture` saved ---- */

/* the note's bytes; the pipeline decodes them and lays the core's own
 * registers and data over the saved map */
static int core_saved_map(vm_target *t, uint8_t **buf, size_t *len)
{
	core_target *ct = CT(t);
	const core_file *cf = &ct->cf;
	*buf = NULL;
	*len = 0;
	if (!cf->snap_size)
		return 1;
	uint8_t *b = xmalloc((size_t)cf->snap_size);
	if (!vm_reader_full(&ct->r, cf->snap_off, b, (size_t)cf->snap_size)) {
		free(b);
		vm_seterr("the map saved in the core is unreadable");
		return -1;
	}
	*buf = b;
	*len = (size_t)cf->snap_size;
	return 0;
}

static void core_close(vm_target *t)
{
	core_target *ct = CT(t);
	core_file_free(&ct->cf);
	pthread_mutex_destroy(&ct->lock);
	pthread_mutex_destroy(&ct->backing_lock);
	if (ct->fd >= 0)
		close(ct->fd);
	free(ct->name);
	free(ct->areas);
	free(ct->path_id);
	for (size_t i = 0; i < ct->nbacking; i++)
		free(ct->backing[i].path);
	free(ct->backing);
	free(ct->info.name);
	free(ct->info.exe);
	free(ct->warnings);
	free(ct->sysroot);
	free(ct->solib_path);
	for (size_t i = 0; i < NWINDOWS; i++)
		free(ct->win[i].buf);
	free(ct);
}

static unsigned core_caps(vm_target *t)
{
	(void)t;
	return VM_CAP_PRESENT | VM_CAP_AUXV | VM_CAP_BACKING;
}

static const struct vm_target_ops core_ops = {
	.kind = VM_TARGET_ELF_CORE,
	.caps = core_caps,
	.info = core_info,
	.regions = core_regions,
	.read = core_read,
	.threads = core_threads,
	.auxv = core_auxv,
	.pages_present = core_pages_present,
	.present_range = core_present_range,
	.open_backing = core_open_backing,
	.saved_map = core_saved_map,
	.close = core_close,
};

vm_target *core_target_open_reader(const vm_reader *r, const char *name)
{
	core_target *ct = xcalloc(1, sizeof *ct);
	ct->base.ops = &core_ops;
	ct->fd = -1;
	ct->r = *r;
	if (core_parse(&ct->cf, &ct->r) < 0) {
		free(ct);
		return NULL;
	}
	int e = pthread_mutex_init(&ct->lock, NULL);
	if (!e && (e = pthread_mutex_init(&ct->backing_lock, NULL)) != 0)
		pthread_mutex_destroy(&ct->lock);
	if (e) {
		vm_seterr("cannot make a lock: %s", strerror(e));
		core_file_free(&ct->cf);
		free(ct);
		return NULL;
	}
	ct->name = xstrdup(name);
	build_areas(ct);
	core_index_paths(ct);
	return &ct->base;
}

void core_target_own_fd(vm_target *t, int fd)
{
	CT(t)->fd = fd;
}

/* ---- the backend ---- */

static bool core_probe(const char *spec, const vm_open_options *o, const uint8_t *head, size_t len)
{
	(void)spec, (void)o;
	return head && core_is_magic(head, len);
}

static vm_target *core_backend_open(const char *spec, const vm_open_options *o)
{
	vm_target *t = vm_target_open_file(spec, core_target_open_reader, core_target_own_fd);
	if (t) {
		CT(t)->sysroot = o->sysroot ? xstrdup(o->sysroot) : NULL;
		CT(t)->solib_path = o->solib_path ? xstrdup(o->solib_path) : NULL;
	}
	return t;
}

const vm_backend core_backend = {
	.name = "elfcore",
	.probe = core_probe,
	.open = core_backend_open,
};
