/* Holders a killed `track start` (or an older vmatlas) left behind:
 * found by name and by the pidfd they watch the target with, and told
 * from a live tracking by the state file they keep open. */
#include "track_holder.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmatlas/error.h"
#include "vmatlas/track.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define WAIT_MS 10000

static bool comm_is(pid_t pid, const char *prefix)
{
	char path[64], buf[64];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	return lx_read_small(path, buf, sizeof buf) && !strncmp(buf, prefix, strlen(prefix));
}

/* does holder pid watch target (a pidfd on it)? and the state file it
 * keeps open, when that still exists and names it */
static bool holder_of(pid_t pid, pid_t target, char *state, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool watches = false;
	state[0] = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char p2[320], to[PATH_MAX], info[512];
		snprintf(p2, sizeof p2, "/proc/%d/fd/%s", (int)pid, e->d_name);
		ssize_t n = readlink(p2, to, sizeof to - 1);
		if (e->d_name[0] == '.' || n < 0)
			continue;
		to[n] = 0;
		if (!strcmp(to, "anon_inode:[pidfd]")) {
			snprintf(p2, sizeof p2, "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
			if (lx_read_small(p2, info, sizeof info) && lx_field(info, "Pid:\t") == target)
				watches = true;
		} else if (to[0] == '/' && strcmp(to, "/dev/null")) {
			vm_track_state st;
			struct stat sb;
			if (stat(to, &sb) == 0 && S_ISREG(sb.st_mode) && vm_track_state_read(to, &st) == 0) {
				if (st.holder == pid && st.pid == target)
					snprintf(state, cap, "%s", to);
				vm_track_state_free(&st);
			}
		}
	}
	closedir(d);
	return watches;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return lx_read_small(path, buf, sizeof buf) ? (pid_t)lx_field(buf, "PPid:\t") : -1;
}

int lx_holder_clear_orphans(pid_t target)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		char state[PATH_MAX];
		if (pid <= 0 || pid == getpid() || !comm_is(pid, LX_HOLDER_NAME) ||
		    !holder_of(pid, target, state, sizeof state))
			continue;
		pid_t parent = parent_of(pid);
		if (state[0]) {
			vm_seterr("process %d is tracked already (holder %d): 'vmatlas track stop %s' ends that",
				  (int)target, (int)pid, state);
			rc = -1;
		} else if (parent > 1 && comm_is(parent, "vmatlas") && !comm_is(parent, LX_HOLDER_NAME)) {
			vm_seterr("another 'vmatlas track start' of process %d is under way (process %d)", (int)target,
				  (int)parent);
			rc = -1;
		} else {
			/* an orphan: it ends the write protection it keeps */
			int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
			kill(pid, SIGTERM);
			if (pidfd >= 0 && !lx_wait_gone(pidfd, 2 * WAIT_MS)) {
				kill(pid, SIGKILL);
				lx_wait_gone(pidfd, WAIT_MS);
			}
			if (pidfd >= 0)
				close(pidfd);
		}
	}
	closedir(d);
	return rc;
}
