/* The target over a minidump. Regions come from MemoryInfoList (what
 * VirtualQuery said, mapped to the region model: MEM_COMMIT/RESERVE,
 * PAGE_* with GUARD/NOCACHE/WRITECOMBINE, MEM_IMAGE/MAPPED/PRIVATE), from
 * breakpad's copy of /proc/PID/maps on Linux dumps, or, when the dump has
 * neither (Wine's dbghelp writes none), from the memory it holds and the
 * module list: then the map says it is partial. Memory the dump does not
 * hold is an error to read. */
#include "md_target.h"
#include "md_wow64.h"
#include "formats/minidump.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "formats/proc_parse.h"
#include "vmatlas/error.h"

#define MDT(t) ((md_target *)(t))

#define MEM_COMMIT 0x1000u
#define MEM_RESERVE 0x2000u
#define MEM_FREE 0x10000u
#define MEM_PRIVATE 0x20000u
#define MEM_MAPPED 0x40000u
#define MEM_IMAGE 0x1000000u

typedef struct md_target {
	vm_target base;
	md_file f;
	int fd;
	vm_target_info info;
	bool have_info;
	char *warnings;
} md_target;

static const md_range *range_at(const md_file *f, uint64_t addr)
{
	size_t lo = 0, hi = f->nmem;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->mem[mid].addr + f->mem[mid].size <= addr && f->mem[mid].addr + f->mem[mid].size != 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->nmem && f->mem[lo].addr <= addr ? &f->mem[lo] : NULL;
}

/* bytes of [base, base+size) the dump holds */
static uint64_t held_in(const md_file *f, uint64_t base, uint64_t size)
{
	size_t lo = 0, hi = f->nmem;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->mem[mid].addr + f->mem[mid].size <= base)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t held = 0, end = base + size;
	for (size_t i = lo; i < f->nmem && f->mem[i].addr < end; i++) {
		uint64_t a = f->mem[i].addr > base ? f->mem[i].addr : base;
		uint64_t e = f->mem[i].addr + f->mem[i].size;
		if (e > end || e < f->mem[i].addr)
			e = end;
		if (e > a)
			held += e - a;
	}
	return held;
}

static ssize_t md_read(vm_target *t, uint64_t addr, void *buf, size_t len)
{
	const md_file *f = &MDT(t)->f;
	size_t done = 0;
	while (done < len) {
		const md_range *r = range_at(f, addr + done);
		if (!r)
			break;
		uint64_t in = addr + done - r->addr;
		size_t want = len - done;
		if (want > r->size - in)
			want = (size_t)(r->size - in);
		ssize_t got = f->r.read(&f->r, r->off + in, (uint8_t *)buf + done, want);
		if (got <= 0)
			break;
		done += (size_t)got;
		if ((size_t)got < want)
			break;
	}
	if (done == 0 && len)
		vm_seterr("0x%llx is not in the minidump", (unsigned long long)addr);
	return (ssize_t)done;
}

static void md_pages_present(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = range_at(&MDT(t)->f, addrs[i]) != NULL;
}

/* ---- regions ---- */

static const md_module *module_at(const md_file *f, uint64_t addr)
{
	for (size_t i = 0; i < f->nmods; i++)
		if (range_contains(f->mods[i].base, f->mods[i].size, addr))
			return &f->mods[i];
	return NULL;
}

static void set_held(const md_file *f, vm_region *r)
{
	r->held = held_in(f, r->base, r->size);
	if (r->state == VM_STATE_COMMIT && r->held < r->size)
		r->flags |= r->held ? VM_RF_PART_DATA : VM_RF_NO_DATA;
}

static void from_meminfo(const md_file *f, vm_region **out, size_t *n)
{
	vm_region *r = xcalloc(f->ninfo ? f->ninfo : 1, sizeof *r);
	size_t k = 0;
	for (size_t i = 0; i < f->ninfo; i++) {
		const md_meminfo *mi = &f->info[i];
		if (mi->state == MEM_FREE || (mi->state != MEM_COMMIT && mi->state != MEM_RESERVE))
			continue;
		vm_region *x = &r[k++];
		x->base = mi->base;
		x->size = mi->size;
		x->alloc = (size_t)-1;
		x->state = mi->state == MEM_COMMIT ? VM_STATE_COMMIT : VM_STATE_RESERVE;
		x->prot = x->state == VM_STATE_COMMIT ? vm_prot_from_win(mi->protect) : 0;
		x->type = mi->type == MEM_IMAGE ? VM_TYPE_IMAGE : mi->type == MEM_MAPPED ? VM_TYPE_MAPPED : VM_TYPE_PRIVATE;
		x->win.alloc_base = mi->alloc_base;
		x->win.alloc_prot = vm_prot_from_win(mi->alloc_prot);
		const md_module *m = x->type == VM_TYPE_IMAGE ? module_at(f, x->base) : NULL;
		if (m)
			x->path = xstrdup(m->path);
		set_held(f, x);
	}
	*out = r;
	*n = k;
}

static void from_linux_maps(const md_file *f, vm_region **out, size_t *n)
{
	vm_region *r = xcalloc(f->nlinux_maps ? f->nlinux_maps : 1, sizeof *r);
	for (size_t i = 0; i < f->nlinux_maps; i++) {
		r[i] = f->linux_maps[i];
		r[i].path = f->linux_maps[i].path ? xstrdup(f->linux_maps[i].path) : NULL;
		r[i].runs = NULL;
		r[i].contents = NULL;
		r[i].ncontents = r[i].ccap = 0;
		r[i].stats.valid = false;
		set_held(f, &r[i]);
	}
	*out = r;
	*n = f->nlinux_maps;
}

typedef struct piece {
	uint64_t lo, hi;
} piece;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* no VirtualQuery list: the memory held and the modules, cut at every
 * boundary of either */
static void partial(const md_file *f, vm_region **out, size_t *n)
{
	size_t nb = 2 * (f->nmem + f->nmods), k = 0;
	uint64_t *b = xcalloc(nb ? nb : 1, sizeof *b);
	for (size_t i = 0; i < f->nmem; i++) {
		b[k++] = f->mem[i].addr;
		b[k++] = f->mem[i].addr + f->mem[i].size;
	}
	for (size_t i = 0; i < f->nmods; i++) {
		b[k++] = f->mods[i].base;
		b[k++] = f->mods[i].base + f->mods[i].size;
	}
	if (k > 1)
		qsort(b, k, sizeof *b, cmp_u64);
	vm_region *r = xcalloc(k ? k : 1, sizeof *r);
	size_t nr = 0;
	for (size_t i = 0; i + 1 < k; i++) {
		uint64_t lo = b[i], hi = b[i + 1];
		if (hi <= lo)
			continue;
		const md_module *m = module_at(f, lo);
		bool mem = range_at(f, lo) != NULL;
		if (!m && !mem)
			continue;
		vm_region *x = &r[nr++];
		x->base = lo;
		x->size = hi - lo;
		x->alloc = (size_t)-1;
		x->state = VM_STATE_COMMIT;
		x->prot = VM_PROT_READ;
		x->flags |= VM_RF_PROT_UNKNOWN;
		x->type = m ? VM_TYPE_IMAGE : VM_TYPE_PRIVATE;
		x->win.alloc_base = m ? m->base : 0;
		if (m)
			x->path = xstrdup(m->path);
		set_held(f, x);
	}
	free(b);
	*out = r;
	*n = nr;
}

static int md_regions(vm_target *t, unsigned flags, vm_region **out, size_t *n)
{
	(void)flags;
	const md_file *f = &MDT(t)->f;
	if (f->have_info)
		from_meminfo(f, out, n);
	else if (f->nlinux_maps)
		from_linux_maps(f, out, n);
	else
		partial(f, out, n);
	return 0;
}

/* ---- threads, modules ---- */

static int md_threads(vm_target *t, unsigned flags, vm_thread **out, size_t *n)
{
	(void)flags;
	const md_file *f = &MDT(t)->f;
	vm_thread *th = xcalloc(f->nthreads ? f->nthreads : 1, sizeof *th);
	for (size_t i = 0; i < f->nthreads; i++) {
		th[i] = f->threads[i].th;
		th[i].name = f->threads[i].th.name ? xstrdup(f->threads[i].th.name) : NULL;
		th[i].is_main = i == 0; /* the dump does not say; the first is the oldest */
		th[i].start = f->threads[i].start_address;
		th[i].stack_copy = NULL;
	}
	*out = th;
	*n = f->nthreads;
	return 0;
}

static int md_modules(vm_target *t, vm_module **out, size_t *n)
{
	const md_file *f = &MDT(t)->f;
	vm_module *v = xcalloc(f->nmods ? f->nmods : 1, sizeof *v);
	for (size_t i = 0; i < f->nmods; i++) {
		const md_module *m = &f->mods[i];
		vm_module *x = &v[i];
		x->path = xstrdup(m->path);
		x->name = xstrdup(win_path_tail(m->path));
		x->base = m->base;
		x->size = m->size;
		x->load_bias = m->base;
		x->loader_index = (int)i;
		x->sources = VM_SRC_LOADER;
		bool elf = f->platform == 0x8201 || f->platform == 0x8203;
		x->format = elf ? "elf" : f->platform == 0x8101 || f->platform == 0x8102 ? "macho" : "pe";
		x->bits = f->bits;
		if (m->have_cv) {
			/* the PDB's GUID and age, as symbol servers key them */
			memcpy(x->build_id, m->guid, 16);
			x->build_id[16] = (uint8_t)m->age;
			x->build_id[17] = (uint8_t)(m->age >> 8);
			x->build_id[18] = (uint8_t)(m->age >> 16);
			x->build_id[19] = (uint8_t)(m->age >> 24);
			x->build_id_len = 20;
		}
	}
	*out = v;
	*n = f->nmods;
	return 0;
}

static int md_unloaded_list(vm_target *t, vm_module **out, size_t *n)
{
	const md_file *f = &MDT(t)->f;
	vm_module *v = xcalloc(f->nunloaded ? f->nunloaded : 1, sizeof *v);
	for (size_t i = 0; i < f->nunloaded; i++) {
		const md_unloaded *u = &f->unloaded[i];
		v[i].path = u->path ? xstrdup(u->path) : NULL;
		v[i].name = xstrdup(u->path ? win_path_tail(u->path) : "?");
		v[i].base = u->base;
		v[i].size = u->size;
		v[i].format = "pe";
		v[i].loader_index = -1;
	}
	*out = v;
	*n = f->nunloaded;
	return 0;
}

/* ---- facts ---- */

static vm_arch md_arch(uint16_t a)
{
	switch (a) {
	case 0: return VM_ARCH_I386;
	case 5: return VM_ARCH_ARM;
	case 9: return VM_ARCH_X86_64;
	case 12: return VM_ARCH_AARCH64;
	default: return VM_ARCH_UNKNOWN;
	}
}

static int md_info(vm_target *t, vm_target_info *out)
{
	md_target *mt = MDT(t);
	const md_file *f = &mt->f;
	if (!mt->have_info) {
		vm_target_info *in = &mt->info;
		in->kind = VM_TARGET_MINIDUMP;
		in->pid = f->have_pid ? f->pid : 0;
		/* breakpad's platform ids beside Windows' VER_PLATFORM_WIN32_NT */
		bool lin = f->platform == 0x8201 || f->platform == 0x8203;
		in->os = lin ? VM_OS_LINUX : f->platform == 0x8101 ? VM_OS_MACOS : f->platform == 0x8102 ? VM_OS_IOS
		       : f->platform == 2 || f->platform == 1 ? VM_OS_WINDOWS : VM_OS_UNKNOWN;
		in->arch = md_arch(f->cpu_arch);
		in->bits = f->bits;
		in->state = '?';
		in->page_size = 4096;
		/* breakpad's Linux dumps: Linux's; every other: Windows' */
		in->user_top = vm_user_top(lin ? VM_OS_LINUX : VM_OS_WINDOWS, f->bits, in->page_size);
		if (f->nmods) {
			in->exe = xstrdup(f->mods[0].path);
			in->name = xstrdup(win_path_tail(f->mods[0].path));
		}
		in->start_time = f->create_time;
		in->win.handles = f->have_handles ? (int64_t)f->nhandles : -1;
		/* VER_PLATFORM_WIN32s, _WINDOWS, _WIN32_NT; breakpad's other
		   systems (0x8101 macOS, 0x8201 Linux ...) have no Windows version */
		if (f->have_system_info && f->platform <= 2) {
			in->win.have_version = true;
			in->win.version_source = "systeminfo";
			in->win.os_major = f->os_major;
			in->win.os_minor = f->os_minor;
			in->win.os_build = f->os_build;
			in->win.platform_id = f->platform;
			in->win.product_type = f->product_type;
			in->win.suite_mask = f->suite_mask;
			in->win.csd = f->csd;
		}
		if (f->have_exception) {
			in->win.exception = true;
			in->win.exception_code = f->exc_code;
			in->win.exception_addr = f->exc_addr;
			in->win.exception_tid = f->exc_tid;
		}
		char *w = f->warnings ? xstrdup(f->warnings) : NULL;
		if (!f->have_info && !f->nlinux_maps) {
			char *p = xasprintf("%s%sthe dump has no memory info list: the map is partial (the memory "
					    "it holds and its modules)", w ? w : "", w ? "; " : "");
			free(w);
			w = p;
		}
		mt->warnings = w;
		in->warnings = w;
		mt->have_info = true;
	}
	*out = mt->info;
	return 0;
}

static void md_close(vm_target *t)
{
	md_target *mt = MDT(t);
	md_file_free(&mt->f);
	if (mt->fd >= 0)
		close(mt->fd);
	free(mt->info.exe);
	free(mt->info.name);
	free(mt->warnings);
	free(mt);
}

static int md_handles(vm_target *t, vm_win_handle **out, size_t *n)
{
	const md_file *f = &MDT(t)->f;
	vm_win_handle *h = xcalloc(f->nhandle_list ? f->nhandle_list : 1, sizeof *h);
	for (size_t i = 0; i < f->nhandle_list; i++) {
		h[i] = f->handles[i];
		h[i].type = f->handles[i].type ? xstrdup(f->handles[i].type) : NULL;
		h[i].name = f->handles[i].name ? xstrdup(f->handles[i].name) : NULL;
	}
	*out = h;
	*n = f->nhandle_list;
	return 0;
}

static unsigned md_caps(vm_target *t)
{
	return VM_CAP_PRESENT | VM_CAP_MODULES | VM_CAP_UNLOADED | (MDT(t)->f.have_handles ? VM_CAP_HANDLES : 0);
}

static const struct vm_target_ops md_ops = {
	.kind = VM_TARGET_MINIDUMP,
	.caps = md_caps,
	.info = md_info,
	.regions = md_regions,
	.read = md_read,
	.threads = md_threads,
	.modules = md_modules,
	.unloaded_modules = md_unloaded_list,
	.handles = md_handles,
	.pages_present = md_pages_present,
	.close = md_close,
};

vm_target *md_target_open_reader(const vm_reader *r, const char *name)
{
	(void)name;
	md_target *mt = xcalloc(1, sizeof *mt);
	mt->base.ops = &md_ops;
	mt->fd = -1;
	if (md_parse(&mt->f, r) < 0) {
		free(mt);
		return NULL;
	}
	md_wow64_view(&mt->f, &mt->base);
	return &mt->base;
}

void md_target_own_fd(vm_target *t, int fd)
{
	MDT(t)->fd = fd;
}

/* ---- the backend ---- */

static bool md_probe(const char *spec, const vm_open_options *o, const uint8_t *head, size_t len)
{
	(void)spec, (void)o;
	return head && md_is_magic(head, len);
}

static vm_target *md_backend_open(const char *spec, const vm_open_options *o)
{
	(void)o;
	return vm_target_open_file(spec, md_target_open_reader, md_target_own_fd);
}

const vm_backend md_backend = {
	.name = "minidump",
	.probe = md_probe,
	.open = md_backend_open,
};
