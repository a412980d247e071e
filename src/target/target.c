/* The functions every caller uses on a target: each checks what the
 * target can do and calls its backend's op. No backend is named here
 * (registry.c picks them). */
#include "backend.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/open_file.h"
#include "base/util.h"
#include "vmatlas/error.h"

vm_target *vm_target_open_file(const char *path, vm_target *(*open_reader)(const vm_reader *, const char *),
			       void (*own_fd)(vm_target *, int))
{
	int fd = open_regular(path);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		if (fd >= 0)
			vm_seterr_errno("%s", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
	vm_target *t = open_reader(&r, path);
	if (!t) {
		char *e = xstrdup(vm_error());
		vm_seterr("%s: %s", path, e);
		free(e);
		close(fd);
		return NULL;
	}
	own_fd(t, fd);
	return t;
}

void vm_target_close(vm_target *t)
{
	if (t)
		t->ops->close(t);
}

vm_target_kind vm_target_kind_of(vm_target *t)
{
	return t->ops->kind;
}

int vm_target_saved_map(vm_target *t, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	return t->ops->saved_map ? t->ops->saved_map(t, buf, len) : 1;
}

unsigned vm_target_caps(vm_target *t)
{
	return t->ops->caps ? t->ops->caps(t) : 0;
}

/* the op behind cap, or an error saying the target lacks it */
static bool has(vm_target *t, unsigned cap, bool op, const char *what)
{
	if ((vm_target_caps(t) & cap) && op)
		return true;
	vm_seterr("a %s target has no %s", vm_target_kind_name(t->ops->kind), what);
	return false;
}

int vm_target_info_get(vm_target *t, vm_target_info *out)
{
	memset(out, 0, sizeof *out);
	if (t->ops->info(t, out) < 0)
		return -1;
	out->caps = vm_target_caps(t);
	return 0;
}

int vm_target_regions(vm_target *t, unsigned flags, vm_region **out, size_t *n)
{
	return t->ops->regions(t, flags, out, n);
}

int vm_target_threads(vm_target *t, unsigned flags, vm_thread **out, size_t *n)
{
	return t->ops->threads(t, flags, out, n);
}

int vm_target_pages(vm_target *t, uint64_t addr, uint64_t npages, vm_page_run **runs,
		    size_t *nruns, vm_page_counts *counts)
{
	if (!has(t, VM_CAP_PAGES, t->ops->pages, "per-page information"))
		return -1;
	return t->ops->pages(t, addr, npages, runs, nruns, counts);
}

int vm_target_auxv(vm_target *t, vm_auxv **out, size_t *n)
{
	if (!has(t, VM_CAP_AUXV, t->ops->auxv, "auxiliary vector"))
		return -1;
	return t->ops->auxv(t, out, n);
}

void vm_target_pages_present(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out)
{
	if ((vm_target_caps(t) & VM_CAP_PRESENT) && t->ops->pages_present)
		t->ops->pages_present(t, addrs, n, out);
	else
		memset(out, -1, n);
}

int vm_target_present_range(vm_target *t, uint64_t addr, uint64_t npages, int8_t *out)
{
	if (!(vm_target_caps(t) & VM_CAP_PRESENT) || !t->ops->present_range)
		return -1;
	return t->ops->present_range(t, addr, npages, out);
}

int vm_target_open_backing(vm_target *t, const vm_region *r)
{
	if (!(vm_target_caps(t) & VM_CAP_BACKING) || !t->ops->open_backing)
		return -1;
	return t->ops->open_backing(t, r);
}

int vm_target_modules(vm_target *t, vm_module **out, size_t *n)
{
	if (!has(t, VM_CAP_MODULES, t->ops->modules, "module list of its own"))
		return -1;
	return t->ops->modules(t, out, n);
}

int vm_target_unloaded_modules(vm_target *t, vm_module **out, size_t *n)
{
	if (!has(t, VM_CAP_UNLOADED, t->ops->unloaded_modules, "list of unloaded modules"))
		return -1;
	return t->ops->unloaded_modules(t, out, n);
}

int vm_target_handles(vm_target *t, vm_win_handle **out, size_t *n)
{
	if (!has(t, VM_CAP_HANDLES, t->ops->handles, "list of handles"))
		return -1;
	return t->ops->handles(t, out, n);
}

int vm_target_write_dump(vm_target *t, int fd, bool private_only)
{
	if (!has(t, VM_CAP_OS_DUMP, t->ops->write_dump, "dump written by the OS"))
		return -1;
	return t->ops->write_dump(t, fd, private_only);
}

void vm_win_handles_free(vm_win_handle *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].type);
		free(h[i].name);
	}
	free(h);
}

int vm_target_freeze(vm_target *t)
{
	if (!has(t, VM_CAP_FREEZE, t->ops->freeze, "threads to freeze"))
		return -1;
	return t->ops->freeze(t);
}

int vm_target_thaw(vm_target *t)
{
	if (!(vm_target_caps(t) & VM_CAP_FREEZE) || !t->ops->thaw)
		return 0;
	return t->ops->thaw(t);
}

void vm_target_keep_running(vm_target *t)
{
	if (t && t->ops->keep_running)
		t->ops->keep_running(t);
}

/* ---- memory ---- */

ssize_t vm_read(vm_target *t, uint64_t addr, void *buf, size_t len)
{
	return t->ops->read(t, addr, buf, len);
}

int vm_read_full(vm_target *t, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = t->ops->read(t, addr, buf, len);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		vm_seterr("cannot read %zu bytes at 0x%llx", len, (unsigned long long)(addr + (uint64_t)n));
		return -1;
	}
	return 0;
}

void vm_read_many(vm_target *t, vm_read_req *reqs, size_t n)
{
	if (t->ops->read_many) {
		t->ops->read_many(t, reqs, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ssize_t got = t->ops->read(t, reqs[i].addr, reqs[i].buf, reqs[i].len);
		reqs[i].got = got > 0 ? (size_t)got : 0;
	}
}

static ssize_t target_reader_read(const vm_reader *r, uint64_t off, void *buf, size_t len)
{
	return vm_read(r->ctx, off, buf, len);
}

vm_reader vm_reader_target(vm_target *t)
{
	vm_reader r = { target_reader_read, t, UINT64_MAX };
	return r;
}
