/* An x86-64 emulator for the instructions that touch data: what a
 * memory breakpoint's fault needs done without lifting the page and
 * single-stepping (emu_x86.c). It works on a copy of the registers and
 * through two memory callbacks, knows nothing of a debugger, and is
 * tested against the CPU itself (tests/unit/test_emul.c). */
#ifndef VMATLAS_EMU_X86_H
#define VMATLAS_EMU_X86_H

#include <Zydis/Zydis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmatlas/control.h"

typedef struct emu_io {
	void *ctx;
	/* 0: done; -1: those bytes cannot be read or written */
	int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t addr, const void *buf, size_t len);
} emu_io;

typedef struct emu_cpu {
	vm_regs r;
	uint8_t vec[16][32]; /* ymm0-15; xmmN is the low 16 bytes */
	bool atomic;         /* nothing else runs: LOCKed forms may be done */
} emu_cpu;

typedef enum emu_need { EMU_NO, EMU_GPR, EMU_VEC } emu_need;

/* what an instruction does (emu_insn.op) */
enum emu_op {
	OP_NONE,
	OP_MOV,
	OP_MOVZX,
	OP_MOVSX,
	OP_ADD,
	OP_ADC,
	OP_SUB,
	OP_SBB,
	OP_CMP,
	OP_AND,
	OP_OR,
	OP_XOR,
	OP_TEST,
	OP_INC,
	OP_DEC,
	OP_NEG,
	OP_NOT,
	OP_XCHG,
	OP_PUSH,
	OP_POP,
	OP_PUSHF,
	OP_VMOV,    /* a whole vector register to or from memory */
	OP_VSCALAR, /* movd/movq/movss/movsd: the low 4 or 8 bytes */
	OP_MOVS,    /* movs and stos, with or without rep (emu_string.c) */
	OP_STOS,
};

typedef struct emu_insn {
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	int op;   /* what it does (emu_x86.c) */
	int mem;  /* the index of its memory operand */
} emu_insn;

/* Decode the instruction in code[0..n): EMU_NO if it is not one done
 * here, EMU_GPR if general registers and flags are enough, EMU_VEC if it
 * needs the vector registers in the cpu too. */
emu_need emu_x86_decode(const uint8_t *code, size_t n, emu_insn *e);

/* emu_string.c: movs and stos (rep or not), for emu_x86.c */
emu_need emu_string_decode(emu_insn *e);
int emu_string_run(const emu_insn *e, vm_regs *r, const emu_io *io);

/* Do a decoded instruction at cpu->r.rip: 0 done (cpu and memory
 * changed, rip past it), -1 not done (cpu unchanged; memory unchanged
 * unless its write failed). */
int emu_x86_run(const emu_insn *e, emu_cpu *cpu, const emu_io *io);

#endif
