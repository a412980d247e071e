/* The backends, and picking one for a target spec: the only place that
 * names them. Backends never call this file or each other. */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/open_file.h"
#include "base/util.h"
#include "elfcore/core_target.h"
#include "minidump/md_target.h"
#include "vmatlas/error.h"
/* the live backend of the OS this is built for (the Makefile builds
 * target/linux or target/windows, never both) */
#ifdef _WIN32
#include "windows/win.h"
#define LIVE_BACKEND win_backend
#else
#include "linux/linux.h"
#define LIVE_BACKEND lx_backend
#endif

static const vm_backend *const backends[] = { &LIVE_BACKEND, &core_backend, &md_backend };
#define NBACKENDS (sizeof backends / sizeof backends[0])

static const vm_backend *pick(const char *spec, const vm_open_options *o, const uint8_t *head, size_t len)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (backends[i]->probe(spec, o, head, len))
			return backends[i];
	return NULL;
}

static vm_target *freeze_failed(vm_target *t)
{
	char *e = xstrdup(vm_error());
	vm_target_close(t);
	vm_seterr("%s", e);
	free(e);
	return NULL;
}

vm_target *vm_target_open_with(const char *spec, const vm_open_options *o)
{
	static const vm_open_options none;
	if (!o)
		o = &none;
	if (!o->argv && (!spec || !*spec)) {
		vm_seterr("no target given");
		return NULL;
	}
	/* names first (a PID, "self", a program), then files by content */
	const vm_backend *b = pick(spec, o, NULL, 0);
	if (!b && o->argv) {
		vm_seterr("no backend here can start programs");
		return NULL;
	}
	if (!b) {
		struct stat sb;
		int st = stat(spec, &sb);
		bool missing = st != 0 && errno == ENOENT;
		if (st == 0 && !S_ISREG(sb.st_mode)) {
			vm_seterr("%s is not a regular file (a TARGET is a PID, 'self', a core file or a minidump)",
				  spec);
			return NULL;
		}
		int fd = open_regular(spec);
		if (fd < 0 && missing && !strchr(spec, '/')) {
			/* a process by name: "vmatlas map nginx" */
			for (size_t i = 0; i < NBACKENDS; i++) {
				size_t matches = 0;
				if (!backends[i]->open_name)
					continue;
				vm_target *t = backends[i]->open_name(spec, o, &matches);
				if (t || matches)
					return t && o->freeze && vm_target_freeze(t) < 0 ? freeze_failed(t) : t;
			}
		}
		if (fd < 0) {
			vm_seterr("not a process id, 'self', a process name or a readable file: %s", spec);
			return NULL;
		}
		uint8_t head[64];
		ssize_t got = pread(fd, head, sizeof head, 0);
		close(fd);
		b = got > 0 ? pick(spec, o, head, (size_t)got) : NULL;
		if (!b) {
			vm_seterr("%s: not a core file or a minidump", spec);
			return NULL;
		}
	}
	vm_target *t = b->open(spec, o);
	if (t && o->freeze && vm_target_freeze(t) < 0) {
		char *e = xstrdup(vm_error());
		vm_target_close(t);
		vm_seterr("%s", e);
		free(e);
		return NULL;
	}
	return t;
}

int vm_process_list(vm_process **out, size_t *n)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (backends[i]->processes)
			return backends[i]->processes(out, n);
	vm_seterr("no backend here lists processes");
	return -1;
}

void vm_processes_free(vm_process *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].exe);
		free(p[i].user);
	}
	free(p);
}

bool vm_file_target_magic(const uint8_t *buf, size_t len)
{
	vm_open_options none = { 0 };
	return pick(NULL, &none, buf, len) != NULL;
}

/* what vm_target_open and vm_target_spawn pass on */
static char *g_sysroot, *g_solib_path;

void vm_target_set_file_search(const char *sysroot, const char *solib_path)
{
	free(g_sysroot);
	free(g_solib_path);
	g_sysroot = sysroot ? xstrdup(sysroot) : NULL;
	g_solib_path = solib_path ? xstrdup(solib_path) : NULL;
}

vm_target *vm_target_open(const char *spec)
{
	vm_open_options o = { .sysroot = g_sysroot, .solib_path = g_solib_path };
	return vm_target_open_with(spec, &o);
}

vm_target *vm_target_spawn(char *const argv[], const vm_spawn_options *opt)
{
	if (!argv || !argv[0]) {
		vm_seterr("no program to run");
		return NULL;
	}
	vm_open_options o = { .sysroot = g_sysroot, .solib_path = g_solib_path, .argv = argv };
	if (opt)
		o.spawn = *opt;
	return vm_target_open_with(argv[0], &o);
}

/* ---- cleanup on fatal signals ---- */

static void release_all(void)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (backends[i]->release_all)
			backends[i]->release_all();
}

static void on_fatal_signal(int sig)
{
	int lost = af_release_all(); /* temporaries of output files */
	release_all();
	/* the reader of the output went away (| head): end quietly, 0 as
	 * when the output was taken whole, 1 if an output file was lost */
	if (sig == SIGPIPE)
		_exit(lost ? 1 : 0);
	/* die of it with the default action: a raised one is delivered when
	 * the handler returns (it is blocked until then); a fault comes back
	 * as the instruction runs again */
	signal(sig, SIG_DFL);
	raise(sig);
}

void vm_install_cleanup_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
	/* vmatlas's own crashes: the target is let go before vmatlas dies
	 * (on its own stack: the crash may be a stack overflow) */
	static const int crashes[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	bool alt = sigaltstack(&ss, NULL) == 0;
	sa.sa_flags = SA_RESETHAND | (alt ? SA_ONSTACK : 0);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&sa.sa_mask, sigs[i]); /* one cleanup at a time */
	for (size_t i = 0; i < sizeof crashes / sizeof crashes[0]; i++)
		sigaction(crashes[i], &sa, NULL);
	atexit(release_all);
}
