/* A memory breakpoint's fault done without lifting the page: the
 * faulting instruction emulated (emu_x86.c) on the thread's registers,
 * its memory read and written through /proc/PID/mem (which goes through
 * page protections, as a debugger's accesses do), the registers put
 * back past it. No injected mprotect, no single step: one stop of the
 * target a fault. What the emulator does not do is left to the lift and
 * step of bpm.c. */
#include "dbg.h"

#include <stdlib.h>
#include <string.h>

#include "emu_x86.h"

/* The emulated instruction may touch only what the program itself may:
 * on a page under page-protection breakpoints what its original
 * protection allows (read and written through /proc/PID/mem, which goes
 * through the debugger's protection), elsewhere what the page allows now
 * (process_vm_readv/writev, which stop where the program would fault).
 * A write on a page with an int3 of ours is left to the CPU. Done page
 * by page; -1: not allowed or failed (the caller steps the instruction,
 * and the CPU does what it does). */
#define PAGE 4096u

static bool has_site(vm_dbg *d, uint64_t a, size_t len)
{
	for (size_t i = 0; i < d->nsites; i++)
		if (d->sites[i].in && d->sites[i].addr >= a && d->sites[i].addr - a < len)
			return true;
	return false;
}

static int chunk(vm_dbg *d, uint64_t a, uint8_t *buf, size_t len, bool write)
{
	const dbg_page *p = dbg_bpm_page(d, a / PAGE * PAGE);
	if (p && p->cur != p->orig) {
		if (!(p->orig & (write ? VM_PROT_WRITE : VM_PROT_READ)))
			return -1;
		return write ? vm_dbg_write(d, a, buf, len) : vm_dbg_read(d, a, buf, len) == (ssize_t)len ? 0 : -1;
	}
	if (!write) {
		if (vm_control_user_rw(d->c, a, buf, len, false) != (ssize_t)len)
			return -1;
		for (size_t i = 0; i < d->nsites; i++) /* our int3s read as the bytes under them */
			if (d->sites[i].in && d->sites[i].addr >= a && d->sites[i].addr - a < len)
				buf[d->sites[i].addr - a] = d->sites[i].orig;
		return 0;
	}
	if (has_site(d, a, len))
		return -1;
	/* a page write-protected by userfaultfd: lifted for the write (the
	 * kernel would ask the userfaultfd, which says SIGBUS) */
	bool wp = dbg_uffd_touches(d, a, len);
	if (wp)
		dbg_uffd_range(d, 0, a, len, VM_WP_LIFT);
	int rc = vm_control_user_rw(d->c, a, buf, len, true) == (ssize_t)len ? 0 : -1;
	if (wp)
		dbg_uffd_range(d, 0, a, len, VM_WP_ON);
	return rc;
}

static int access_pages(vm_dbg *d, uint64_t a, uint8_t *buf, size_t len, bool write)
{
	while (len) {
		size_t n = PAGE - (size_t)(a % PAGE);
		if (n > len)
			n = len;
		if (chunk(d, a, buf, n, write) < 0)
			return -1;
		a += n, buf += n, len -= n;
	}
	return 0;
}

static int rd(void *ctx, uint64_t a, void *buf, size_t len)
{
	return access_pages(ctx, a, buf, len, false);
}

static int wr(void *ctx, uint64_t a, const void *buf, size_t len)
{
	return access_pages(ctx, a, (uint8_t *)(uintptr_t)buf, len, true); /* not written to */
}

/* the XSAVE image: x87/SSE area (xmm at 160), header (XSTATE_BV at 512),
 * then the AVX component's ymm top halves at 576 in the standard form
 * ptrace gives */
#define XS_MAX 16384
#define XS_XMM 160
#define XS_BV 512
#define XS_YMMH 576
#define XBV_SSE 0x2u
#define XBV_AVX 0x4u

static ssize_t load_vec(vm_dbg *d, int64_t tid, emu_cpu *cpu, uint8_t *xs, vm_fpregs *fp)
{
	ssize_t n = vm_control_get_xstate(d->c, tid, xs, XS_MAX);
	if (n >= XS_YMMH) {
		uint64_t bv;
		memcpy(&bv, xs + XS_BV, 8);
		for (int i = 0; i < 16; i++) {
			memcpy(cpu->vec[i], xs + XS_XMM + 16 * i, 16);
			if ((bv & XBV_AVX) && n >= XS_YMMH + 256)
				memcpy(cpu->vec[i] + 16, xs + XS_YMMH + 16 * i, 16);
		}
		return n;
	}
	if (vm_control_get_fpregs(d->c, tid, fp) < 0)
		return -1;
	for (int i = 0; i < 16; i++)
		memcpy(cpu->vec[i], fp->fxsave + XS_XMM + 16 * i, 16);
	return 0;
}

static int store_vec(vm_dbg *d, int64_t tid, const emu_cpu *cpu, uint8_t *xs, ssize_t n, vm_fpregs *fp)
{
	if (n >= XS_YMMH + 256) {
		uint64_t bv;
		memcpy(&bv, xs + XS_BV, 8);
		bv |= XBV_SSE | XBV_AVX;
		memcpy(xs + XS_BV, &bv, 8);
		for (int i = 0; i < 16; i++) {
			memcpy(xs + XS_XMM + 16 * i, cpu->vec[i], 16);
			memcpy(xs + XS_YMMH + 16 * i, cpu->vec[i] + 16, 16);
		}
		return vm_control_set_xstate(d->c, tid, xs, (size_t)n);
	}
	for (int i = 0; i < 16; i++) {
		if (memcmp(cpu->vec[i] + 16, (const uint8_t[16]){ 0 }, 16))
			return -1; /* no AVX state to hold a ymm top half */
		memcpy(fp->fxsave + XS_XMM + 16 * i, cpu->vec[i], 16);
	}
	return vm_control_set_fpregs(d->c, tid, fp);
}

int dbg_bpm_emulate(vm_dbg *d, int64_t tid, vm_regs *r, const uint8_t *code, size_t n, bool atomic)
{
	/* a debug register would not see a write done here */
	if (d->dr7 || d->bits != 64 || d->bx.no_emul)
		return 0;
	emu_insn e;
	emu_need need = emu_x86_decode(code, n, &e);
	if (need == EMU_NO)
		return 0;
	emu_cpu cpu;
	memset(&cpu, 0, sizeof cpu);
	cpu.r = *r;
	cpu.atomic = atomic;
	uint8_t *xs = NULL;
	ssize_t xn = 0;
	vm_fpregs fp;
	if (need == EMU_VEC) {
		xs = malloc(XS_MAX);
		if (!xs || (xn = load_vec(d, tid, &cpu, xs, &fp)) < 0) {
			free(xs);
			return 0;
		}
	}
	emu_cpu before = cpu;
	emu_io io = { d, rd, wr };
	int rc = 0;
	if (emu_x86_run(&e, &cpu, &io) == 0) {
		rc = 1;
		/* a load that cannot go into the registers: nothing changed yet */
		if (need == EMU_VEC && memcmp(before.vec, cpu.vec, sizeof cpu.vec) &&
		    store_vec(d, tid, &cpu, xs, xn, &fp) < 0)
			rc = 0;
		if (rc > 0 && vm_control_set_regs(d->c, tid, &cpu.r) < 0)
			rc = -1;
		if (rc > 0)
			*r = cpu.r;
	}
	free(xs);
	return rc;
}
