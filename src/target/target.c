/* Opening targets by name, and the helpers every target shares. */
#include "vmatlas/target.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/util.h"
#include "elfcore/core_target.h"
#include "formats/elfcore.h"
#include "minidump/md_target.h"
#include "formats/minidump.h"
#include "linux/linux.h"
#include "linux/ptrace.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"

/* a file target: the file read through a descriptor the target keeps */
static vm_target *open_file(const char *path, vm_target *(*open_reader)(const vm_reader *, const char *),
			    void (*own_fd)(vm_target *, int))
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
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

vm_target *vm_target_open(const char *spec)
{
	if (!spec || !*spec) {
		vm_seterr("no target given");
		return NULL;
	}
	if (strcmp(spec, "self") == 0)
		return lx_open(getpid(), true);
	uint64_t pid;
	if (parse_u64(spec, &pid)) {
		if (pid == 0 || pid > INT32_MAX) {
			vm_seterr("not a process id: %s", spec);
			return NULL;
		}
		return lx_open((pid_t)pid, (pid_t)pid == getpid());
	}
	int fd = open(spec, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		vm_seterr("not a process id, 'self', or a readable file: %s", spec);
		return NULL;
	}
	uint8_t head[64];
	ssize_t got = pread(fd, head, sizeof head, 0);
	close(fd);
	if (got > 0 && core_is_magic(head, (size_t)got))
		return open_file(spec, core_target_open_reader, core_target_own_fd);
	if (got > 0 && md_is_magic(head, (size_t)got))
		return open_file(spec, md_target_open_reader, md_target_own_fd);
	vm_seterr("%s: not a core file or a minidump", spec);
	return NULL;
}

bool vm_file_target_magic(const uint8_t *buf, size_t len)
{
	return core_is_magic(buf, len) || md_is_magic(buf, len);
}

void vm_target_close(vm_target *t)
{
	if (t)
		t->ops->close(t);
}

int vm_target_info_get(vm_target *t, vm_target_info *out)
{
	memset(out, 0, sizeof *out);
	return t->ops->info(t, out);
}

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

/* ---- cleanup on fatal signals ---- */

static void on_fatal_signal(int sig)
{
	af_release_all();
	lx_release_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_exit_release(void)
{
	lx_release_all();
}

void vm_install_cleanup_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(on_exit_release);
}
