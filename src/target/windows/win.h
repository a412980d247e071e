/* The live Windows process backend (mingw-w64 build only): its pieces
 * share this; registry.c knows only win_backend. */
#ifndef VMATLAS_TARGET_WINDOWS_H
#define VMATLAS_TARGET_WINDOWS_H

#include <windows.h>

#include "target/backend.h"

extern const vm_backend win_backend;

typedef struct win_target {
	vm_target base;
	HANDLE h;          /* the process */
	DWORD pid;
	bool self;
	bool wow64;        /* a 32-bit process on 64-bit Windows */
	bool ws;           /* QueryWorkingSetEx answers for it */
	vm_target_info info;
	char *name, *exe;
	/* a program we started (win_spawn.c) */
	bool spawned, keep;
	HANDLE child;         /* CreateProcess's handle: all access, to kill it */
	bool held;            /* stopped at its loader breakpoint, event pending */
	bool frozen;          /* NtSuspendProcess'd by freeze() */
	DWORD held_pid, held_tid;
} win_target;

#define WT(t) ((win_target *)(t))

/* a WoW64 process seen from the 64-bit build: its 32-bit side through
 * the WoW64 calls (Wow64GetThreadContext, the TEB32 at TEB + 0x2000);
 * the 32-bit build, a WoW64 process itself, sees that side directly */
static inline bool win_wow64_seen(const win_target *w)
{
	return w->wow64 && sizeof(void *) == 8;
}

/* win_wow64.c: the PE32 (32) or PE32+ (64) image at base, 0 when none;
 * the file of a 32-bit module of a WoW64 process named by path (taken,
 * returned, perhaps another): SysWOW64's for a System32 name in the
 * 64-bit build, as the file system redirector gave it to the process */
int win_image_bits(win_target *w, uint64_t base);
char *win_wow64_file(win_target *w, char *path, int bits);

/* win_target.c: a process by id (self: the calling one) */
vm_target *win_open_pid(DWORD pid, bool self);

/* win_spawn.c: '-- PROGRAM ARGS', held at the loader's breakpoint */
vm_target *win_spawn(char *const argv[], const vm_spawn_options *o);
void win_spawn_close(win_target *w);
void win_spawn_release_all(void);

/* win_control*.c: execution control (vmatlas/control.h) on the Win32
 * debug API (a 32-bit debuggee by its i386 context); win_can_control:
 * not vmatlas itself */
vm_control *win_control_open(vm_target *t);
void win_control_release_all(void);
bool win_can_control(const win_target *w);

/* win_regions.c */
int win_regions(vm_target *t, unsigned flags, vm_region **out, size_t *n);
/* a UTF-16 NT path ("\Device\HarddiskVolume1\x") as a drive path
 * ("C:\x") in UTF-8, malloc'd */
char *win_dos_path(const wchar_t *nt);

/* win_ws.c: r->stats from the working set (left unknown when the OS
 * will not say); per-page detail and presence (VM_CAP_PAGES,
 * VM_CAP_PRESENT, when win_ws_readable: Wine answers for the calling
 * process only) */
void win_region_stats(win_target *w, vm_region *r);
bool win_ws_readable(win_target *w);
int win_pages(vm_target *t, uint64_t addr, uint64_t npages, vm_page_run **runs, size_t *nruns,
	      vm_page_counts *counts);
int win_present_range(vm_target *t, uint64_t addr, uint64_t npages, int8_t *out);
void win_pages_present(vm_target *t, const uint64_t *addrs, size_t n, int8_t *out);

/* win_threads.c */
int win_threads(vm_target *t, unsigned flags, vm_thread **out, size_t *n);
/* the TEB of an open thread (NtQueryInformationThread), 0 when unknown */
uint64_t win_thread_teb(HANDLE thread);
/* win_thread_states.c: the state letter of each thread of pid (0 when
 * the system's list cannot be had); *out freed by the caller */
typedef struct win_thread_state {
	DWORD tid;
	char state;
} win_thread_state;
size_t win_thread_states(DWORD pid, win_thread_state **out);
/* win_sysinfo.c: NtQuerySystemInformation(cls) into a buffer from first
 * bytes up to max (*len its size; free it), NULL with *status on failure */
void *win_system_info(ULONG cls, ULONG first, ULONG max, ULONG *len, LONG *status);

/* win_dump.c: MiniDumpWriteDump to fd */
int win_write_dump(vm_target *t, int fd, bool private_only);

/* win_handles.c: the open handles, with type and (where safe) name */
int win_handles(vm_target *t, vm_win_handle **out, size_t *n);

/* win_ps.c */
int win_processes(vm_process **out, size_t *n);
char *win_utf8(const wchar_t *w);

#endif
