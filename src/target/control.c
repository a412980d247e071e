/* Execution control: the public functions, each handed to the backend of
 * the target the handle was opened on. */
#include "backend.h"

#include "vmatlas/error.h"

vm_control *vm_control_open(vm_target *t)
{
	if (!(vm_target_caps(t) & VM_CAP_CONTROL) || !t->ops->control) {
		vm_seterr("a %s target cannot be controlled (it is not a live process vmatlas may trace)",
			  vm_target_kind_name(t->ops->kind));
		return NULL;
	}
	return t->ops->control(t);
}

int vm_control_close(vm_control *c)
{
	return c ? c->ops->close(c) : 0;
}

int vm_control_threads(vm_control *c, int64_t **tids, size_t *n)
{
	return c->ops->threads(c, tids, n);
}

int vm_control_stop(vm_control *c)
{
	return c->ops->stop(c);
}

int vm_control_resume(vm_control *c)
{
	return c->ops->resume(c);
}

int vm_control_step(vm_control *c, int64_t tid)
{
	return c->ops->step(c, tid);
}

int vm_control_wait(vm_control *c, int timeout_ms, vm_event *ev)
{
	return c->ops->wait(c, timeout_ms, ev);
}

void vm_control_follow_fork(vm_control *c, bool child)
{
	if (c->ops->follow_fork)
		c->ops->follow_fork(c, child);
}

void vm_control_discard_signal(vm_control *c, int64_t tid)
{
	c->ops->discard_signal(c, tid);
}

int vm_control_get_regs(vm_control *c, int64_t tid, vm_regs *r)
{
	return c->ops->get_regs(c, tid, r);
}

int vm_control_set_regs(vm_control *c, int64_t tid, const vm_regs *r)
{
	return c->ops->set_regs(c, tid, r);
}

int vm_control_get_fpregs(vm_control *c, int64_t tid, vm_fpregs *f)
{
	return c->ops->get_fpregs(c, tid, f);
}

int vm_control_set_fpregs(vm_control *c, int64_t tid, const vm_fpregs *f)
{
	return c->ops->set_fpregs(c, tid, f);
}

ssize_t vm_control_get_xstate(vm_control *c, int64_t tid, void *buf, size_t cap)
{
	return c->ops->get_xstate(c, tid, buf, cap);
}

int vm_control_set_xstate(vm_control *c, int64_t tid, const void *buf, size_t len)
{
	if (!c->ops->set_xstate) {
		vm_seterr("this target cannot set the XSAVE state");
		return -1;
	}
	return c->ops->set_xstate(c, tid, buf, len);
}

int vm_control_write_protect(vm_control *c, int64_t tid, uint64_t addr, uint64_t len, int how)
{
	if (!c->ops->write_protect) {
		vm_seterr("this target has no write-protection by the kernel");
		return -1;
	}
	return c->ops->write_protect(c, tid, addr, len, how);
}

ssize_t vm_control_user_rw(vm_control *c, uint64_t addr, void *buf, size_t len, bool write)
{
	if (!c->ops->user_rw) {
		vm_seterr("this target cannot access memory as its program");
		return -1;
	}
	return c->ops->user_rw(c, addr, buf, len, write);
}

int vm_control_publish_prots(vm_control *c, const vm_prot_page *v, size_t n)
{
	return c->ops->publish_prots ? c->ops->publish_prots(c, v, n) : 0;
}

int vm_control_get_debugreg(vm_control *c, int64_t tid, int i, uint64_t *v)
{
	if (i < 0 || i > 7 || i == 4 || i == 5) {
		vm_seterr("no debug register DR%d", i);
		return -1;
	}
	return c->ops->get_debugreg(c, tid, i, v);
}

int vm_control_set_debugreg(vm_control *c, int64_t tid, int i, uint64_t v)
{
	if (i < 0 || i > 7 || i == 4 || i == 5) {
		vm_seterr("no debug register DR%d", i);
		return -1;
	}
	return c->ops->set_debugreg(c, tid, i, v);
}

ssize_t vm_control_read(vm_control *c, uint64_t addr, void *buf, size_t len)
{
	return c->ops->read(c, addr, buf, len);
}

int vm_control_write(vm_control *c, uint64_t addr, const void *buf, size_t len, unsigned flags)
{
	return c->ops->write(c, addr, buf, len, flags);
}

int vm_control_protect(vm_control *c, uint64_t addr, uint64_t len, unsigned prot, unsigned flags)
{
	if (len == 0 || addr + len < addr) {
		vm_seterr("bad range to protect: 0x%llx+0x%llx", (unsigned long long)addr, (unsigned long long)len);
		return -1;
	}
	return c->ops->protect(c, addr, len, prot, flags);
}

int vm_control_protect_by(vm_control *c, int64_t tid, uint64_t addr, uint64_t len, unsigned prot, unsigned flags)
{
	c->protect_tid = tid;
	int rc = vm_control_protect(c, addr, len, prot, flags);
	c->protect_tid = 0;
	return rc;
}

int vm_control_syscall(vm_control *c, int64_t tid, long nr, const uint64_t args[6], int64_t *ret)
{
	return c->ops->syscall(c, tid, nr, args, ret);
}

bool vm_control_pending(vm_control *c)
{
	return c->ops->pending && c->ops->pending(c);
}

int vm_control_kill(vm_control *c)
{
	if (!c->ops->kill) {
		vm_seterr("this target cannot be killed");
		return -1;
	}
	return c->ops->kill(c);
}

void vm_control_update_saved(vm_control *c, uint64_t addr, const void *buf, size_t len)
{
	if (c->ops->update_saved)
		c->ops->update_saved(c, addr, buf, len);
}

int vm_control_watch_syscalls(vm_control *c, const uint64_t *ranges, size_t n)
{
	if (!c->ops->watch_syscalls) {
		if (!n)
			return 0;
		vm_seterr("this target cannot report system calls");
		return -1;
	}
	return c->ops->watch_syscalls(c, ranges, n);
}

int vm_control_syscall_mem(vm_control *c, int64_t tid, vm_sysmem *out, size_t cap, const char **name)
{
	if (!c->ops->syscall_mem) {
		vm_seterr("this target cannot report system calls");
		return -1;
	}
	return c->ops->syscall_mem(c, tid, out, cap, name);
}

void vm_control_update_saved_prot(vm_control *c, uint64_t addr, uint64_t len, int prot)
{
	if (c->ops->update_saved_prot)
		c->ops->update_saved_prot(c, addr, len, prot);
}

void vm_control_forget(vm_control *c, uint64_t addr, uint64_t len)
{
	if (c->ops->forget)
		c->ops->forget(c, addr, len);
}

int vm_control_sig_handled(vm_control *c, int sig)
{
	return c->ops->sig_handled ? c->ops->sig_handled(c, sig) : -1;
}

int vm_control_syscall_exit(vm_control *c, int64_t tid)
{
	if (!c->ops->syscall_exit) {
		vm_seterr("this target cannot report system calls");
		return -1;
	}
	return c->ops->syscall_exit(c, tid);
}

int vm_control_run_syscall(vm_control *c, int64_t tid)
{
	if (!c->ops->run_syscall) {
		vm_seterr("this target cannot report system calls");
		return -1;
	}
	return c->ops->run_syscall(c, tid);
}
