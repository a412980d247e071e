/* Following a fork's child (gdb's follow-fork-mode child): the parent is
 * let go as a close would (every VM_CTL_RESTORE change put back in it,
 * debug registers cleared, detached with its pending signals) and the
 * handle holds the child from then on. The child has the parent's memory
 * as it was at the fork, int3 bytes and protections included, so the
 * journal stays as it is, now about the child. */
#include "lxctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "ptrace.h"

void lxc_follow_fork(vm_control *vc, bool child)
{
	((lx_control *)vc)->follow_child = child;
}

pid_t lxc_hold_child(pid_t child)
{
	int st;
	lx_hold_add(child, 0);
	while (waitpid(child, &st, __WALL) < 0)
		if (errno != EINTR) {
			lx_hold_remove(child);
			return -1;
		}
	if (!WIFSTOPPED(st)) {
		lx_hold_remove(child);
		return -1;
	}
	return child;
}

void lxc_switch_to_child(lx_control *c, pid_t child)
{
	pid_t any = 0;
	for (size_t i = 0; i < c->nth && !any; i++)
		if (c->th[i].state == LXT_STOPPED)
			any = c->th[i].tid;
	lxc_restore_keep(c, any);
	for (size_t i = 0; i < c->nth; i++) {
		lxc_thread *t = &c->th[i];
		if (t->state != LXT_STOPPED)
			continue;
		static const int order[] = { 7, 6, 3, 2, 1, 0 }; /* disable first */
		if (c->debugregs_used)
			for (size_t r = 0; r < sizeof order / sizeof order[0]; r++)
				ptrace(PTRACE_POKEUSER, t->tid, (void *)LX_DR_OFFSET(order[r]), 0);
		lx_release(t->tid, lx_hold_pending_sig(t->tid));
		t->state = LXT_GONE;
	}
	/* the parent's other news goes with it */
	lxc_release_queued_children(c);
	c->q.n = c->q.head = 0;
	if (c->mem_fd >= 0)
		close(c->mem_fd);
	c->mem_fd = -1;
	lxc_patch_reset(c);
	c->pid = child;
	c->nth = 0;
	lxc_thread *t = ARRAY_PUSH(c->th, c->nth, c->cap);
	memset(t, 0, sizeof *t);
	t->tid = child;
	t->state = LXT_STOPPED;
	t->i386 = -1;
	lxc_patch_publish(c, true); /* the same bytes, in the child */
	if (c->on_switch)
		c->on_switch(c->on_close_arg, child);
}

void lxc_release_queued_children(lx_control *c)
{
	for (size_t i = c->q.head; i < c->q.n; i++) {
		vm_event *ev = &c->q.v[i];
		if (ev->kind == VM_EV_FORK && ev->code == 3) {
			lx_hold_remove((pid_t)ev->addr);
			lxc_release_stopped_child(c, (pid_t)ev->addr);
			ev->code = 0; /* let go after all */
		}
	}
}
