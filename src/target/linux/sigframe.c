/* Building an rt_sigreturn frame (see sigframe.h). */
#include "sigframe.h"

#include <stdbool.h>
#include <string.h>

_Static_assert(sizeof(lx_sigcontext) == 256, "struct sigcontext is 256 bytes");
_Static_assert(offsetof(lx_ucontext, mc) == 40, "uc_mcontext at 40");
_Static_assert(offsetof(lx_ucontext, sigmask) == 296, "uc_sigmask at 296");
_Static_assert(offsetof(lx_rt_sigframe, info) == 312, "siginfo at 312");

#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define SW_BYTES 464 /* struct _fpx_sw_bytes inside the FXSAVE area */
#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4

int lx_frame_build(lx_frame *f, uint64_t below, const lx_gregs *r, uint64_t sigmask, const uint8_t *fp,
		   size_t fplen, uint64_t xfeatures, uint32_t xsize)
{
	/* The kernel restores the whole XSAVE image only when the software
	 * bytes of its FXSAVE part say how big it is and which features it
	 * holds, and the second magic word follows it; else the FXSAVE part
	 * alone. */
	bool xsave = xsize >= 576 && xsize <= LX_XSTATE_MAX && fplen >= 576;
	size_t need = xsave && xsize + 4u > fplen ? xsize + 4u : fplen;
	if (fplen < 512 || need > LX_XSTATE_MAX + 4 || below < LX_FRAME_MAX + 64)
		return -1;
	uint64_t fpaddr = (below - need) & ~(uint64_t)63; /* XRSTOR wants 64-byte alignment */
	uint64_t addr = (fpaddr - sizeof(lx_rt_sigframe)) & ~(uint64_t)15;
	if (below - addr > LX_FRAME_MAX)
		return -1;
	f->addr = addr;
	f->sp = addr + 8; /* rt_sigreturn finds its frame 8 bytes below: the popped return address */
	f->len = (size_t)(below - addr);
	memset(f->bytes, 0, f->len);
	uint8_t *fpb = f->bytes + (fpaddr - addr);
	memcpy(fpb, fp, fplen);
	/* ptrace puts XCR0 where a signal frame has its software bytes */
	memset(fpb + SW_BYTES, 0, 512 - SW_BYTES);
	if (xsave) {
		uint32_t m1 = FP_XSTATE_MAGIC1, ext = xsize + 4, m2 = FP_XSTATE_MAGIC2;
		memcpy(fpb + SW_BYTES, &m1, 4);
		memcpy(fpb + SW_BYTES + 4, &ext, 4);
		memcpy(fpb + SW_BYTES + 8, &xfeatures, 8);
		memcpy(fpb + SW_BYTES + 16, &xsize, 4);
		memcpy(fpb + xsize, &m2, 4);
	}

	lx_rt_sigframe fr;
	memset(&fr, 0, sizeof fr);
	fr.uc.flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	/* an invalid sigaltstack request (SS_ONSTACK|SS_DISABLE): the kernel
	 * refuses it quietly, so the thread's alternate stack stays as it is */
	fr.uc.ss_flags = 3;
	lx_sigcontext *m = &fr.uc.mc;
	m->r8 = r->r8, m->r9 = r->r9, m->r10 = r->r10, m->r11 = r->r11;
	m->r12 = r->r12, m->r13 = r->r13, m->r14 = r->r14, m->r15 = r->r15;
	m->rdi = r->rdi, m->rsi = r->rsi, m->rbp = r->rbp, m->rbx = r->rbx;
	m->rdx = r->rdx, m->rax = r->rax, m->rcx = r->rcx, m->rsp = r->rsp;
	m->rip = r->rip, m->eflags = r->eflags;
	m->cs = (uint16_t)r->cs, m->ss = (uint16_t)r->ss;
	m->fpstate = fpaddr;
	fr.uc.sigmask = sigmask;
	memcpy(f->bytes, &fr, sizeof fr);
	return 0;
}
