/* The register block of NT_PRSTATUS, per machine, whatever the host:
 * the kernel's elf_prstatus and user_regs_struct layouts. */
#include "elfcore.h"

#include <string.h>

#include "base/bytes.h"
#include "formats/elf_defs.h"

bool core_prstatus_layout(uint16_t machine, int bits, size_t *reg_off, size_t *reg_len,
			  size_t *pid_off, size_t *total)
{
	/* elf_prstatus: siginfo (3 ints), cursig (short + pad), sigpend,
	 * sighold (longs), pid/ppid/pgrp/sid (ints), 4 timevals, pr_reg,
	 * pr_fpvalid (int) */
	size_t w = bits == 64 ? 8 : 4;
	*pid_off = 16 + 2 * w;
	*reg_off = *pid_off + 16 + 4 * 2 * w;
	switch (machine) {
	case EM_X86_64: *reg_len = bits == 64 ? 27 * 8 : 17 * 4; break; /* x32 cores: not ours */
	case EM_386: *reg_len = 17 * 4; break;
	case EM_AARCH64: *reg_len = 34 * 8; break;
	default: return false;
	}
	*total = (*reg_off + *reg_len + 4 + w - 1) / w * w; /* padded to a long */
	return true;
}

/* user_regs_struct order */
static const char *const x64_names[27] = { "r15", "r14", "r13", "r12", "rbp", "rbx", "r11",
					   "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
					   "rdi", "orig_rax", "rip", "cs", "eflags", "rsp",
					   "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs" };
static const char *const i386_names[17] = { "ebx", "ecx", "edx", "esi", "edi", "ebp",
					    "eax", "ds", "es", "fs", "gs", "orig_eax",
					    "eip", "cs", "eflags", "esp", "ss" };

static void put(vm_thread *th, const char *name, uint64_t v)
{
	if (th->nregs < VM_THREAD_MAX_REGS)
		th->regs[th->nregs++] = (vm_reg){ name, v };
}

void core_regs_decode(uint16_t machine, const elf_image *e, const uint8_t *p, size_t len,
		      vm_thread *th)
{
	th->nregs = 0;
	if (machine == EM_X86_64 && len >= 27 * 8) {
		const char *const *names = x64_names;
		uint64_t v[27];
		for (size_t i = 0; i < 27; i++)
			v[i] = elf_g64(e, p + 8 * i);
		/* shown in the order the live target uses */
		static const int order[27] = { 10, 5, 11, 12, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0,
					       16, 18, 17, 20, 23, 24, 25, 26, 21, 22, 15 };
		for (size_t i = 0; i < 27; i++)
			put(th, names[order[i]], v[order[i]]);
		th->pc = v[16];
		th->sp = v[19];
		th->fp = v[4];
		th->tp = v[21];
	} else if ((machine == EM_386 || machine == EM_X86_64) && len >= 17 * 4) {
		const char *const *names = i386_names;
		uint32_t v[17];
		for (size_t i = 0; i < 17; i++) {
			v[i] = elf_g32(e, p + 4 * i);
			put(th, names[i], v[i]);
		}
		th->pc = v[12];
		th->sp = v[15];
		th->fp = v[5];
	} else if (machine == EM_AARCH64 && len >= 34 * 8) {
		static const char *names[34] = { "x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",
						 "x7",  "x8",  "x9",  "x10", "x11", "x12", "x13",
						 "x14", "x15", "x16", "x17", "x18", "x19", "x20",
						 "x21", "x22", "x23", "x24", "x25", "x26", "x27",
						 "x28", "x29", "x30", "sp",  "pc",  "pstate" };
		for (size_t i = 0; i < 34; i++)
			put(th, names[i], elf_g64(e, p + 8 * i));
		th->fp = th->regs[29].value;
		th->sp = th->regs[31].value;
		th->pc = th->regs[32].value;
	} else {
		return;
	}
	th->regs_valid = true;
	th->sp_valid = true;
}

static uint64_t reg(const vm_thread *th, const char *name)
{
	for (size_t i = 0; i < th->nregs; i++)
		if (strcmp(th->regs[i].name, name) == 0)
			return th->regs[i].value;
	return 0;
}

size_t core_regs_encode(uint16_t machine, const vm_thread *th, uint8_t *out, size_t cap)
{
	if (machine == EM_X86_64 && cap >= 27 * 8) {
		for (size_t i = 0; i < 27; i++)
			st_le64(out + 8 * i, reg(th, x64_names[i]));
		return 27 * 8;
	}
	if (machine == EM_386 && cap >= 17 * 4) {
		for (size_t i = 0; i < 17; i++)
			st_le32(out + 4 * i, (uint32_t)reg(th, i386_names[i]));
		return 17 * 4;
	}
	return 0;
}
