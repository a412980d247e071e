#include "unwind.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/open_file.h"
#include "base/bytes.h"
#include "base/util.h"
#include "pe_unwind.h"
#include "x86_unwind.h"

#define MAX_FRAMES 1024

struct unwinder {
	const vm_map *m;
	vm_target *t;
	Dwfl *dwfl;
	bool attached;
	size_t w;                /* word size of the target */
	const vm_thread *cur;    /* the thread being unwound */
	vm_frame *frames;
	size_t n, cap, max;
	pe_unwind *pe;           /* x64 Windows: .pdata */
};

/* ---- memory and registers for libdwfl ---- */

static bool read_word(unwinder *u, uint64_t addr, uint64_t *v)
{
	const vm_thread *th = u->cur;
	if (th && th->stack_copy && addr >= th->stack_copy_addr &&
	    addr - th->stack_copy_addr + u->w <= th->stack_copy_len) {
		*v = ld_word(th->stack_copy + (addr - th->stack_copy_addr), u->w);
		return true;
	}
	vm_reader r = vm_reader_target(u->t);
	return vm_reader_word(&r, addr, u->w, v);
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	uint64_t v;
	if (!read_word(arg, addr, &v))
		return false;
	*result = v;
	return true;
}

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	unwinder *u = arg;
	size_t i = (size_t)(uintptr_t)*thread_argp;
	if (i >= u->m->nthreads)
		return 0;
	*thread_argp = (void *)(uintptr_t)(i + 1);
	return (pid_t)u->m->threads[i].tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	unwinder *u = arg;
	for (size_t i = 0; i < u->m->nthreads; i++)
		if (u->m->threads[i].tid == tid) {
			*thread_argp = u;
			return true;
		}
	return false;
}

static uint64_t reg(const vm_thread *th, const char *name)
{
	for (size_t i = 0; i < th->nregs; i++)
		if (strcmp(th->regs[i].name, name) == 0)
			return th->regs[i].value;
	return 0;
}

/* the registers in DWARF numbering */
static bool cb_initial_registers(Dwfl_Thread *thread, void *arg)
{
	unwinder *u = arg;
	const vm_thread *th = u->cur;
	if (!th || !th->regs_valid)
		return false;
	if (u->w == 8) {
		static const char *names[17] = { "rax", "rdx", "rcx", "rbx", "rsi", "rdi",
						 "rbp", "rsp", "r8",  "r9",  "r10", "r11",
						 "r12", "r13", "r14", "r15", "rip" };
		Dwarf_Word r[17];
		for (int i = 0; i < 17; i++)
			r[i] = reg(th, names[i]);
		return dwfl_thread_state_registers(thread, 0, 17, r);
	}
	static const char *names[9] = { "eax", "ecx", "edx", "ebx", "esp",
					 "ebp", "esi", "edi", "eip" };
	Dwarf_Word r[9];
	for (int i = 0; i < 9; i++)
		r[i] = reg(th, names[i]);
	return dwfl_thread_state_registers(thread, 0, 9, r);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_initial_registers,
};

static char *debuginfo_path;
static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* the vdso has no file: give libdwfl a copy of it (it is mapped whole) */
static int vdso_fd(unwinder *u, const vm_module *mod)
{
	if (mod->size == 0 || mod->size > (1u << 20))
		return -1;
	uint8_t *buf = xmalloc((size_t)mod->size);
	int fd = -1;
	if (vm_read_full(u->t, mod->base, buf, (size_t)mod->size) == 0) {
		fd = memfd_create("vmatlas-vdso", MFD_CLOEXEC);
		if (fd >= 0 && write(fd, buf, (size_t)mod->size) != (ssize_t)mod->size) {
			close(fd);
			fd = -1;
		}
	}
	free(buf);
	return fd;
}

static int module_fd(unwinder *u, const vm_module *mod)
{
	if (!mod->path)
		return strcmp(mod->name, "linux-vdso.so.1") == 0 ? vdso_fd(u, mod) : -1;
	if (vm_target_caps(u->t) & VM_CAP_BACKING)
		for (size_t i = 0; i < u->m->nregions; i++) {
			const vm_region *r = &u->m->regions[i];
			if (r->path && strcmp(r->path, mod->path) == 0 &&
			    range_contains(mod->base, mod->size ? mod->size : 1, r->base)) {
				int fd = vm_target_open_backing(u->t, r);
				if (fd >= 0)
					return fd;
				break;
			}
		}
	return open_named_by_target(mod->path);
}

unwinder *unwinder_new(const vm_map *m, vm_target *t)
{
	unwinder *u = xcalloc(1, sizeof *u);
	u->m = m;
	u->t = t;
	u->w = m->info.bits == 32 ? 4 : 8;
	if (m->info.os == VM_OS_WINDOWS) {
		/* no DWARF CFI to hand libdwfl: .pdata on x64, frame pointers on x86 */
		if (m->info.arch == VM_ARCH_X86_64)
			u->pe = pe_unwind_new(m, t);
		return u;
	}
	u->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!u->dwfl)
		return u;
	dwfl_report_begin(u->dwfl);
	for (size_t i = 0; i < m->nmodules; i++) {
		const vm_module *mod = &m->modules[i];
		if (!mod->size)
			continue;
		int fd = module_fd(u, mod);
		if (fd < 0)
			continue;
		char label[64];
		snprintf(label, sizeof label, "/proc/self/fd/%d", fd);
		if (!dwfl_report_elf(u->dwfl, mod->name, mod->path ? mod->path : label, fd,
				     mod->load_bias, false))
			close(fd); /* consumed only on success */
	}
	dwfl_report_end(u->dwfl, NULL, NULL);
	u->attached = dwfl_attach_state(u->dwfl, NULL, (pid_t)m->info.pid, &thread_callbacks, u);
	return u;
}

void unwinder_free(unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	pe_unwind_free(u->pe);
	free(u);
}

static void push(unwinder *u, uint64_t pc, uint64_t sp, bool sp_valid, bool signal,
		 const char *method)
{
	vm_frame *f = ARRAY_PUSH(u->frames, u->n, u->cap);
	f->pc = pc;
	f->sp = sp;
	f->sp_valid = sp_valid;
	f->signal = signal;
	f->method = method;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	unwinder *u = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	Dwarf_Word sp = 0;
	bool sp_valid = dwfl_frame_reg(state, u->w == 8 ? 7 : 4, &sp) == 0;
	push(u, pc, sp, sp_valid, u->n > 0 && activation, u->n == 0 ? "registers" : "cfi");
	return u->n >= u->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

/* A function that has not set up its frame (a leaf without one, or
 * stopped in its prolog, as a stack overflow stops it) leaves its
 * caller out of the frame-pointer chain; its return address is among
 * the first words at sp: a word just after a direct call (E8 rel32) or
 * an indirect one through memory (FF 15 / FF 25 [abs32] on 32-bit)
 * whose target is at most 64 KiB before pc. 0 when none is. */
static uint64_t caller_at_sp(unwinder *u, const vm_thread *th, uint64_t *slot)
{
	vm_reader r = vm_reader_target(u->t);
	for (unsigned k = 0; k < 4; k++) {
		uint64_t at = th->sp + k * u->w, ret, target = 0;
		uint8_t c[6];
		if (!read_word(u, at, &ret) || ret < 6 || !vm_reader_full(&r, ret - 6, c, 6))
			continue;
		if (c[1] == 0xe8) {
			target = ret + (uint64_t)(int64_t)(int32_t)ld_le32(c + 2);
		} else if (c[0] == 0xff && (c[1] == 0x15 || c[1] == 0x25) && u->w == 4) {
			uint64_t ptr;
			if (!read_word(u, ld_le32(c + 2), &ptr))
				continue;
			target = ptr;
		} else {
			continue;
		}
		if (target <= th->pc && th->pc - target < 0x10000) {
			*slot = at;
			return ret;
		}
	}
	return 0;
}

/* [fp] holds the caller's fp, [fp + word] the return address */
static void fp_walk(unwinder *u, const vm_thread *th)
{
	uint64_t fp = th->fp, stack_end = th->stack_base + th->stack_size;
	if (u->n == 0)
		push(u, th->pc, th->sp, true, false, "registers");
	if (u->n == 1 && u->n < u->max) {
		uint64_t slot, ret = caller_at_sp(u, th, &slot), first = 0;
		bool chained = fp && fp >= th->sp && read_word(u, fp + u->w, &first);
		if (ret && (!chained || first != ret) && (!chained || slot < fp))
			push(u, ret, slot + u->w, true, false, "scan");
	}
	while (u->n < u->max && fp && fp >= th->sp && (stack_end == 0 || fp < stack_end) &&
	       fp % u->w == 0) {
		uint64_t next, ret;
		if (!read_word(u, fp, &next) || !read_word(u, fp + u->w, &ret) || ret == 0)
			break;
		push(u, ret, fp + 2 * u->w, true, false, "fp");
		if (next <= fp) /* the chain must go up the stack */
			break;
		fp = next;
	}
}

/* why libdwfl stopped, said for a person: its own messages name its
 * internals ("No DWARF information found") */
static const char *unwind_stop_reason(const char *msg)
{
	if (!msg)
		return NULL;
	if (!strcmp(msg, "No DWARF information found") || !strcmp(msg, "no DWARF information") ||
	    !strcmp(msg, "No backend"))
		return "the stack ends here: no unwind information (CFI) for the code at the last frame "
		       "(a stripped program, or code generated at run time)";
	if (!strcmp(msg, "address out of range"))
		return "the stack ends here: the last return address is in no module";
	return msg;
}

void unwinder_frames(unwinder *u, const vm_thread *th, unsigned max, vm_frame **out, size_t *n,
		     const char **note)
{
	u->frames = NULL;
	u->n = u->cap = 0;
	u->max = max && max < MAX_FRAMES ? max : MAX_FRAMES;
	u->cur = th;
	*note = NULL;
	if (!th->regs_valid) {
		if (th->sp_valid) {
			push(u, th->pc, th->sp, true, false, "registers");
			*note = "only pc and sp are known: the thread could not be stopped";
		} else if (th->state == 'Z' || th->state == 'X') {
			*note = "the thread has exited: it has no registers";
		} else {
			*note = "the thread's registers could not be read";
		}
	} else if (u->pe) {
		pe_unwind_thread(u->pe, th, u->max, &u->frames, &u->n, note);
	} else if (u->m->info.os == VM_OS_WINDOWS && u->m->info.arch == VM_ARCH_I386) {
		x86_unwind_thread(u->m, u->t, th, u->max, &u->frames, &u->n, note);
	} else if (u->attached) {
		if (dwfl_getthread_frames(u->dwfl, (pid_t)th->tid, frame_cb, u) != 0 && u->n < u->max) {
			int e = dwfl_errno();
			if (e)
				*note = unwind_stop_reason(dwfl_errmsg(e));
		}
		/* CFI gave up at once: frame pointers may still say more */
		if (u->n <= 1) {
			size_t before = u->n;
			fp_walk(u, th);
			if (u->n > before + (before == 0))
				*note = "no CFI for this code: followed frame pointers";
		}
	} else {
		fp_walk(u, th);
		*note = u->m->info.os == VM_OS_WINDOWS ? "followed frame pointers"
						       : "the DWARF unwinder is not available: followed frame pointers";
	}
	u->cur = NULL;
	*out = u->frames;
	*n = u->n;
}
