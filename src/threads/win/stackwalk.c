/* StackWalk64 over our target (stackwalk.h). dbghelp calls back for
 * memory with nothing but its process handle: the walk in progress is
 * kept in one static, as StackWalk64 itself is not reentrant. */
#include "stackwalk.h"

#include <windows.h>
#include <dbghelp.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "symbols/win/dbgh.h"

struct stackwalk {
	const vm_map *m;
	vm_target *t;
	dbgh *d;
	DWORD machine;
};

static vm_target *g_target; /* the target of the walk in progress */

static BOOL CALLBACK read_memory(HANDLE h, DWORD64 addr, PVOID buf, DWORD len, LPDWORD got)
{
	(void)h;
	ssize_t r = g_target ? vm_read(g_target, addr, buf, len) : -1;
	*got = r > 0 ? (DWORD)r : 0;
	return r > 0;
}

stackwalk *stackwalk_new(const vm_map *m, vm_target *t)
{
	DWORD machine;
	if (m->info.arch == VM_ARCH_I386)
		machine = IMAGE_FILE_MACHINE_I386;
#ifdef _WIN64
	else if (m->info.arch == VM_ARCH_X86_64)
		machine = IMAGE_FILE_MACHINE_AMD64; /* needs the 64-bit CONTEXT: the 64-bit build */
#endif
	else
		return NULL;
	if (m->info.os != VM_OS_WINDOWS)
		return NULL;
	dbgh *d = dbgh_open(m, t);
	if (!d)
		return NULL;
	dbgh_load_all(d);
	stackwalk *w = xcalloc(1, sizeof *w);
	w->m = m;
	w->t = t;
	w->d = d;
	w->machine = machine;
	return w;
}

void stackwalk_free(stackwalk *w)
{
	if (!w)
		return;
	dbgh_close(w->d);
	free(w);
}

static uint64_t reg_of(const vm_thread *th, const char *name)
{
	for (size_t i = 0; i < th->nregs; i++)
		if (strcmp(th->regs[i].name, name) == 0)
			return th->regs[i].value;
	return 0;
}

void stackwalk_thread(stackwalk *w, const vm_thread *th, size_t max, vm_frame **out, size_t *n,
		      const char **note)
{
	STACKFRAME64 sf;
	memset(&sf, 0, sizeof sf);
	sf.AddrPC.Offset = th->pc;
	sf.AddrStack.Offset = th->sp;
	sf.AddrPC.Mode = sf.AddrStack.Mode = sf.AddrFrame.Mode = AddrModeFlat;
	void *context = NULL; /* i386: the frame above is all StackWalk64 needs */
#ifdef _WIN64
	CONTEXT c;
	if (w->machine == IMAGE_FILE_MACHINE_AMD64) {
		memset(&c, 0, sizeof c);
		c.ContextFlags = CONTEXT_FULL;
		c.Rip = th->pc, c.Rsp = th->sp, c.Rbp = reg_of(th, "rbp");
		c.Rax = reg_of(th, "rax"), c.Rbx = reg_of(th, "rbx"), c.Rcx = reg_of(th, "rcx");
		c.Rdx = reg_of(th, "rdx"), c.Rsi = reg_of(th, "rsi"), c.Rdi = reg_of(th, "rdi");
		c.R8 = reg_of(th, "r8"), c.R9 = reg_of(th, "r9"), c.R10 = reg_of(th, "r10");
		c.R11 = reg_of(th, "r11"), c.R12 = reg_of(th, "r12"), c.R13 = reg_of(th, "r13");
		c.R14 = reg_of(th, "r14"), c.R15 = reg_of(th, "r15");
		sf.AddrFrame.Offset = c.Rbp;
		context = &c;
	}
#endif
	if (w->machine == IMAGE_FILE_MACHINE_I386)
		sf.AddrFrame.Offset = reg_of(th, "ebp");
	vm_frame *f = NULL;
	size_t nf = 0, cap = 0;
	*note = NULL;
	g_target = w->t;
	uint64_t last_sp = 0;
	while (nf < max) {
		if (!StackWalk64(w->machine, dbgh_handle(w->d), NULL, &sf, context, read_memory,
				 SymFunctionTableAccess64, SymGetModuleBase64, NULL)) {
			if (!nf)
				*note = "StackWalk64 could not start";
			break;
		}
		if (!sf.AddrPC.Offset)
			break; /* the outermost frame */
		if (nf && sf.AddrStack.Offset <= last_sp) {
			*note = "the unwound stack pointer does not go up the stack";
			break;
		}
		last_sp = sf.AddrStack.Offset;
		const char *how = nf ? "stackwalk64" : "registers";
		vm_frame *z = ARRAY_PUSH(f, nf, cap);
		*z = (vm_frame){ sf.AddrPC.Offset, sf.AddrStack.Offset, true, false, how };
	}
	g_target = NULL;
	*out = f;
	*n = nf;
}
