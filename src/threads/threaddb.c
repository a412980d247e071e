/* glibc's debugger interface, libthread_db: it knows the layout of the
 * thread library's data and asks us, through the proc_service callbacks
 * below, for symbols, memory and thread pointers. The callbacks are
 * global functions of the program, exported for it (the Makefile's
 * --export-dynamic-symbol). It is loaded on first use: most commands
 * never need it, and every command would pay for loading it. */
#include <dlfcn.h>
#include <proc_service.h>
#include <stdlib.h>
#include <string.h>
#include <thread_db.h>

#include "base/util.h"
#include "vmatlas/threads.h"

struct ps_prochandle {
	const vm_map *m;
	vm_target *t;
	vm_symbolizer *s;
};

struct vm_tdb {
	struct ps_prochandle ph;
	td_thragent_t *ta;
};

ps_err_e ps_pglobal_lookup(struct ps_prochandle *ph, const char *obj, const char *name,
			   psaddr_t *addr)
{
	uint64_t a;
	/* the named object when there is one of that name (libpthread is
	 * part of libc since glibc 2.34), else any */
	const char *mod = NULL;
	for (size_t i = 0; obj && i < ph->m->nmodules; i++)
		if (strcmp(ph->m->modules[i].name, path_tail(obj)) == 0)
			mod = ph->m->modules[i].name;
	/* glibc 2.34 and later: libpthread's symbols are libc's (a stub
	 * libpthread.so.0 may still be loaded): ask libc before every
	 * module, which spares scanning whole tables (a JIT runtime's
	 * executable has hundreds of thousands of symbols) */
	const char *libc = NULL;
	for (size_t i = 0; i < ph->m->nmodules && !libc; i++)
		if (strcmp(ph->m->modules[i].name, "libc.so.6") == 0)
			libc = ph->m->modules[i].name;
	if ((mod && vm_symbol_lookup(ph->s, mod, name, &a)) ||
	    (libc && libc != mod && vm_symbol_lookup(ph->s, libc, name, &a)) || vm_symbol_lookup(ph->s, NULL, name, &a)) {
		*addr = (psaddr_t)(uintptr_t)a;
		return PS_OK;
	}
	return PS_NOSYM;
}

ps_err_e ps_pdread(struct ps_prochandle *ph, psaddr_t addr, void *buf, size_t size)
{
	return vm_read_full(ph->t, (uint64_t)(uintptr_t)addr, buf, size) == 0 ? PS_OK : PS_ERR;
}

ps_err_e ps_ptread(struct ps_prochandle *ph, psaddr_t addr, void *buf, size_t size)
{
	return ps_pdread(ph, addr, buf, size);
}

/* vmatlas never writes to its target through libthread_db */
ps_err_e ps_pdwrite(struct ps_prochandle *ph, psaddr_t addr, const void *buf, size_t size)
{
	(void)ph, (void)addr, (void)buf, (void)size;
	return PS_ERR;
}

ps_err_e ps_ptwrite(struct ps_prochandle *ph, psaddr_t addr, const void *buf, size_t size)
{
	(void)ph, (void)addr, (void)buf, (void)size;
	return PS_ERR;
}

ps_err_e ps_lgetregs(struct ps_prochandle *ph, lwpid_t lwp, prgregset_t regs)
{
	(void)ph, (void)lwp, (void)regs;
	return PS_ERR;
}

ps_err_e ps_lsetregs(struct ps_prochandle *ph, lwpid_t lwp, const prgregset_t regs)
{
	(void)ph, (void)lwp, (void)regs;
	return PS_ERR;
}

ps_err_e ps_lgetfpregs(struct ps_prochandle *ph, lwpid_t lwp, prfpregset_t *regs)
{
	(void)ph, (void)lwp, (void)regs;
	return PS_ERR;
}

ps_err_e ps_lsetfpregs(struct ps_prochandle *ph, lwpid_t lwp, const prfpregset_t *regs)
{
	(void)ph, (void)lwp, (void)regs;
	return PS_ERR;
}

pid_t ps_getpid(struct ps_prochandle *ph)
{
	return (pid_t)ph->m->info.pid;
}

/* x86-64 asks for the fs base, i386 for the gs descriptor's base: both
 * are the thread pointer the target gave us */
ps_err_e ps_get_thread_area(struct ps_prochandle *ph, lwpid_t lwp, int idx, psaddr_t *base)
{
	(void)idx;
	for (size_t i = 0; i < ph->m->nthreads; i++)
		if (ph->m->threads[i].tid == lwp && ph->m->threads[i].regs_valid && ph->m->threads[i].tp) {
			*base = (psaddr_t)(uintptr_t)ph->m->threads[i].tp;
			return PS_OK;
		}
	return PS_ERR;
}

static const char *td_why(td_err_e e)
{
	switch (e) {
	case TD_NOLIBTHREAD: return "no glibc thread library in the process";
	case TD_VERSION: return "libthread_db does not match the process's glibc version";
	case TD_NOCAPAB: return "libthread_db cannot do this here";
	default: return "libthread_db failed";
	}
}

/* libthread_db's entry points, from dlopen */
static struct {
	td_err_e (*init)(void);
	td_err_e (*ta_new)(struct ps_prochandle *, td_thragent_t **);
	td_err_e (*ta_delete)(td_thragent_t *);
	td_err_e (*ta_map_lwp2thr)(const td_thragent_t *, lwpid_t, td_thrhandle_t *);
	td_err_e (*thr_get_info)(const td_thrhandle_t *, td_thrinfo_t *);
	td_err_e (*thr_tls_get_addr)(const td_thrhandle_t *, psaddr_t, size_t, psaddr_t *);
} tdb;

static bool load_libthread_db(const char **why)
{
	static int state; /* 0 untried, 1 loaded, -1 unavailable */
	if (state == 0) {
		void *h = dlopen("libthread_db.so.1", RTLD_NOW | RTLD_LOCAL);
		state = -1;
		if (h) {
			/* POSIX lets a function pointer come from dlsym's void *;
			 * C does not, hence the copy through memcpy */
			static const char *const names[] = { "td_init", "td_ta_new", "td_ta_delete",
							     "td_ta_map_lwp2thr", "td_thr_get_info",
							     "td_thr_tls_get_addr" };
			void (*fn[6])(void);
			size_t ok = 0;
			for (size_t i = 0; i < 6; i++) {
				void *p = dlsym(h, names[i]);
				memcpy(&fn[i], &p, sizeof p);
				ok += p != NULL;
			}
			if (ok == 6) {
				memcpy(&tdb.init, &fn[0], sizeof fn[0]);
				memcpy(&tdb.ta_new, &fn[1], sizeof fn[1]);
				memcpy(&tdb.ta_delete, &fn[2], sizeof fn[2]);
				memcpy(&tdb.ta_map_lwp2thr, &fn[3], sizeof fn[3]);
				memcpy(&tdb.thr_get_info, &fn[4], sizeof fn[4]);
				memcpy(&tdb.thr_tls_get_addr, &fn[5], sizeof fn[5]);
				state = tdb.init() == TD_OK ? 1 : -1;
			}
		}
	}
	if (state < 0 && why)
		*why = "glibc's libthread_db.so.1 cannot be loaded";
	return state > 0;
}

vm_tdb *vm_tdb_open(const vm_map *m, vm_target *t, vm_symbolizer *s, const char **why)
{
	if (!load_libthread_db(why))
		return NULL;
	vm_tdb *d = xcalloc(1, sizeof *d);
	d->ph.m = m;
	d->ph.t = t;
	d->ph.s = s;
	td_err_e e = tdb.ta_new(&d->ph, &d->ta);
	if (e != TD_OK) {
		if (why)
			*why = td_why(e);
		free(d);
		return NULL;
	}
	return d;
}

static bool thread_handle(vm_tdb *d, int64_t tid, td_thrhandle_t *th)
{
	return tdb.ta_map_lwp2thr(d->ta, (lwpid_t)tid, th) == TD_OK;
}

bool vm_tdb_start(vm_tdb *d, int64_t tid, uint64_t *start)
{
	td_thrhandle_t th;
	td_thrinfo_t info;
	memset(&info, 0, sizeof info);
	if (!thread_handle(d, tid, &th) || tdb.thr_get_info(&th, &info) != TD_OK)
		return false;
	*start = (uint64_t)(uintptr_t)info.ti_startfunc;
	return *start != 0;
}

bool vm_tdb_tls_addr(vm_tdb *d, int64_t tid, uint64_t link_map, uint64_t offset, uint64_t *addr)
{
	td_thrhandle_t th;
	psaddr_t a;
	if (!thread_handle(d, tid, &th) ||
	    tdb.thr_tls_get_addr(&th, (psaddr_t)(uintptr_t)link_map, (size_t)offset, &a) != TD_OK)
		return false;
	*addr = (uint64_t)(uintptr_t)a;
	return true;
}

void vm_tdb_close(vm_tdb *d)
{
	if (!d)
		return;
	tdb.ta_delete(d->ta);
	free(d);
}
