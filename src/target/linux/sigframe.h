/* The x86-64 signal frame that rt_sigreturn reads back, built by vmatlas
 * below a stopped thread's stack so that the thread can restore its own
 * registers, signal mask and FPU state by itself (control_inject.c). */
#ifndef VMATLAS_LX_SIGFRAME_H
#define VMATLAS_LX_SIGFRAME_H

#include <stddef.h>
#include <stdint.h>

/* the layout the kernel reads (arch/x86/include/asm/sigframe.h,
 * uapi/asm/sigcontext.h, asm-generic/ucontext.h) */
typedef struct lx_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate; /* address of the XSAVE image */
	uint64_t reserved1[8];
} lx_sigcontext;

typedef struct lx_ucontext {
	uint64_t flags, link;
	uint64_t ss_sp;
	int32_t ss_flags, pad;
	uint64_t ss_size;
	lx_sigcontext mc;
	uint64_t sigmask;
} lx_ucontext;

typedef struct lx_rt_sigframe {
	uint64_t pretcode;
	lx_ucontext uc;
	uint8_t info[128];
} lx_rt_sigframe;

/* the general registers (user_regs_struct order is not needed here) */
typedef struct lx_gregs {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint64_t cs, ss;
} lx_gregs;

/* the FPU image: the XSAVE layout from PTRACE_GETREGSET NT_X86_XSTATE
 * (or a bare 512-byte FXSAVE image) */
#define LX_XSTATE_MAX 12288
#define LX_FRAME_MAX (LX_XSTATE_MAX + 1024)

typedef struct lx_frame {
	uint64_t addr;  /* where bytes[0] goes in the target */
	uint64_t sp;    /* the stack pointer rt_sigreturn wants: addr + 8 */
	size_t len;
	uint8_t bytes[LX_FRAME_MAX];
} lx_frame;

/* Lay out a frame just below `below` (the thread's stack pointer minus
 * its red zone) that rt_sigreturn turns back into r, sigmask and the FPU
 * image fp[0..fplen) (as PTRACE_GETREGSET gives it). An XSAVE image holds
 * features xfeatures in its first xsize bytes (the kernel's signal-frame
 * size); xsize 0: restore the FXSAVE part only. 0, or -1 when the image
 * is too large. */
int lx_frame_build(lx_frame *f, uint64_t below, const lx_gregs *r, uint64_t sigmask, const uint8_t *fp,
		   size_t fplen, uint64_t xfeatures, uint32_t xsize);

#endif
