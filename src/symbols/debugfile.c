#include "debugfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/open_file.h"
#include "base/util.h"

static const char *debug_dirs(void)
{
	const char *d = getenv("VMATLAS_DEBUG_DIR");
	return d && *d ? d : "/usr/lib/debug";
}

static int try_open(const char *p, char **path)
{
	int fd = open_regular(p);
	if (fd >= 0 && path)
		*path = xstrdup(p);
	return fd;
}

/* call fn on each directory of the search list */
static int each_dir(int (*fn)(const char *dir, const void *arg, char **path), const void *arg,
		    char **path)
{
	char *dirs = xstrdup(debug_dirs()), *save = NULL;
	int fd = -1;
	for (char *d = strtok_r(dirs, ":", &save); d && fd < 0; d = strtok_r(NULL, ":", &save))
		fd = fn(d, arg, path);
	free(dirs);
	return fd;
}

typedef struct id_arg {
	const uint8_t *id;
	size_t n;
} id_arg;

static int by_id_in(const char *dir, const void *arg, char **path)
{
	const id_arg *a = arg;
	strbuf sb = STRBUF_INIT;
	sb_printf(&sb, "%s/.build-id/%02x/", dir, a->id[0]);
	for (size_t i = 1; i < a->n; i++)
		sb_printf(&sb, "%02x", a->id[i]);
	sb_puts(&sb, ".debug");
	int fd = try_open(sb_str(&sb), path);
	sb_free(&sb);
	return fd;
}

int debugfile_by_build_id(const uint8_t *id, size_t n, char **path)
{
	if (n < 2)
		return -1;
	id_arg a = { id, n };
	return each_dir(by_id_in, &a, path);
}

typedef struct link_arg {
	const char *dir, *link;
} link_arg;

static int by_link_in(const char *dir, const void *arg, char **path)
{
	const link_arg *a = arg;
	char *p = xasprintf("%s%s/%s", dir, a->dir, a->link);
	int fd = try_open(p, path);
	free(p);
	return fd;
}

int debugfile_by_link(const char *module_path, const char *link, char **path)
{
	if (!module_path || !link || !*link || strchr(link, '/'))
		return -1;
	const char *slash = strrchr(module_path, '/');
	char *dir = slash ? xstrndup(module_path, (size_t)(slash - module_path)) : xstrdup(".");
	/* next to the module, in .debug beside it, then under the debug dirs */
	char *p = xasprintf("%s/%s", dir, link);
	int fd = strcmp(p, module_path) ? try_open(p, path) : -1;
	free(p);
	if (fd < 0) {
		p = xasprintf("%s/.debug/%s", dir, link);
		fd = try_open(p, path);
		free(p);
	}
	if (fd < 0) {
		link_arg a = { dir, link };
		fd = each_dir(by_link_in, &a, path);
	}
	free(dir);
	return fd;
}
