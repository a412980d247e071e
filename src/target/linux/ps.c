/* The processes of this Linux machine (vmatlas ps), from /proc: the name
 * the kernel keeps, the executable, its ELF class for the bitness, and
 * the real uid's user name. What cannot be read (another user's exe)
 * stays unknown. */
#include "linux.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "vmatlas/error.h"

/* "Key:\tvalue" of /proc/PID/status, the first number of it */
static bool status_num(const char *status, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	for (const char *l = status; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, kl) && l[kl] == ':') {
			char *end;
			unsigned long long x = strtoull(l + kl + 1, &end, 10);
			if (end == l + kl + 1)
				return false;
			*v = x;
			return true;
		}
	}
	return false;
}

static char *user_name(uint64_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) == 0 && res)
		return xstrdup(pw.pw_name);
	return xasprintf("%llu", (unsigned long long)uid);
}

/* EI_CLASS of the executable: 32 or 64, 0 when it cannot be read */
static int exe_bits(uint64_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%llu/exe", (unsigned long long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	unsigned char e[5];
	ssize_t got = pread(fd, e, sizeof e, 0);
	close(fd);
	if (got != 5 || memcmp(e, "\177ELF", 4))
		return 0;
	return e[4] == 1 ? 32 : e[4] == 2 ? 64 : 0;
}

static void fill(vm_process *p, uint64_t pid)
{
	char path[64], *buf = NULL, exe[4096];
	size_t len;
	snprintf(path, sizeof path, "/proc/%llu/comm", (unsigned long long)pid);
	if (lx_read_file(path, &buf, &len) == 0) {
		buf[strcspn(buf, "\n")] = 0;
		p->name = buf;
	}
	snprintf(path, sizeof path, "/proc/%llu/status", (unsigned long long)pid);
	if (lx_read_file(path, &buf, &len) == 0) {
		uint64_t v;
		if (status_num(buf, "PPid", &v))
			p->ppid = (int64_t)v;
		if (status_num(buf, "Uid", &v))
			p->user = user_name(v);
		free(buf);
	}
	snprintf(path, sizeof path, "/proc/%llu/exe", (unsigned long long)pid);
	ssize_t k = readlink(path, exe, sizeof exe - 1);
	if (k > 0) {
		exe[k] = 0;
		p->exe = xstrdup(exe);
		p->bits = exe_bits(pid);
	}
}

static int cmp_pid(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int lx_processes(vm_process **out, size_t *n)
{
	DIR *d = opendir("/proc");
	if (!d) {
		vm_seterr_errno("cannot list /proc");
		return -1;
	}
	uint64_t *pids = NULL;
	size_t k = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t pid;
		if (parse_u64(de->d_name, &pid) && pid > 0 && pid <= INT32_MAX)
			*ARRAY_PUSH(pids, k, cap) = pid;
	}
	closedir(d);
	qsort(pids, k, sizeof *pids, cmp_pid);
	vm_process *v = xcalloc(k ? k : 1, sizeof *v);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		vm_process *p = &v[m];
		memset(p, 0, sizeof *p);
		p->pid = (int64_t)pids[i];
		fill(p, pids[i]);
		if (!p->name) { /* gone meanwhile */
			free(p->exe);
			free(p->user);
			continue;
		}
		m++;
	}
	free(pids);
	*out = v;
	*n = m;
	return 0;
}
