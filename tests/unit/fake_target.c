#include "fake_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "formats/proc_parse.h"

static int f_info(vm_target *t, vm_target_info *out)
{
	*out = ((fake_target *)t)->info;
	return 0;
}

static int f_regions(vm_target *t, unsigned flags, vm_region **out, size_t *n)
{
	fake_target *f = (fake_target *)t;
	(void)flags;
	vm_region *r = xcalloc(f->nregions ? f->nregions : 1, sizeof *r);
	for (size_t i = 0; i < f->nregions; i++) {
		r[i] = f->regions[i];
		r[i].path = f->regions[i].path ? xstrdup(f->regions[i].path) : NULL;
	}
	*out = r;
	*n = f->nregions;
	return 0;
}

static ssize_t f_read(vm_target *t, uint64_t addr, void *buf, size_t len)
{
	fake_target *f = (fake_target *)t;
	size_t done = 0;
	while (done < len) {
		uint64_t at = addr + done;
		const fake_blob *hit = NULL;
		for (size_t i = 0; i < f->nblobs; i++)
			if (at >= f->blobs[i].addr && at - f->blobs[i].addr < f->blobs[i].len)
				hit = &f->blobs[i];
		if (!hit)
			break;
		size_t off = (size_t)(at - hit->addr), n = hit->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)buf + done, hit->bytes + off, n);
		done += n;
	}
	return (ssize_t)done;
}

static int f_threads(vm_target *t, unsigned flags, vm_thread **out, size_t *n)
{
	fake_target *f = (fake_target *)t;
	(void)flags;
	vm_thread *th = xcalloc(f->nthreads ? f->nthreads : 1, sizeof *th);
	for (size_t i = 0; i < f->nthreads; i++) {
		th[i] = f->threads[i];
		th[i].name = xstrdup(f->threads[i].name);
	}
	*out = th;
	*n = f->nthreads;
	return 0;
}

static void f_close(vm_target *t)
{
	(void)t;
}

static const struct vm_target_ops fake_ops = {
	.kind = VM_TARGET_FAKE,
	.info = f_info,
	.regions = f_regions,
	.read = f_read,
	.threads = f_threads,
	.close = f_close,
};

void fake_init(fake_target *f)
{
	memset(f, 0, sizeof *f);
	f->base.ops = &fake_ops;
	f->info.kind = VM_TARGET_FAKE;
	f->info.pid = 42;
	f->info.os = VM_OS_LINUX;
	f->info.arch = VM_ARCH_X86_64;
	f->info.bits = 64;
	f->info.page_size = 4096;
	f->info.user_top = (1ull << 47) - 4096;
}

vm_region *fake_region(fake_target *f, uint64_t base, uint64_t size, const char *prot,
		       const char *path, uint64_t offset, uint64_t inode)
{
	char line[512];
	snprintf(line, sizeof line, "%llx-%llx %s %08llx 08:01 %llu %s", (unsigned long long)base,
		 (unsigned long long)(base + size), prot, (unsigned long long)offset,
		 (unsigned long long)inode, path ? path : "");
	vm_region *r = &f->regions[f->nregions];
	if (!proc_parse_maps_line(line, strlen(line), r))
		abort();
	f->nregions++;
	return r;
}

void fake_memory(fake_target *f, uint64_t addr, const void *bytes, size_t len)
{
	fake_blob *b = &f->blobs[f->nblobs++];
	b->addr = addr;
	b->bytes = xmalloc(len);
	memcpy(b->bytes, bytes, len);
	b->len = len;
}

vm_thread *fake_thread(fake_target *f, int64_t tid, uint64_t sp)
{
	vm_thread *t = &f->threads[f->nthreads++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	t->name = "t";
	t->state = 'S';
	t->sp = sp;
	t->sp_valid = true;
	return t;
}

void fake_free(fake_target *f)
{
	for (size_t i = 0; i < f->nregions; i++)
		free(f->regions[i].path);
	for (size_t i = 0; i < f->nblobs; i++)
		free(f->blobs[i].bytes);
}
