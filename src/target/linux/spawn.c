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
#include "lxctl.h"
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

static void fail_child(pid_t pid, lx_control *c)
{
	if (c)
		lxc_forget(c);
	else
		lx_hold_remove(pid);
	lx_spawned_remove(pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Seize the child, stopped before its exec, and let it run into the
 * exec; 0 with the child in its exec stop, or its exec's errno. */
static int seize_to_exec(pid_t pid, long options, int errfd)
{
	int st;
	while (waitpid(pid, &st, WUNTRACED) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFSTOPPED(st) || ptrace(PTRACE_SEIZE, pid, 0, (void *)(long)(options | PTRACE_O_TRACEEXEC)) < 0)
		return -1;
	lx_hold_add(pid, 0);
	kill(pid, SIGCONT);
	for (;;) {
		if (waitpid(pid, &st, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			int child_errno = 0;
			if (read(errfd, &child_errno, sizeof child_errno) == (ssize_t)sizeof child_errno)
				errno = child_errno;
			else
				errno = ECHILD;
			lx_hold_remove(pid);
			return -2;
		}
		if ((st >> 16) == PTRACE_EVENT_EXEC)
			return 0;
		/* its SIGCONT, the end of its group stop: on to the exec */
		int sig = (st >> 16) == 0 ? WSTOPSIG(st) : 0;
		if (ptrace(PTRACE_CONT, pid, 0, (void *)(long)(sig == SIGCONT || sig == SIGSTOP ? 0 : sig)) < 0)
			return -1;
	}
}

/* Run the program, held after its exec, up to its entry point with a
 * temporary int3, and leave it stopped there with the code put back. */
static int run_to_entry(lx_control *c, uint64_t entry)
{
#if !defined(__x86_64__)
	(void)c, (void)entry;
	return 0; /* mapped at exec: the loader has not run yet */
#endif
	static const uint8_t int3 = 0xcc;
	c->patch_quiet = true; /* gone before anyone could look */
	if (lxc_write(c, entry, &int3, 1, VM_CTL_RESTORE) < 0) {
		vm_seterr("setting a breakpoint at the entry point: %s", vm_error());
		return -1;
	}
	for (;;) {
		vm_event ev;
		if (lxc_resume(c) < 0 || lxc_wait(c, -1, &ev) < 0) {
			vm_seterr("running the program to its entry point: %s", vm_error());
			return -1;
		}
		if (ev.kind == VM_EV_EXIT) {
			vm_seterr("the program exited before reaching its entry point");
			return -1;
		}
		if (ev.kind == VM_EV_BREAKPOINT)
			break;
	}
	lxc_restore(c, c->pid);
	c->patch_quiet = false;
	lxc_thread *t = lxc_find(c, c->pid);
	if (t)
		t->regs_ok = false; /* the pc is set behind the control's back */
	return lx_set_pc(c->pid, entry);
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
		/* wait to be seized (PTRACE_SEIZE, so that the control can
		 * interrupt it later) */
		raise(SIGSTOP);
		execvp(argv[0], argv);
		int e = errno;
		if (write(errpipe[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(errpipe[1]);
	bool keep = opt && opt->keep;
	long options = keep ? 0 : PTRACE_O_EXITKILL;
	lx_spawned_add(pid, !keep);
	int rc = seize_to_exec(pid, options, errpipe[0]);
	close(errpipe[0]);
	if (rc == -2) {
		lx_spawned_remove(pid);
		vm_seterr_errno("cannot run %s", argv[0]);
		return NULL;
	}
	if (rc < 0) {
		vm_seterr("%s did not start", argv[0]);
		fail_child(pid, NULL);
		return NULL;
	}
	lx_control *c = lxc_adopt(pid, options);

	uint64_t entry;
	if (!auxv_entry(pid, exe_bits(pid), &entry)) {
		vm_seterr("cannot find the entry point of %s", argv[0]);
		fail_child(pid, c);
		return NULL;
	}
	if (run_to_entry(c, entry) < 0) {
		fail_child(pid, c);
		return NULL;
	}

	vm_target *t = lx_open(pid, false);
	if (!t) {
		fail_child(pid, c);
		return NULL;
	}
	lx_proc *p = (lx_proc *)t;
	p->spawned = true;
	p->keep = keep;
	p->entry_held = true;
	p->ctl = c;
	c->on_close = lx_control_closed;
	c->on_close_arg = p;
	if (opt && opt->run_ms) {
		lxc_close(c); /* clears p->ctl and entry_held */
		struct timespec ts = { opt->run_ms / 1000, (long)(opt->run_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		int st;
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
