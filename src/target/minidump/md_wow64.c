/* A 64-bit dumper's minidump of a WoW64 process (a 32-bit process on
 * 64-bit Windows: the 64-bit vmatlas.exe's capture, any 64-bit
 * MiniDumpWriteDump) is an AMD64 dump: its threads' TEBs are the 64-bit
 * TEBs and their contexts the 64-bit side's. The process is the 32-bit
 * one, and that is what is shown: a WoW64 thread's TEB64 names its TEB32
 * in NtTib.ExceptionList, 0x2000 further on (Windows' layout, which Wine
 * 8 keeps), and the TEB32 names itself in NtTib.Self. The registers:
 * - Windows: the 64-bit context is wow64cpu's; the 32-bit one is saved in
 *   the WOW64_CPURESERVED area that TEB64.TlsSlots[1] (WOW64_TLS_CPURESERVED)
 *   points to, after its Flags and Machine (a WOW64_CONTEXT: x86's CONTEXT);
 * - Wine 8: a 32-bit process is a 32-bit Linux process with no 64-bit
 *   side; its dbghelp writes the 32-bit registers widened into the 64-bit
 *   context, with the 32-bit code selector 0x23 in cs (0x33 is 64-bit
 *   code's): taken as they are. */
#include "md_wow64.h"

#include <string.h>

#include "base/bytes.h"
#include "base/util.h"

#define TEB32_OFFSET 0x2000
#define TEB64_TLS_SLOT1 (0x1480 + 8)
#define CONTEXT_I386 0x10000u
#define CS_32BIT 0x23

static bool rd(vm_target *t, uint64_t a, void *b, size_t n)
{
	return vm_read_full(t, a, b, n) == 0;
}

/* the image at base is PE32 (a 32-bit program) */
static bool pe32_at(vm_target *t, uint64_t base)
{
	uint8_t dos[0x40], nt[4 + 20 + 2];
	if (!rd(t, base, dos, sizeof dos) || dos[0] != 'M' || dos[1] != 'Z')
		return false;
	uint32_t lfanew = ld_le32(dos + 0x3c);
	return lfanew < 0x10000000u && rd(t, base + lfanew, nt, sizeof nt) && !memcmp(nt, "PE\0\0", 4) &&
	       ld_le16(nt + 24) == 0x10b;
}

/* the TEB32 of a TEB64, 0 when it has none */
static uint64_t teb32_of(vm_target *t, uint64_t teb64)
{
	uint8_t b[8], s[4];
	if (!teb64 || teb64 > UINT32_MAX - TEB32_OFFSET) /* a TEB32 lies below 4 GiB */
		return 0;
	uint64_t t32 = teb64 + TEB32_OFFSET;
	if (!rd(t, teb64, b, 8) || ld_le64(b) != t32 || !rd(t, t32 + 0x18, s, 4) || ld_le32(s) != t32)
		return 0;
	return t32;
}

static uint64_t reg(const vm_thread *th, const char *name, bool *have)
{
	for (size_t i = 0; i < th->nregs; i++)
		if (!strcmp(th->regs[i].name, name)) {
			*have = true;
			return th->regs[i].value;
		}
	*have = false;
	return 0;
}

static const struct { const char *r32, *r64; unsigned off; } REGS[] = {
	{ "eax", "rax", 176 }, { "ebx", "rbx", 164 }, { "ecx", "rcx", 172 }, { "edx", "rdx", 168 },
	{ "esi", "rsi", 160 }, { "edi", "rdi", 156 }, { "ebp", "rbp", 180 }, { "esp", "rsp", 196 },
	{ "eip", "rip", 184 }, { "eflags", "eflags", 192 }, { "cs", "cs", 188 }, { "ss", "ss", 200 },
	{ "ds", "ds", 152 },   { "es", "es", 148 },   { "fs", "fs", 144 },   { "gs", "gs", 140 },
};

/* the 32-bit registers of a WoW64 thread, from either place */
static void regs32(vm_target *t, vm_thread *th, uint64_t teb64)
{
	vm_thread old = *th;
	bool have;
	uint64_t cs = reg(&old, "cs", &have);
	th->nregs = 0;
	th->regs_valid = th->sp_valid = false;
	if (have && cs == CS_32BIT) {
		for (size_t i = 0; i < ARRAY_LEN(REGS); i++) {
			uint64_t v = reg(&old, REGS[i].r64, &have);
			if (have)
				th->regs[th->nregs++] = (vm_reg){ REGS[i].r32, v & 0xffffffffu };
		}
	} else {
		uint8_t p[8], c[204];
		if (!rd(t, teb64 + TEB64_TLS_SLOT1, p, 8) || !ld_le64(p) || ld_le64(p) > UINT64_MAX - 4 ||
		    !rd(t, ld_le64(p) + 4, c, sizeof c) ||
		    !(ld_le32(c) & CONTEXT_I386))
			return; /* not saved where it can be read: unknown */
		for (size_t i = 0; i < ARRAY_LEN(REGS); i++)
			th->regs[th->nregs++] = (vm_reg){ REGS[i].r32, ld_le32(c + REGS[i].off) };
	}
	th->pc = reg(th, "eip", &have);
	th->sp = reg(th, "esp", &have);
	th->fp = reg(th, "ebp", &have);
	th->regs_valid = th->sp_valid = have;
}

bool md_wow64_view(md_file *f, vm_target *t)
{
	if (f->cpu_arch != 9 || f->platform != 2 || !f->nmods || !pe32_at(t, f->mods[0].base))
		return false;
	size_t wow = 0;
	for (size_t i = 0; i < f->nthreads; i++)
		wow += teb32_of(t, f->threads[i].teb) != 0;
	if (!wow)
		return false;
	f->cpu_arch = 0;
	f->bits = 32;
	for (size_t i = 0; i < f->nthreads; i++) {
		md_thread *x = &f->threads[i];
		uint64_t t32 = teb32_of(t, x->teb);
		if (!t32)
			continue;
		regs32(t, &x->th, x->teb);
		x->th.tp = t32;
	}
	return true;
}
