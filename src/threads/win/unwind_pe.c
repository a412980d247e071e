/* Call stacks in the Windows build, which has no libdwfl (the Makefile
 * leaves unwind.c and threaddb.c out): x64 Windows targets through the
 * images' .pdata (pe_unwind.c), 32-bit ones by frame pointers, scans and
 * SEH records (x86_unwind.c), both as in the Linux build; with
 * VMATLAS_UNWIND=stackwalk64 in the environment, dbghelp's StackWalk64
 * instead (stackwalk.c: a second opinion, which the tests compare). Any
 * other target gets its first frame, from its registers, and a note
 * saying why no more. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "stackwalk.h"
#include "threads/pe_unwind.h"
#include "threads/unwind.h"
#include "threads/x86_unwind.h"

struct unwinder {
	const vm_map *m;
	vm_target *t;
	pe_unwind *pe;
	stackwalk *sw;
	bool x86;
};

unwinder *unwinder_new(const vm_map *m, vm_target *t)
{
	unwinder *u = xcalloc(1, sizeof *u);
	u->m = m;
	u->t = t;
	const char *how = getenv("VMATLAS_UNWIND");
	if (how && strcmp(how, "stackwalk64") == 0)
		u->sw = stackwalk_new(m, t); /* NULL where it cannot walk: ours then */
	bool ours = !u->sw && m->info.os == VM_OS_WINDOWS;
	if (ours && m->info.arch == VM_ARCH_X86_64)
		u->pe = pe_unwind_new(m, t);
	else if (ours && m->info.arch == VM_ARCH_I386)
		u->x86 = true;
	return u;
}

void unwinder_free(unwinder *u)
{
	if (!u)
		return;
	pe_unwind_free(u->pe);
	stackwalk_free(u->sw);
	free(u);
}

void unwinder_frames(unwinder *u, const vm_thread *th, unsigned max, vm_frame **out, size_t *n,
		     const char **note)
{
	*out = NULL;
	*n = 0;
	*note = NULL;
	if (!max || max > 1024)
		max = 1024;
	if (th->regs_valid && u->sw) {
		stackwalk_thread(u->sw, th, max, out, n, note);
		return;
	}
	if (th->regs_valid && u->pe) {
		pe_unwind_thread(u->pe, th, max, out, n, note);
		return;
	}
	if (th->regs_valid && u->x86) {
		x86_unwind_thread(u->m, u->t, th, max, out, n, note);
		return;
	}
	if (!th->regs_valid && !th->sp_valid) {
		*note = "the thread's registers could not be read";
		return;
	}
	vm_frame *f = xcalloc(1, sizeof *f);
	f->pc = th->pc;
	f->sp = th->sp;
	f->sp_valid = true;
	f->method = "registers";
	*out = f;
	*n = 1;
	*note = "the Windows build unwinds only Windows stacks; no DWARF unwinder";
}
