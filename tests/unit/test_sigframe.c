/* The rt_sigreturn frame vmatlas writes under a thread's stack
 * (src/target/linux/sigframe.c): where everything lands. That the kernel
 * takes it is tested live (tests/integration/test_track_safety.py). */
#include <stdlib.h>

#include "check.h"
#include "target/linux/sigframe.h"

static uint32_t u32_at(const lx_frame *f, uint64_t addr)
{
	uint32_t v;
	memcpy(&v, f->bytes + (addr - f->addr), 4);
	return v;
}

static void frame_layout(void)
{
	static lx_frame f;
	static uint8_t fp[2432];
	memset(fp, 0xab, sizeof fp);
	lx_gregs r = { .rax = 1, .rbx = 2, .rip = 0x401000, .rsp = 0x7ffd1000, .eflags = 0x246, .cs = 0x33, .ss = 0x2b };
	uint64_t below = 0x7ffd1000 - 128 - 3; /* any alignment */
	CHECK(lx_frame_build(&f, below, &r, 0x800, fp, sizeof fp, 0xe7, 2440) == 0);
	CHECK_U64(f.addr + f.len, below);
	CHECK_U64(f.addr % 16, 0);
	CHECK_U64(f.sp, f.addr + 8);
	lx_rt_sigframe fr;
	memcpy(&fr, f.bytes, sizeof fr);
	CHECK_U64(fr.uc.mc.rip, 0x401000);
	CHECK_U64(fr.uc.mc.rsp, 0x7ffd1000);
	CHECK_U64(fr.uc.mc.rax, 1);
	CHECK_U64(fr.uc.mc.rbx, 2);
	CHECK_U64(fr.uc.mc.eflags, 0x246);
	CHECK_U64(fr.uc.mc.cs, 0x33);
	CHECK_U64(fr.uc.mc.ss, 0x2b);
	CHECK_U64(fr.uc.sigmask, 0x800);
	CHECK_U64(fr.uc.ss_flags, 3); /* leaves the alternate stack alone */
	uint64_t fpa = fr.uc.mc.fpstate;
	CHECK_U64(fpa % 64, 0);
	CHECK(fpa >= f.addr + sizeof fr && fpa + 2440 + 4 <= below);
	CHECK_U64(u32_at(&f, fpa + 464), 0x46505853);     /* magic1 */
	CHECK_U64(u32_at(&f, fpa + 468), 2444);           /* extended size */
	CHECK_U64(u32_at(&f, fpa + 472), 0xe7);           /* features */
	CHECK_U64(u32_at(&f, fpa + 480), 2440);           /* xstate size */
	CHECK_U64(u32_at(&f, fpa + 2440), 0x46505845);    /* magic2 */
	CHECK_U64(f.bytes[fpa - f.addr], 0xab);           /* the image itself */
	CHECK_U64(f.bytes[fpa - f.addr + 2431], 0xab);

	/* no XSAVE: the FXSAVE part alone, without ptrace's XCR0 word */
	CHECK(lx_frame_build(&f, below, &r, 0, fp, 512, 0, 0) == 0);
	memcpy(&fr, f.bytes, sizeof fr);
	CHECK_U64(u32_at(&f, fr.uc.mc.fpstate + 464), 0);

	/* an image too large for the frame */
	uint8_t *big = calloc(1, LX_FRAME_MAX);
	CHECK(lx_frame_build(&f, below, &r, 0, big, LX_FRAME_MAX, 0xe7, 2440) < 0);
	free(big);
}

const unit_test sigframe_tests[] = {
	{ "sigframe/layout", frame_layout },
	{ NULL, NULL },
};
