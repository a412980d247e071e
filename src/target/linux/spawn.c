/* `vmatlas map -- PROGRAM ARGS`: start a program under ptrace and stop it
 * at its entry point, where the dynamic loader has mapped every library
 * it needs but no code of the program has run. */
#include "linux.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "ptrace.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"

#define AT_ENTRY_TYPE 9

/* AT_ENTRY from /proc/PID/auxv; words are 4 or 8 bytes */
static bool auxv_entry(pid_t pid, int bits, uint64_t *entry)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
	if (lx_read_file(path, &buf, &len) < 0)
		return false;
	size_t w = bits == 32 ? 4 : 8;
	bool found = false;
	for (size_t off = 0; off + 2 * w <= len; off += 2 * w) {
		uint64_t type = 0, val = 0;
		memcpy(&type, buf + off, w);
		memcpy(&val, buf + off + w, w);
		if (type == AT_ENTRY_TYPE) {
			*entry = val;
			found = true;
			break;
		}
		if (type == 0)
			break;
	}
	free(buf);
	return found;
}

static int exe_bits(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int bits = 64;
	if (fd < 0)
		return bits;
	struct stat sb;
	if (fstat(fd, &sb) == 0) {
		vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
		elf_image e;
		if (elf_open(&e, &r, false, 0, 0) == 0) {
			bits = e.bits;
			elf_close(&e);
		}
	}
	close(fd);
	return bits;
}

static void fail_child(pid_t pid)
{
	lx_hold_remove(pid);
	lx_spawned_remove(pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

vm_target *lx_spawn(char *const argv[], const vm_spawn_options *opt)
{
	int errpipe[2];
	if (!argv || !argv[0]) {
		vm_seterr("no program to run");
		return NULL;
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		vm_seterr_errno("pipe");
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		vm_seterr_errno("fork");
		return NULL;
	}
	if (pid == 0) {
		close(errpipe[0]);
		if (opt && opt->quiet) {
			int nul = open("/dev/null", O_RDWR);
			if (nul >= 0) {
				dup2(nul, 1);
				dup2(nul, 2);
			}
		}
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) == 0)
			execvp(argv[0], argv);
		int e = errno;
		if (write(errpipe[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(errpipe[1]);
	int child_errno = 0;
	ssize_t got;
	do
		got = read(errpipe[0], &child_errno, sizeof child_errno);
	while (got < 0 && errno == EINTR);
	close(errpipe[0]);
	if (got == (ssize_t)sizeof child_errno) {
		waitpid(pid, NULL, 0);
		errno = child_errno;
		vm_seterr_errno("cannot run %s", argv[0]);
		return NULL;
	}
	bool keep = opt && opt->keep;
	lx_spawned_add(pid, !keep);
	lx_hold_add(pid, 0);

	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st)) {
		vm_seterr("%s did not start", argv[0]);
		fail_child(pid);
		return NULL;
	}
	if (!keep)
		ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)(long)PTRACE_O_EXITKILL);

	uint64_t entry;
	if (!auxv_entry(pid, exe_bits(pid), &entry)) {
		vm_seterr("cannot find the entry point of %s", argv[0]);
		fail_child(pid);
		return NULL;
	}
	if (lx_run_to(pid, entry) < 0) {
		fail_child(pid);
		return NULL;
	}

	vm_target *t = lx_open(pid, false);
	if (!t) {
		fail_child(pid);
		return NULL;
	}
	lx_proc *p = (lx_proc *)t;
	p->spawned = true;
	p->keep = keep;
	p->entry_held = true;
	if (opt && opt->run_ms) {
		lx_release(pid, 0);
		p->entry_held = false;
		struct timespec ts = { opt->run_ms / 1000, (long)(opt->run_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			lx_spawned_remove(pid);
			p->spawned = false;
			vm_target_close(t);
			vm_seterr("%s exited within %u ms", argv[0], opt->run_ms);
			return NULL;
		}
	}
	return t;
}
