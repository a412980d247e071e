/* The live Linux process backend as the registry sees it: PIDs,
 * "self", and programs to spawn. */
#include "linux.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "ptrace.h"
#include "vmatlas/error.h"

static bool lx_probe(const char *spec, const vm_open_options *o, const uint8_t *head, size_t len)
{
	(void)len;
	uint64_t pid;
	if (o->argv)
		return true;
	return !head && spec && (strcmp(spec, "self") == 0 || parse_u64(spec, &pid));
}

static vm_target *lx_backend_open(const char *spec, const vm_open_options *o)
{
	if (o->argv)
		return lx_spawn(o->argv, &o->spawn);
	if (strcmp(spec, "self") == 0)
		return lx_open(getpid(), true);
	uint64_t pid;
	if (!parse_u64(spec, &pid) || pid == 0 || pid > INT32_MAX) {
		vm_seterr("not a process id: %s", spec);
		return NULL;
	}
	return lx_open((pid_t)pid, (pid_t)pid == getpid());
}

/* the processes called name: by the name the kernel keeps (comm, 15
 * characters) or their executable's file name; never vmatlas itself */
static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

static vm_target *lx_open_name(const char *spec, const vm_open_options *o, size_t *matches)
{
	(void)o;
	*matches = 0;
	if (!spec[0] || strlen(spec) > 255)
		return NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return NULL;
	pid_t *pids = NULL, me = getpid();
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t pid;
		if (!parse_u64(de->d_name, &pid) || pid == 0 || pid > INT32_MAX || (pid_t)pid == me)
			continue;
		char path[64], *buf = NULL, exe[4096];
		size_t len;
		bool hit = false;
		snprintf(path, sizeof path, "/proc/%llu/comm", (unsigned long long)pid);
		if (lx_read_file(path, &buf, &len) == 0) {
			buf[strcspn(buf, "\n")] = 0;
			hit = strcmp(buf, spec) == 0;
			free(buf);
		}
		snprintf(path, sizeof path, "/proc/%llu/exe", (unsigned long long)pid);
		ssize_t k = hit ? -1 : readlink(path, exe, sizeof exe - 1);
		if (k > 0) {
			exe[k] = 0;
			if (k > 10 && strcmp(exe + k - 10, " (deleted)") == 0)
				exe[k - 10] = 0;
			const char *base = strrchr(exe, '/');
			hit = strcmp(base ? base + 1 : exe, spec) == 0;
		}
		if (hit)
			*ARRAY_PUSH(pids, n, cap) = (pid_t)pid;
	}
	closedir(d);
	*matches = n;
	vm_target *t = NULL;
	if (n == 1) {
		t = lx_open(pids[0], false);
	} else if (n > 1) {
		qsort(pids, n, sizeof *pids, cmp_pid);
		strbuf sb = STRBUF_INIT;
		sb_printf(&sb, "%zu processes are called '%s' (give one's PID):", n, spec);
		for (size_t i = 0; i < n && i < 20; i++) {
			char path[64], *buf = NULL;
			size_t len;
			snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pids[i]);
			sb_printf(&sb, "%s %d", i ? ";" : "", (int)pids[i]);
			if (lx_read_file(path, &buf, &len) == 0) {
				for (size_t j = 0; j + 1 < len; j++)
					if (buf[j] == 0)
						buf[j] = ' ';
				while (len > 1 && buf[len - 2] == ' ')
					buf[--len - 1] = 0;
				sb_printf(&sb, " (%.60s)", len ? buf : "");
				free(buf);
			}
		}
		if (n > 20)
			sb_printf(&sb, "; and %zu more", n - 20);
		vm_seterr("%s", sb_str(&sb));
		sb_free(&sb);
	}
	free(pids);
	return t;
}

const vm_backend lx_backend = {
	.name = "linux",
	.probe = lx_probe,
	.open = lx_backend_open,
	.release_all = lx_release_all,
	.open_name = lx_open_name,
	.processes = lx_processes,
};
