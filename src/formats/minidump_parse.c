/* Reading a minidump: the header, the stream directory, and the streams
 * vmatlas uses. Every stream is read whole through the reader after its
 * location is checked against the file; every count against the stream's
 * size before anything is allocated. */
#include "minidump.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/warnlist.h"
#include "base/utf16.h"
#include "base/util.h"
#include "formats/proc_parse.h"
#include "vmatlas/error.h"

#define MAX_STREAM (256u << 20)
#define MAX_WARNINGS 32
#define MAX_NAME 65536u

enum {
	ST_THREAD_LIST = 3, ST_MODULE_LIST = 4, ST_MEMORY_LIST = 5, ST_EXCEPTION = 6,
	ST_SYSTEM_INFO = 7, ST_MEMORY64_LIST = 9, ST_HANDLE_DATA = 12, ST_UNLOADED_MODULES = 14,
	ST_MISC_INFO = 15, ST_MEMORY_INFO_LIST = 16, ST_THREAD_INFO_LIST = 17, ST_THREAD_NAMES = 24,
	ST_LINUX_MAPS = 0x47670009,
};

static void warn(md_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(md_file *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	warnlist_add(&f->warnings, &f->nwarnings, MAX_WARNINGS, fmt, ap);
	va_end(ap);
}

bool md_is_magic(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	return len >= 8 && memcmp(p, "MDMP", 4) == 0 && ld_le16(p + 4) == 0xa793;
}

/* a stream's bytes, or NULL (past the end of the file, too large) */
static uint8_t *blob(md_file *f, uint64_t rva, uint64_t size, const char *what)
{
	if (size == 0 || size > MAX_STREAM || rva > f->r.size || size > f->r.size - rva) {
		if (size)
			warn(f, "%s (%llu bytes at 0x%llx) lies past the end of the file", what,
			     (unsigned long long)size, (unsigned long long)rva);
		return NULL;
	}
	uint8_t *b = xmalloc((size_t)size);
	if (!vm_reader_full(&f->r, rva, b, (size_t)size)) {
		warn(f, "%s is unreadable", what);
		free(b);
		return NULL;
	}
	return b;
}

/* MINIDUMP_STRING (UTF-16LE, length in bytes) as UTF-8; NULL if bad */
static char *md_string(md_file *f, uint64_t rva)
{
	uint8_t lb[4];
	if (rva == 0 || rva > f->r.size || f->r.size - rva < 4 || !vm_reader_full(&f->r, rva, lb, 4))
		return NULL;
	uint32_t len = ld_le32(lb) & ~1u;
	if (len > MAX_NAME || len > f->r.size - rva - 4)
		return NULL;
	uint8_t *u = xmalloc(len ? len : 1);
	if (len && !vm_reader_full(&f->r, rva + 4, u, len)) {
		free(u);
		return NULL;
	}
	size_t units = 0;
	while (units < len / 2 && (u[2 * units] || u[2 * units + 1]))
		units++;
	char *out = utf16le_to_utf8(u, units);
	free(u);
	return out;
}

/* ---- memory ---- */

static int cmp_range(const void *a, const void *b)
{
	const md_range *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void add_range(md_file *f, size_t *cap, uint64_t addr, uint64_t size, uint64_t off)
{
	if (!size)
		return;
	if (off > f->r.size || size > f->r.size - off) {
		warn(f, "the memory at 0x%llx lies past the end of the file", (unsigned long long)addr);
		size = off > f->r.size ? 0 : f->r.size - off;
		if (!size)
			return;
	}
	if (addr + size < addr)
		size = 0 - addr;
	*ARRAY_PUSH(f->mem, f->nmem, *cap) = (md_range){ addr, size, off };
}

/* a stream too short for its own header: said, not dropped silently */
static bool short_stream(md_file *f, const char *name, uint64_t len, uint64_t need)
{
	if (len >= need)
		return false;
	warn(f, "%s is too short (%llu bytes, its header alone is %llu): ignored", name, (unsigned long long)len,
	     (unsigned long long)need);
	return true;
}

static void memory_list(md_file *f, const uint8_t *b, uint64_t len, size_t *cap)
{
	if (short_stream(f, "MemoryList", len, 4))
		return;
	uint32_t n = ld_le32(b);
	if (n > (len - 4) / 16) {
		warn(f, "MemoryList claims %u ranges in %llu bytes", n, (unsigned long long)len);
		n = (uint32_t)((len - 4) / 16);
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = b + 4 + 16 * (size_t)i;
		add_range(f, cap, ld_le64(p), ld_le32(p + 8), ld_le32(p + 12));
	}
}

static void memory64_list(md_file *f, const uint8_t *b, uint64_t len, size_t *cap)
{
	if (short_stream(f, "Memory64List", len, 16))
		return;
	uint64_t n = ld_le64(b), off = ld_le64(b + 8);
	if (n > (len - 16) / 16) {
		warn(f, "Memory64List claims %llu ranges in %llu bytes", (unsigned long long)n,
		     (unsigned long long)len);
		n = (len - 16) / 16;
	}
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *p = b + 16 + 16 * i;
		uint64_t addr = ld_le64(p), size = ld_le64(p + 8);
		if (off > f->r.size) {
			warn(f, "Memory64List data runs past the end of the file");
			break;
		}
		add_range(f, cap, addr, size, off);
		if (add_overflow_u64(off, size, &off))
			break;
	}
}

static void sort_memory(md_file *f)
{
	if (f->nmem > 1)
		qsort(f->mem, f->nmem, sizeof *f->mem, cmp_range);
	size_t out = 0;
	for (size_t i = 0; i < f->nmem; i++) {
		md_range r = f->mem[i];
		if (out) {
			const md_range *p = &f->mem[out - 1];
			uint64_t pend = p->addr + p->size;
			if (pend == 0 || pend > r.addr) {
				uint64_t cut = pend == 0 ? r.size : pend - r.addr;
				if (cut >= r.size)
					continue;
				r.addr += cut;
				r.off += cut;
				r.size -= cut;
			}
		}
		f->mem[out++] = r;
	}
	f->nmem = out;
}

static int cmp_info(const void *a, const void *b)
{
	const md_meminfo *x = a, *y = b;
	return x->base < y->base ? -1 : x->base > y->base;
}

static void memory_info_list(md_file *f, const uint8_t *b, uint64_t len)
{
	if (short_stream(f, "MemoryInfoList", len, 16))
		return;
	uint32_t hsz = ld_le32(b), esz = ld_le32(b + 4);
	uint64_t n = ld_le64(b + 8);
	if (hsz < 16 || hsz > len || esz < 48) {
		warn(f, "MemoryInfoList has a bad header (%u, %u)", hsz, esz);
		return;
	}
	if (n > (len - hsz) / esz) {
		warn(f, "MemoryInfoList claims %llu entries in %llu bytes", (unsigned long long)n,
		     (unsigned long long)len);
		n = (len - hsz) / esz;
	}
	f->info = xcalloc(n ? n : 1, sizeof *f->info);
	unsigned cut = 0;
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *p = b + hsz + esz * i;
		md_meminfo m = { ld_le64(p), ld_le64(p + 8), ld_le64(p + 24), ld_le32(p + 16),
				 ld_le32(p + 32), ld_le32(p + 36), ld_le32(p + 40) };
		if (m.size == 0)
			continue;
		if (m.base + m.size < m.base) {
			/* cut at the top of the address space (the map cuts it
			 * further, at the top of user space) */
			if (!cut++)
				warn(f, "MemoryInfoList entry at 0x%llx claims %llu bytes, past the end of the address "
				     "space: cut", (unsigned long long)m.base, (unsigned long long)m.size);
			m.size = 0 - m.base;
			if (m.size == 0)
				continue;
		}
		f->info[f->ninfo++] = m;
	}
	if (f->ninfo > 1)
		qsort(f->info, f->ninfo, sizeof *f->info, cmp_info);
	size_t out = 0;
	for (size_t i = 0; i < f->ninfo; i++) {
		if (out && f->info[out - 1].base + f->info[out - 1].size > f->info[i].base) {
			warn(f, "MemoryInfoList entries overlap at 0x%llx", (unsigned long long)f->info[i].base);
			continue;
		}
		f->info[out++] = f->info[i];
	}
	f->ninfo = out;
	f->have_info = true;
}

/* ---- threads ---- */

static void context(md_file *f, md_thread *t, uint32_t size, uint32_t rva)
{
	vm_thread *th = &t->th;
	th->tp = t->teb;
	if (f->cpu_arch == 9 /* AMD64 */ && size >= 256) {
		uint8_t *c = blob(f, rva, size < 1232 ? size : 1232, "a thread context");
		if (!c)
			return;
		static const struct { const char *name; unsigned off; } r64[] = {
			{ "rax", 120 }, { "rbx", 144 }, { "rcx", 128 }, { "rdx", 136 }, { "rsi", 168 },
			{ "rdi", 176 }, { "rbp", 160 }, { "rsp", 152 }, { "r8", 184 },  { "r9", 192 },
			{ "r10", 200 }, { "r11", 208 }, { "r12", 216 }, { "r13", 224 }, { "r14", 232 },
			{ "r15", 240 }, { "rip", 248 },
		};
		for (size_t i = 0; i < ARRAY_LEN(r64); i++)
			th->regs[th->nregs++] = (vm_reg){ r64[i].name, ld_le64(c + r64[i].off) };
		th->regs[th->nregs++] = (vm_reg){ "eflags", ld_le32(c + 68) };
		static const struct { const char *name; unsigned off; } seg[] = {
			{ "cs", 56 }, { "ds", 58 }, { "es", 60 }, { "fs", 62 }, { "gs", 64 }, { "ss", 66 },
		};
		for (size_t i = 0; i < ARRAY_LEN(seg); i++)
			th->regs[th->nregs++] = (vm_reg){ seg[i].name, ld_le16(c + seg[i].off) };
		th->pc = ld_le64(c + 248);
		th->sp = ld_le64(c + 152);
		th->fp = ld_le64(c + 160);
		free(c);
	} else if (f->cpu_arch == 0 /* x86 */ && size >= 204) {
		uint8_t *c = blob(f, rva, 204, "a thread context");
		if (!c)
			return;
		static const struct { const char *name; unsigned off; } r32[] = {
			{ "eax", 176 }, { "ebx", 164 }, { "ecx", 172 }, { "edx", 168 }, { "esi", 160 },
			{ "edi", 156 }, { "ebp", 180 }, { "esp", 196 }, { "eip", 184 }, { "eflags", 192 },
			{ "cs", 188 },  { "ss", 200 },  { "ds", 152 },  { "es", 148 },  { "fs", 144 },
			{ "gs", 140 },
		};
		for (size_t i = 0; i < ARRAY_LEN(r32); i++)
			th->regs[th->nregs++] = (vm_reg){ r32[i].name, ld_le32(c + r32[i].off) };
		th->pc = ld_le32(c + 184);
		th->sp = ld_le32(c + 196);
		th->fp = ld_le32(c + 180);
		free(c);
	} else {
		return;
	}
	th->regs_valid = true;
	th->sp_valid = true;
}

static void thread_list(md_file *f, const uint8_t *b, uint64_t len)
{
	if (f->threads || short_stream(f, "ThreadList", len, 4))
		return;
	uint32_t n = ld_le32(b);
	if (n > (len - 4) / 48) {
		warn(f, "ThreadList claims %u threads in %llu bytes", n, (unsigned long long)len);
		n = (uint32_t)((len - 4) / 48);
	}
	f->threads = xcalloc(n ? n : 1, sizeof *f->threads);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = b + 4 + 48 * (size_t)i;
		md_thread *t = &f->threads[f->nthreads++];
		t->th.tid = ld_le32(p);
		t->th.state = '?';
		t->suspend_count = ld_le32(p + 4);
		t->priority_class = ld_le32(p + 8);
		t->priority = ld_le32(p + 12);
		t->teb = ld_le64(p + 16);
		t->stack_addr = ld_le64(p + 24);
		t->stack_size = ld_le32(p + 32);
		context(f, t, ld_le32(p + 40), ld_le32(p + 44));
	}
}

static md_thread *thread_by_id(md_file *f, uint32_t tid)
{
	for (size_t i = 0; i < f->nthreads; i++)
		if (f->threads[i].th.tid == tid)
			return &f->threads[i];
	return NULL;
}

static void thread_info_list(md_file *f, const uint8_t *b, uint64_t len)
{
	if (short_stream(f, "ThreadInfoList", len, 12))
		return;
	uint32_t hsz = ld_le32(b), esz = ld_le32(b + 4), n = ld_le32(b + 8);
	if (hsz < 12 || hsz > len || esz < 64) {
		warn(f, "ThreadInfoList has a bad header (%u, %u): ignored", hsz, esz);
		return;
	}
	if (n > (len - hsz) / esz) {
		warn(f, "ThreadInfoList claims %u entries in %llu bytes", n, (unsigned long long)len);
		n = (uint32_t)((len - hsz) / esz);
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = b + hsz + (size_t)esz * i;
		md_thread *t = thread_by_id(f, ld_le32(p));
		if (t)
			t->start_address = ld_le64(p + 48);
	}
}

static void thread_names(md_file *f, const uint8_t *b, uint64_t len)
{
	if (len < 4)
		return;
	uint32_t n = ld_le32(b);
	if (n > (len - 4) / 12)
		n = (uint32_t)((len - 4) / 12);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = b + 4 + 12 * (size_t)i;
		md_thread *t = thread_by_id(f, ld_le32(p));
		if (t && !t->th.name)
			t->th.name = md_string(f, ld_le64(p + 4));
	}
}

/* ---- modules ---- */

static void codeview(md_file *f, md_module *m, uint32_t size, uint32_t rva)
{
	if (size < 24 || size > 4096)
		return;
	uint8_t *c = blob(f, rva, size, "a CodeView record");
	if (!c)
		return;
	if (memcmp(c, "RSDS", 4) == 0) {
		memcpy(m->guid, c + 4, 16);
		m->age = ld_le32(c + 20);
		m->pdb = xstrndup((const char *)c + 24, size - 24);
		m->have_cv = true;
	}
	free(c);
}

static void module_list(md_file *f, const uint8_t *b, uint64_t len)
{
	if (f->mods || short_stream(f, "ModuleList", len, 4))
		return;
	uint32_t n = ld_le32(b);
	if (n > (len - 4) / 108) {
		warn(f, "ModuleList claims %u modules in %llu bytes", n, (unsigned long long)len);
		n = (uint32_t)((len - 4) / 108);
	}
	f->mods = xcalloc(n ? n : 1, sizeof *f->mods);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = b + 4 + 108 * (size_t)i;
		md_module *m = &f->mods[f->nmods++];
		m->base = ld_le64(p);
		m->size = ld_le32(p + 8);
		m->checksum = ld_le32(p + 12);
		m->timestamp = ld_le32(p + 16);
		m->path = md_string(f, ld_le32(p + 20));
		if (!m->path)
			m->path = xasprintf("module@0x%llx", (unsigned long long)m->base);
		/* VS_FIXEDFILEINFO at 24: signature, struc version, then the file version */
		if (ld_le32(p + 24) == 0xfeef04bd) {
			m->version_ms = ld_le32(p + 32);
			m->version_ls = ld_le32(p + 36);
		}
		codeview(f, m, ld_le32(p + 76), ld_le32(p + 80));
	}
}

static void unloaded_list(md_file *f, const uint8_t *b, uint64_t len)
{
	if (f->unloaded || short_stream(f, "UnloadedModuleList", len, 12))
		return;
	uint32_t hsz = ld_le32(b), esz = ld_le32(b + 4), n = ld_le32(b + 8);
	if (hsz < 12 || hsz > len || esz < 24) {
		warn(f, "UnloadedModuleList has a bad header (%u, %u): ignored", hsz, esz);
		return;
	}
	if (n > (len - hsz) / esz) {
		warn(f, "UnloadedModuleList claims %u entries in %llu bytes", n, (unsigned long long)len);
		n = (uint32_t)((len - hsz) / esz);
	}
	f->unloaded = xcalloc(n ? n : 1, sizeof *f->unloaded);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = b + hsz + (size_t)esz * i;
		md_unloaded *u = &f->unloaded[f->nunloaded++];
		u->base = ld_le64(p);
		u->size = ld_le32(p + 8);
		u->timestamp = ld_le32(p + 16);
		u->path = md_string(f, ld_le32(p + 20));
	}
}

/* ---- the rest ---- */

static void system_info(md_file *f, const uint8_t *b, uint64_t len)
{
	if (short_stream(f, "SystemInfo", len, 24))
		return;
	f->cpu_arch = ld_le16(b);
	f->nproc = b[6];
	f->os_major = ld_le32(b + 8);
	f->os_minor = ld_le32(b + 12);
	f->os_build = ld_le32(b + 16);
	f->platform = ld_le32(b + 20);
	f->bits = f->cpu_arch == 9 || f->cpu_arch == 12 ? 64 : 32;
	f->product_type = b[7];
	f->have_system_info = true;
	if (len >= 32) {
		uint32_t csd = ld_le32(b + 24);
		f->suite_mask = ld_le16(b + 28);
		free(f->csd);
		f->csd = csd ? md_string(f, csd) : NULL;
		if (f->csd && !f->csd[0]) {
			free(f->csd);
			f->csd = NULL;
		}
	}
}

static void exception(md_file *f, const uint8_t *b, uint64_t len)
{
	if (short_stream(f, "the exception stream", len, 32))
		return;
	f->have_exception = true;
	f->exc_tid = ld_le32(b);
	f->exc_code = ld_le32(b + 8);
	f->exc_flags = ld_le32(b + 12);
	f->exc_addr = ld_le64(b + 24);
	/* MINIDUMP_EXCEPTION is 152 bytes after the thread id and its
	 * padding; the context's location follows it */
	if (len >= 168) {
		f->exc_ctx_size = ld_le32(b + 160);
		f->exc_ctx_rva = ld_le32(b + 164);
	}
}

/* the crashing thread as it was at the exception: its registers from
 * the exception's context (.ecxr), which is what a debugger shows */
static void exception_thread(md_file *f)
{
	if (!f->have_exception)
		return;
	md_thread *t = thread_by_id(f, f->exc_tid);
	if (!t) {
		warn(f, "the exception names thread %u, which is not in the thread list", f->exc_tid);
		return;
	}
	if (!f->exc_ctx_size)
		return;
	md_thread x;
	memset(&x, 0, sizeof x);
	x.teb = t->teb;
	context(f, &x, f->exc_ctx_size, f->exc_ctx_rva);
	if (!x.th.regs_valid) {
		warn(f, "the exception's context (%u bytes at 0x%x) is unreadable", f->exc_ctx_size, f->exc_ctx_rva);
		return;
	}
	memcpy(t->th.regs, x.th.regs, sizeof t->th.regs);
	t->th.nregs = x.th.nregs;
	t->th.pc = x.th.pc;
	t->th.sp = x.th.sp;
	t->th.fp = x.th.fp;
	t->th.regs_valid = t->th.sp_valid = true;
	t->th.regs_exception = true;
}

static void misc_info(md_file *f, const uint8_t *b, uint64_t len)
{
	if (len < 12)
		return;
	uint32_t flags = ld_le32(b + 4);
	if (flags & 1) { /* MINIDUMP_MISC1_PROCESS_ID */
		f->have_pid = true;
		f->pid = ld_le32(b + 8);
	}
	if ((flags & 2) && len >= 16)
		f->create_time = ld_le32(b + 12);
}

static void handle_data(md_file *f, const uint8_t *b, uint64_t len)
{
	if (short_stream(f, "HandleData", len, 16))
		return;
	uint32_t hsz = ld_le32(b), dsz = ld_le32(b + 4), n = ld_le32(b + 8);
	if (hsz < 16 || hsz > len || dsz < 32) {
		warn(f, "HandleData has a bad header (%u, %u): ignored", hsz, dsz);
		return;
	}
	f->nhandles = n < (len - hsz) / dsz ? n : (size_t)((len - hsz) / dsz);
	if (f->nhandles < n)
		warn(f, "HandleData claims %u handles in %llu bytes", n, (unsigned long long)len);
	f->have_handles = true;
	/* MINIDUMP_HANDLE_DESCRIPTOR(_2): Handle, TypeNameRva, ObjectNameRva,
	 * Attributes, GrantedAccess, HandleCount, PointerCount */
	f->handles = xcalloc(f->nhandles ? f->nhandles : 1, sizeof *f->handles);
	for (size_t i = 0; i < f->nhandles; i++) {
		const uint8_t *p = b + hsz + (size_t)dsz * i;
		vm_win_handle *h = &f->handles[f->nhandle_list++];
		h->handle = ld_le64(p);
		h->type = md_string(f, ld_le32(p + 8));
		h->name = md_string(f, ld_le32(p + 12));
		h->attributes = ld_le32(p + 16);
		h->granted_access = ld_le32(p + 20);
		h->handle_count = ld_le32(p + 24);
		h->pointer_count = ld_le32(p + 28);
	}
}

static void linux_maps(md_file *f, const uint8_t *b, uint64_t len)
{
	if (f->linux_maps)
		return;
	if (proc_parse_maps((const char *)b, (size_t)len, &f->linux_maps, &f->nlinux_maps) < 0) {
		warn(f, "the LinuxMaps stream is malformed");
		f->linux_maps = NULL;
		f->nlinux_maps = 0;
	}
}

int md_parse(md_file *f, const vm_reader *r)
{
	memset(f, 0, sizeof *f);
	f->r = *r;
	uint8_t h[32];
	if (!vm_reader_full(r, 0, h, sizeof h) || !md_is_magic(h, sizeof h)) {
		vm_seterr("not a minidump");
		return -1;
	}
	f->nstreams = ld_le32(h + 8);
	uint32_t dir = ld_le32(h + 12);
	f->time = ld_le32(h + 20);
	f->flags = ld_le64(h + 24);
	f->bits = 64;
	f->cpu_arch = 0xffff; /* unknown until SystemInfo says */
	if (dir > r->size || f->nstreams > (r->size - dir) / 12) {
		vm_seterr("the stream directory (%u streams at 0x%x) lies past the end of the file", f->nstreams, dir);
		return -1;
	}
	uint8_t *d = blob(f, dir, (uint64_t)f->nstreams * 12, "the stream directory");
	if (!d && f->nstreams) {
		vm_seterr("the stream directory is unreadable");
		md_file_free(f);
		return -1;
	}
	/* SystemInfo first: thread contexts depend on the processor */
	size_t mcap = 0;
	for (int pass = 0; pass < 3; pass++) {
		for (uint32_t i = 0; i < f->nstreams; i++) {
			uint32_t type = ld_le32(d + 12 * i), size = ld_le32(d + 12 * i + 4), rva = ld_le32(d + 12 * i + 8);
			bool sys = type == ST_SYSTEM_INFO;
			bool late = type == ST_THREAD_INFO_LIST || type == ST_THREAD_NAMES;
			if ((pass == 0) != sys || (pass == 2) != late)
				continue;
			if (!size)
				continue;
			uint8_t *b = blob(f, rva, size, "a stream");
			if (!b)
				continue;
			switch (type) {
			case ST_SYSTEM_INFO: system_info(f, b, size); break;
			case ST_THREAD_LIST: thread_list(f, b, size); break;
			case ST_MODULE_LIST: module_list(f, b, size); break;
			case ST_MEMORY_LIST: memory_list(f, b, size, &mcap); break;
			case ST_MEMORY64_LIST: memory64_list(f, b, size, &mcap); break;
			case ST_MEMORY_INFO_LIST: if (!f->have_info) memory_info_list(f, b, size); break;
			case ST_EXCEPTION: if (!f->have_exception) exception(f, b, size); break;
			case ST_MISC_INFO: misc_info(f, b, size); break;
			case ST_HANDLE_DATA: handle_data(f, b, size); break;
			case ST_UNLOADED_MODULES: unloaded_list(f, b, size); break;
			case ST_THREAD_INFO_LIST: thread_info_list(f, b, size); break;
			case ST_THREAD_NAMES: thread_names(f, b, size); break;
			case ST_LINUX_MAPS: linux_maps(f, b, size); break;
			default: break;
			}
			free(b);
		}
	}
	free(d);
	sort_memory(f);
	exception_thread(f);
	return 0;
}

void md_file_free(md_file *f)
{
	free(f->mem);
	free(f->csd);
	free(f->info);
	vm_regions_free(f->linux_maps, f->nlinux_maps);
	for (size_t i = 0; i < f->nmods; i++) {
		free(f->mods[i].path);
		free(f->mods[i].pdb);
	}
	free(f->mods);
	for (size_t i = 0; i < f->nunloaded; i++)
		free(f->unloaded[i].path);
	free(f->unloaded);
	for (size_t i = 0; i < f->nthreads; i++)
		free(f->threads[i].th.name);
	free(f->threads);
	for (size_t i = 0; i < f->nhandle_list; i++) {
		free(f->handles[i].type);
		free(f->handles[i].name);
	}
	free(f->handles);
	free(f->warnings);
	memset(f, 0, sizeof *f);
}
