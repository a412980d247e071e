/* Holding a live process's threads: freeze and thaw for a consistent
 * map, and the control handle (vmatlas/control.h) the target hands out;
 * both are one lx_control, which may also come from spawn. */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lxctl.h"
#include "ptrace.h"
#include "vmatlas/error.h"

#define LX(t) ((lx_proc *)(t))

/* the control handle has let go: nothing of it stays with the target */
void lx_control_closed(void *arg)
{
	lx_proc *p = arg;
	p->ctl = NULL;
	p->freeze_owns = false;
	p->ctl_user = false;
	p->entry_held = false;
	p->frozen = false;
	p->thaw_resumes = false;
}

void lx_control_switched(void *arg, pid_t pid)
{
	lx_proc *p = arg;
	if (p->spawned) {
		/* the parent was let go and runs on; the child is the one
		 * started by us now (killed at the end unless kept) */
		lx_spawned_remove(p->pid);
		lx_spawned_add(pid, !p->keep);
	}
	p->pid = p->mm_pid = pid;
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	p->mem_fd = p->pagemap_fd = -1;
	p->nvma = 0;
	free(p->info.name);
	free(p->info.exe);
	free(p->info.cwd);
	memset(&p->info, 0, sizeof p->info);
	p->have_info = false;
}

/* a thread that cannot be traced: by whom, when someone traces it */
static void tracer_error(bool freeze, pid_t pid, pid_t tid)
{
	char comm[64];
	pid_t tracer = lx_tracer_of(pid, tid, comm, sizeof comm);
	if (tracer && freeze)
		vm_seterr("cannot freeze process %d: thread %d is traced by process %d (%s)", (int)pid, (int)tid,
			  (int)tracer, comm[0] ? comm : "?");
	else if (tracer)
		vm_seterr("cannot trace thread %d of process %d: process %d (%s) traces it", (int)tid, (int)pid,
			  (int)tracer, comm[0] ? comm : "?");
	else
		vm_seterr("cannot %s process %d: thread %d cannot be traced (CAP_SYS_PTRACE is missing, or "
			  "ptrace_scope forbids it)", freeze ? "freeze" : "trace", (int)pid, (int)tid);
}

int lx_freeze(vm_target *t)
{
	lx_proc *p = LX(t);
	if (p->frozen || p->self) {
		if (p->self) {
			vm_seterr("cannot freeze vmatlas itself");
			return -1;
		}
		return 0;
	}
	pid_t bad = 0;
	int rc;
	if (p->ctl) { /* held at its entry point, or by a debugger: add the rest */
		p->thaw_resumes = false; /* thaw leaves it as it finds it */
		for (size_t i = 0; i < p->ctl->nth; i++)
			if (p->ctl->th[i].state == LXT_RUNNING)
				p->thaw_resumes = true;
		lxc_stop(p->ctl);
		rc = lxc_attach_rest(p->ctl, &bad);
	} else {
		p->ctl = lxc_attach(p->pid, &bad);
		rc = p->ctl ? 0 : -1;
		if (p->ctl) {
			p->ctl->on_close = lx_control_closed;
			p->ctl->on_close_arg = p;
			p->freeze_owns = true;
		}
	}
	if (rc < 0) {
		if (errno == EPERM)
			tracer_error(true, p->pid, bad);
		else if (errno == EAGAIN)
			vm_seterr("cannot freeze process %d: it keeps creating threads", (int)p->pid);
		else
			return lx_gone(p);
		return -1;
	}
	p->frozen = true;
	return 0;
}

int lx_thaw(vm_target *t)
{
	lx_proc *p = LX(t);
	int rc = 0;
	if (p->freeze_owns)
		lxc_close(p->ctl); /* clears p->ctl */
	else if (p->ctl && p->thaw_resumes)
		rc = lxc_resume(p->ctl);
	p->thaw_resumes = false;
	p->frozen = false;
	return rc;
}

vm_control *lx_control_open(vm_target *t)
{
	lx_proc *p = LX(t);
	if (p->ctl_user || p->freeze_owns) {
		vm_seterr("process %d is %s already", (int)p->pid, p->ctl_user ? "under control" : "frozen");
		return NULL;
	}
	if (!p->ctl) { /* else: spawned and held at its entry point */
		pid_t bad = 0;
		p->ctl = lxc_attach(p->pid, &bad);
		if (!p->ctl) {
			if (errno == EPERM)
				tracer_error(false, p->pid, bad);
			else if (errno == EAGAIN)
				vm_seterr("cannot stop process %d: it keeps creating threads", (int)p->pid);
			else
				lx_gone(p);
			return NULL;
		}
		p->ctl->on_close = lx_control_closed;
		p->ctl->on_close_arg = p;
	}
	p->ctl->on_switch = lx_control_switched;
	p->ctl_user = true;
	return &p->ctl->base;
}
