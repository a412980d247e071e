/* A live Windows process, opened by PID or "self": memory through
 * ReadProcessMemory, the module list through EnumProcessModulesEx (the
 * loader's list; the pipeline walks PEB.Ldr too, from memory, as for
 * minidumps), regions and threads in win_regions.c and win_threads.c,
 * a program started by '--' in win_spawn.c.
 * Nothing in the process is changed: threads are suspended only for the
 * instant their context is read. */
#include "win.h"

#include <psapi.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

static ssize_t win_read(vm_target *t, uint64_t addr, void *buf, size_t len)
{
	win_target *w = WT(t);
	size_t done = 0;
	while (done < len) {
		/* a failed read may still have read a prefix: retry page by page */
		uint64_t a = addr + done;
		size_t want = len - done, page = 4096 - (size_t)(a & 4095);
		SIZE_T got = 0;
		if (a > (uint64_t)UINTPTR_MAX || a + want < a)
			break;
		if (ReadProcessMemory(w->h, (LPCVOID)(uintptr_t)a, (uint8_t *)buf + done, want, &got) && got) {
			done += got;
			continue;
		}
		if (want <= page)
			want = 0;
		else
			want = page;
		got = 0;
		if (!want || !ReadProcessMemory(w->h, (LPCVOID)(uintptr_t)a, (uint8_t *)buf + done, want, &got) || !got)
			break;
		done += got;
	}
	if (done == 0 && len)
		vm_seterr("cannot read 0x%llx in process %lu", (unsigned long long)addr, (unsigned long)w->pid);
	return (ssize_t)done;
}

static int win_modules(vm_target *t, vm_module **out, size_t *n)
{
	win_target *w = WT(t);
	DWORD need = 0;
	HMODULE *mods = NULL;
	for (DWORD cap = 256 * sizeof(HMODULE);; cap = need) {
		free(mods);
		mods = xmalloc(cap);
		if (!EnumProcessModulesEx(w->h, mods, cap, &need, LIST_MODULES_ALL)) {
			free(mods);
			vm_seterr("the module list of process %lu cannot be read (error %lu)", (unsigned long)w->pid,
				  (unsigned long)GetLastError());
			return -1;
		}
		if (need <= cap)
			break;
	}
	size_t k = need / sizeof(HMODULE);
	vm_module *v = xcalloc(k ? k : 1, sizeof *v);
	for (size_t i = 0; i < k; i++) {
		vm_module *x = &v[i];
		MODULEINFO mi;
		wchar_t path[MAX_PATH * 2];
		memset(&mi, 0, sizeof mi);
		GetModuleInformation(w->h, mods[i], &mi, sizeof mi);
		DWORD len = GetModuleFileNameExW(w->h, mods[i], path, ARRAY_LEN(path));
		path[len < ARRAY_LEN(path) ? len : 0] = 0;
		x->base = (uint64_t)(uintptr_t)mods[i];
		/* each its own: a WoW64 process on Windows has 64-bit modules
		 * too (ntdll, wow64*.dll) */
		x->bits = win_image_bits(w, x->base);
		if (!x->bits)
			x->bits = w->info.bits;
		x->path = win_wow64_file(w, len ? win_utf8(path) : NULL, x->bits);
		x->name = xstrdup(x->path ? win_path_tail(x->path) : "?");
		x->size = mi.SizeOfImage;
		x->load_bias = x->base;
		x->entry = (uint64_t)(uintptr_t)mi.EntryPoint;
		x->loader_index = (int)i;
		x->sources = VM_SRC_LOADER;
		x->format = "pe";
	}
	free(mods);
	*out = v;
	*n = k;
	return 0;
}

static int win_info(vm_target *t, vm_target_info *out)
{
	*out = WT(t)->info;
	return 0;
}

static unsigned win_caps(vm_target *t)
{
	/* vmatlas cannot hold its own threads while it reads them */
	win_target *w = WT(t);
	return VM_CAP_LIVE | VM_CAP_MODULES | VM_CAP_OS_DUMP | VM_CAP_HANDLES | (w->self ? 0 : VM_CAP_FREEZE) |
	       (w->ws ? VM_CAP_PAGES | VM_CAP_PRESENT : 0) | (win_can_control(w) ? VM_CAP_CONTROL | VM_CAP_WRITE_MEM : 0);
}

/* ---- freeze: every thread held by NtSuspendProcess ---- */

typedef LONG(NTAPI *nt_process_fn)(HANDLE);

static nt_process_fn ntdll_fn(const char *name)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	return ntdll ? (nt_process_fn)(void (*)(void))GetProcAddress(ntdll, name) : NULL;
}

/* the process frozen now, for a signal handler to let go */
static volatile HANDLE g_frozen;

static int win_freeze(vm_target *t)
{
	win_target *w = WT(t);
	nt_process_fn suspend = ntdll_fn("NtSuspendProcess");
	if (w->frozen)
		return 0;
	LONG st = suspend ? suspend(w->h) : -1;
	if (st < 0) {
		vm_seterr("cannot suspend process %lu (status 0x%lx)", (unsigned long)w->pid, (unsigned long)st);
		return -1;
	}
	w->frozen = true;
	g_frozen = w->h;
	return 0;
}

static int win_thaw(vm_target *t)
{
	win_target *w = WT(t);
	nt_process_fn resume = ntdll_fn("NtResumeProcess");
	if (!w->frozen)
		return 0;
	g_frozen = NULL;
	w->frozen = false;
	LONG st = resume ? resume(w->h) : -1;
	if (st < 0) {
		vm_seterr("cannot resume process %lu (status 0x%lx)", (unsigned long)w->pid, (unsigned long)st);
		return -1;
	}
	return 0;
}

static void win_release_all(void)
{
	HANDLE h = g_frozen;
	nt_process_fn resume = ntdll_fn("NtResumeProcess");
	if (h && resume)
		resume(h);
	win_control_release_all();
	win_spawn_release_all();
}

static void win_keep_running(vm_target *t)
{
	WT(t)->keep = true;
}

static void win_close(vm_target *t)
{
	win_target *w = WT(t);
	win_thaw(t);
	win_spawn_close(w);
	if (w->h && !w->self)
		CloseHandle(w->h);
	free(w->name);
	free(w->exe);
	free(w);
}

static const struct vm_target_ops win_ops = {
	.kind = VM_TARGET_WINDOWS_PROCESS,
	.caps = win_caps,
	.info = win_info,
	.regions = win_regions,
	.read = win_read,
	.threads = win_threads,
	.pages = win_pages,
	.pages_present = win_pages_present,
	.present_range = win_present_range,
	.modules = win_modules,
	.write_dump = win_write_dump,
	.handles = win_handles,
	.freeze = win_freeze,
	.thaw = win_thaw,
	.control = win_control_open,
	.keep_running = win_keep_running,
	.close = win_close,
};

vm_target *win_open_pid(DWORD pid, bool self)
{
	HANDLE h = self ? GetCurrentProcess()
			: OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ | PROCESS_SUSPEND_RESUME, FALSE, pid);
	if (!h && !self) /* without the right to suspend it: no --freeze */
		h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);
	if (!h) {
		DWORD e = GetLastError();
		vm_seterr(e == ERROR_ACCESS_DENIED ? "process %lu: access denied (run as its user or as administrator)"
						   : "no process %lu (error %lu)",
			  (unsigned long)pid, (unsigned long)e);
		return NULL;
	}
	win_target *w = xcalloc(1, sizeof *w);
	w->base.ops = &win_ops;
	w->h = h;
	w->pid = pid;
	w->self = self;
	BOOL wow = FALSE;
	w->wow64 = IsWow64Process(h, &wow) && wow;
	w->ws = win_ws_readable(w);
	SYSTEM_INFO si;
	GetNativeSystemInfo(&si);
	vm_target_info *in = &w->info;
	in->kind = VM_TARGET_WINDOWS_PROCESS;
	in->caps = win_caps(&w->base);
	in->pid = pid;
	in->os = VM_OS_WINDOWS;
	bool x64 = si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_AMD64;
	in->bits = x64 && !w->wow64 ? 64 : 32;
	if (in->bits == 64 && sizeof(void *) == 4) {
		/* ReadProcessMemory and VirtualQueryEx of a 32-bit caller end
		 * at 4 GiB: the map would be the low part of the process only */
		vm_seterr("process %lu is 64-bit: the 32-bit build of vmatlas cannot read it whole "
			  "(use the 64-bit vmatlas.exe)",
			  (unsigned long)pid);
		if (!self)
			CloseHandle(h);
		free(w);
		return NULL;
	}
	in->arch = in->bits == 64 ? VM_ARCH_X86_64 : VM_ARCH_I386;
	in->state = 'R';
	in->page_size = si.dwPageSize;
	in->user_top = vm_user_top(VM_OS_WINDOWS, in->bits, in->page_size);
	wchar_t path[MAX_PATH * 2];
	DWORD len = ARRAY_LEN(path);
	if (QueryFullProcessImageNameW(h, 0, path, &len) && len) {
		w->exe = win_utf8(path);
		w->name = xstrdup(win_path_tail(w->exe));
	} else {
		w->name = xasprintf("%lu", (unsigned long)pid);
	}
	in->exe = w->exe;
	in->name = w->name;
	FILETIME c, x, k, u;
	if (GetProcessTimes(h, &c, &x, &k, &u))
		in->start_time = (uint64_t)c.dwHighDateTime << 32 | c.dwLowDateTime;
	in->win.handles = -1;
	DWORD hc;
	/* every process holds some handle: 0 is no answer (Wine's) */
	if (GetProcessHandleCount(h, &hc) && hc)
		in->win.handles = hc;
	return &w->base;
}

/* ---- the backend ---- */

static bool pid_of(const char *spec, DWORD *pid)
{
	if (!spec || !*spec || strlen(spec) > 10)
		return false;
	uint64_t v = 0;
	for (const char *c = spec; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return false;
	*pid = (DWORD)v;
	return true;
}

static bool win_probe(const char *spec, const vm_open_options *o, const uint8_t *head, size_t len)
{
	(void)head, (void)len;
	DWORD pid;
	return o->argv || (spec && !head && (!strcmp(spec, "self") || pid_of(spec, &pid)));
}

static vm_target *win_backend_open(const char *spec, const vm_open_options *o)
{
	DWORD pid;
	if (o->argv)
		return win_spawn(o->argv, &o->spawn);
	if (!strcmp(spec, "self"))
		return win_open_pid(GetCurrentProcessId(), true);
	if (!pid_of(spec, &pid)) {
		vm_seterr("not a process id: %s", spec);
		return NULL;
	}
	return win_open_pid(pid, pid == GetCurrentProcessId());
}

/* a running process by its executable's name ("notepad.exe" or
 * "notepad"), when exactly one has it */
static vm_target *win_open_name(const char *spec, const vm_open_options *o, size_t *matches)
{
	(void)o;
	*matches = 0;
	vm_process *ps;
	size_t n;
	if (win_processes(&ps, &n) < 0)
		return NULL;
	DWORD pid = 0, me = GetCurrentProcessId();
	size_t sl = strlen(spec);
	for (size_t i = 0; i < n; i++) {
		const char *nm = ps[i].name;
		size_t nl = nm ? strlen(nm) : 0;
		bool hit = nm && (!_stricmp(nm, spec) || (nl == sl + 4 && !_strnicmp(nm, spec, sl) &&
							  !_stricmp(nm + sl, ".exe")));
		if (hit && (DWORD)ps[i].pid != me) {
			(*matches)++;
			pid = (DWORD)ps[i].pid;
		}
	}
	vm_processes_free(ps, n);
	if (*matches > 1) {
		vm_seterr("%zu processes are called '%s' (give one's PID; vmatlas ps lists them)", *matches, spec);
		return NULL;
	}
	return *matches ? win_open_pid(pid, false) : NULL;
}

const vm_backend win_backend = {
	.name = "windows",
	.probe = win_probe,
	.open = win_backend_open,
	.open_name = win_open_name,
	.release_all = win_release_all,
	.processes = win_processes,
};
