/* The vmatlas-track holder process (see track_holder.h): its side of the
 * handover, and its cleanup when vmatlas dies first. */
#include "track_holder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "formats/proc_parse.h"
#include "lxctl.h"
#include "ptrace.h"
#include "teststep.h"
#include "vmatlas/error.h"
#include "vmatlas/track.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define KCMP_FILE 0
#define WAIT_MS 10000
#define MAX_UFFD 64
/* the flags vmatlas makes its userfaultfd with, as fdinfo shows them */
#define OUR_UFFD_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK)

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

bool lx_wait_gone(int pidfd, int ms)
{
	struct pollfd p = { pidfd, POLLIN, 0 };
	int r;
	while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return r > 0;
}

bool lx_read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	return true;
}

long long lx_field(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, key, kl))
			return strtoll(l + kl, NULL, 0);
	return -1;
}

static bool link_is(pid_t pid, const char *fdname, const char *what)
{
	char path[320], to[128];
	snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)pid, fdname);
	ssize_t n = readlink(path, to, sizeof to - 1);
	if (n < 0)
		return false;
	to[n] = 0;
	return !strcmp(to, what);
}

/* the userfaultfd descriptors of pid */
static size_t uffd_list(pid_t pid, int *out, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	size_t n = 0;
	struct dirent *e;
	while (d && n < cap && (e = readdir(d)))
		if (e->d_name[0] != '.' && link_is(pid, e->d_name, "anon_inode:[userfaultfd]"))
			out[n++] = atoi(e->d_name);
	if (d)
		closedir(d);
	return n;
}

static bool in_list(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* is fd n of target the one vmatlas made? the same file as ours when
 * we have it; else one made with our flags that nobody has set up */
static bool is_ours(pid_t target, int n, int ufd)
{
	if (ufd >= 0) {
		long r = syscall(SYS_kcmp, getpid(), target, KCMP_FILE, ufd, n);
		if (r >= 0)
			return r == 0;
	}
	char path[96], info[1024];
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)target, n);
	if (!lx_read_small(path, info, sizeof info))
		return false;
	const char *api = strstr(info, "API:\t");
	unsigned features = 1;
	unsigned long long a;
	if (!api || sscanf(api + 5, "%llx:%x:", &a, &features) != 2)
		return false;
	return lx_field(info, "flags:\t") == OUR_UFFD_FLAGS && features == 0;
}

static bool traced(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return lx_read_small(path, buf, sizeof buf) && lx_field(buf, "TracerPid:\t") > 0;
}

/* vmatlas is gone before the handover: close what it may have left in
 * the target. Its tracer lets it go first; then stopping it makes sure
 * a call it was let go in the middle of (userfaultfd()) has finished. */
static void close_strays(pid_t target, const int *before, size_t nbefore, int ufd)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (traced(target)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= WAIT_MS)
			break; /* bounded in time, however loaded the machine */
		sleep_ms(10);
	}
	lx_control *c = lxc_attach_thread(target, target);
	if (!c)
		return;
	int now[MAX_UFFD];
	size_t n = uffd_list(target, now, MAX_UFFD);
	for (size_t i = 0; i < n; i++) {
		if (in_list(before, nbefore, now[i]) || !is_ours(target, now[i], ufd))
			continue;
		uint64_t args[6] = { (uint64_t)now[i] };
		int64_t ret;
		lxc_syscall(c, target, SYS_close, args, &ret);
	}
	lxc_close(c);
}

static int recv_msg(int link, char *what, int *fd)
{
	char c = 0;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t n;
	while ((n = recvmsg(link, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return -1;
	*what = c;
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	if (fd && h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(h), sizeof(int));
	return 0;
}

static int send_msg(int link, char what, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { &what, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&u, 0, sizeof u);
		m.msg_control = u.buf;
		m.msg_controllen = sizeof u.buf;
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	ssize_t n;
	while ((n = sendmsg(link, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

static _Noreturn void holder_main(int link, int pidfd, pid_t target, const char *state_path)
{
	lx_forget_all(); /* vmatlas's holds are not ours to let go */
	lx_test_steps_off();
	setsid();
	prctl(PR_SET_NAME, LX_HOLDER_NAME);
	/* SIGTERM (track stop) ends it once it holds; until then it must
	 * finish cleaning up */
	static const int ignore[] = { SIGINT, SIGHUP, SIGPIPE, SIGQUIT };
	for (size_t i = 0; i < sizeof ignore / sizeof ignore[0]; i++)
		signal(ignore[i], SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_SETMASK, &term, NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++)
		if (null >= 0)
			dup2(null, fd);
	for (int fd = 3; fd < 1024; fd++) /* nothing else of vmatlas's stays open in it */
		if (fd != link && fd != pidfd)
			close(fd);

	int before[MAX_UFFD];
	size_t nbefore = uffd_list(target, before, MAX_UFFD);
	int ufd = -1;
	bool closed = false;
	if (send_msg(link, 'R', -1) < 0)
		_exit(0);
	for (;;) {
		struct pollfd p[2] = { { link, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			_exit(0); /* the target is gone, and all it had */
		char what;
		int fd = -1;
		if (recv_msg(link, &what, &fd) < 0)
			break;
		if (what == 'U' && fd >= 0 && ufd < 0)
			ufd = fd;
		else if (what == 'C')
			closed = true;
		else if (what == 'H') {
			int mark = closed && ufd >= 0 ? open(state_path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
			if (mark < 0 || send_msg(link, 'A', -1) < 0)
				break;
			close(link);
			sigprocmask(SIG_UNBLOCK, &term, NULL);
			for (;;)
				if (lx_wait_gone(pidfd, -1))
					_exit(0); /* the target exited */
		}
	}
	/* vmatlas went away (or gave up) before handing over */
	if (!closed)
		close_strays(target, before, nbefore, ufd);
	vm_track_state st; /* a state file it wrote names us: it is void */
	if (vm_track_state_read(state_path, &st) == 0) {
		if (st.holder == getpid())
			unlink(state_path);
		vm_track_state_free(&st);
	}
	_exit(0); /* our copy goes with us, and the write protection with it */
}

static bool wait_msg(lx_holder *h, char want)
{
	struct pollfd p = { h->link, POLLIN, 0 };
	int r;
	while ((r = poll(&p, 1, WAIT_MS)) < 0 && errno == EINTR)
		;
	char what = 0;
	return r > 0 && recv_msg(h->link, &what, NULL) == 0 && what == want;
}

static uint64_t start_time_of(pid_t pid)
{
	char path[64], buf[2048];
	proc_stat st;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	return lx_read_small(path, buf, sizeof buf) && proc_parse_stat(buf, strlen(buf), &st) ? st.start_time : 0;
}

int lx_holder_spawn(pid_t target, const char *state_path, lx_holder *h)
{
	h->pid = -1;
	h->link = -1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		vm_seterr_errno("starting the holder process (socketpair)");
		return -1;
	}
	int pidfd = pidfd_open(target);
	if (pidfd < 0) {
		vm_seterr_errno("watching process %d (pidfd_open)", (int)target);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		holder_main(sv[1], pidfd, target, state_path);
	}
	close(sv[1]);
	close(pidfd);
	if (pid < 0) {
		vm_seterr_errno("starting the holder process");
		close(sv[0]);
		return -1;
	}
	h->pid = pid;
	h->link = sv[0];
	/* named and ready before anyone can look for it by name */
	if (!wait_msg(h, 'R')) {
		vm_seterr("the holder process %d did not start", (int)pid);
		lx_holder_abort(h);
		return -1;
	}
	h->start_time = start_time_of(pid);
	return 0;
}

int lx_holder_give(lx_holder *h, int ufd)
{
	return send_msg(h->link, 'U', ufd);
}

int lx_holder_target_closed(lx_holder *h)
{
	return send_msg(h->link, 'C', -1);
}

int lx_holder_handover(lx_holder *h)
{
	if (send_msg(h->link, 'H', -1) < 0 || !wait_msg(h, 'A')) {
		vm_seterr("the holder process %d did not take over the tracking", (int)h->pid);
		return -1;
	}
	close(h->link);
	h->link = -1;
	return 0;
}

void lx_holder_abort(lx_holder *h)
{
	if (h->pid <= 0)
		return;
	int pidfd = pidfd_open(h->pid);
	if (h->link >= 0)
		close(h->link);
	h->link = -1;
	if (pidfd >= 0 && !lx_wait_gone(pidfd, 2 * WAIT_MS))
		kill(h->pid, SIGKILL);
	if (pidfd >= 0)
		close(pidfd);
	waitpid(h->pid, NULL, 0);
	h->pid = -1;
}
