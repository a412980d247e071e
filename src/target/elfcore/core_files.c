/* The files an ELF core maps, found on disk: by --solib-path, under
 * --sysroot, or where the core says; used only once shown to be the file
 * the process had mapped. A core names files by path and a hostile one
 * can name anything: only regular files outside /proc, /sys and /dev are
 * opened (a FIFO or /proc/kmsg would block a read forever). */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/open_file.h"
#include "base/util.h"

static int cmp_path_idx(const void *a, const void *b, void *arg)
{
	const core_file *cf = arg;
	return strcmp(cf->files[*(const size_t *)a].path, cf->files[*(const size_t *)b].path);
}

void core_index_paths(core_target *ct)
{
	const core_file *cf = &ct->cf;
	size_t n = cf->nfiles;
	size_t *order = xcalloc(n ? n : 1, sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, cmp_path_idx, (void *)cf);
	ct->path_id = xcalloc(n ? n : 1, sizeof *ct->path_id);
	ct->backing = xcalloc(n ? n : 1, sizeof *ct->backing);
	for (size_t k = 0; k < n; k++) {
		if (!k || strcmp(cf->files[order[k]].path, cf->files[order[k - 1]].path) != 0)
			ct->nbacking++;
		ct->path_id[order[k]] = ct->nbacking - 1;
	}
	free(order);
}

/* the file on disk for a path in the core: a --solib-path directory
 * holding its name, the sysroot, or the path itself */
static char *resolve(const core_target *ct, const char *path)
{
	if (ct->solib_path) {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		const char *p = ct->solib_path;
		while (*p) {
			size_t len = strcspn(p, ":");
			char *cand = xasprintf("%.*s/%s", (int)len, p, base);
			if (access(cand, R_OK) == 0 && !path_is_special(cand))
				return cand;
			free(cand);
			p += len;
			if (*p == ':')
				p++;
		}
	}
	char *cand = ct->sysroot ? xasprintf("%s%s", ct->sysroot, path) : xstrdup(path);
	if (access(cand, R_OK) == 0 && !path_is_special(cand))
		return cand;
	free(cand);
	return NULL;
}

/* Is the file on disk the one the process had mapped? Compare it with
 * the first page of a mapping of its start the core holds (ELF headers
 * and, nearly always, the build id are there). */
static int verify(core_target *ct, size_t pid, int fd)
{
	const core_file *cf = &ct->cf;
	for (size_t i = 0; i < ct->nareas; i++) {
		const core_area *a = &ct->areas[i];
		if (a->file < 0 || ct->path_id[a->file] != pid)
			continue;
		const core_file_map *f = &cf->files[a->file];
		if (f->offset != 0 || a->base != f->start)
			continue;
		uint64_t held = core_area_held(ct, a);
		size_t n = (size_t)(held < cf->page_size ? held : cf->page_size);
		if (n < 64)
			continue;
		uint8_t *mem = xmalloc(n), *disk = xmalloc(n);
		bool same = vm_reader_full(&ct->r, cf->segs[a->seg].offset, mem, n) &&
			    pread(fd, disk, n, 0) == (ssize_t)n && memcmp(mem, disk, n) == 0;
		free(mem);
		free(disk);
		return same ? BK_SAME : BK_DIFFERENT;
	}
	return BK_UNVERIFIED;
}

/* an open descriptor for file map fi, -1 when it is not on disk or not
 * the same file */
int core_backing_open(core_target *ct, long fi)
{
	if (fi < 0)
		return -1;
	core_backing *b = &ct->backing[ct->path_id[fi]];
	pthread_mutex_lock(&ct->backing_lock);
	if (b->state == BK_UNKNOWN) {
		const core_file_map *f = &ct->cf.files[fi];
		b->state = BK_MISSING;
		if (f->path[0] == '/' && !f->deleted && (b->path = resolve(ct, f->path))) {
			int fd = open_named_by_target(b->path);
			b->state = fd < 0 ? BK_MISSING : verify(ct, ct->path_id[fi], fd);
			if (fd >= 0)
				close(fd);
		}
	}
	bool usable = b->state == BK_SAME || b->state == BK_UNVERIFIED;
	pthread_mutex_unlock(&ct->backing_lock);
	return usable ? open_named_by_target(b->path) : -1;
}
