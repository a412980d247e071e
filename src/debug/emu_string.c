/* MOVS and STOS, with REP or without, for the emulator (emu_x86.c): the
 * glibc memcpy/memset of big blocks (ERMS) on a watched page. The whole
 * range at once, as the CPU's result is element by element: a MOVS whose
 * source and destination overlap is left to the CPU, as is a range over
 * 1 MiB, a 32-bit address size, a segment override and REPNE. Reads come
 * first; a write that fails half-way is done again, byte for byte the
 * same, by the CPU when the caller steps the instruction. */
#include "emu_x86.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BYTES (1u << 20)
#define DF 0x400u

emu_need emu_string_decode(emu_insn *e)
{
	const ZydisDecodedInstruction *in = &e->in;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVSB:
	case ZYDIS_MNEMONIC_MOVSW:
	case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_MOVSQ: e->op = OP_MOVS; break;
	case ZYDIS_MNEMONIC_STOSB:
	case ZYDIS_MNEMONIC_STOSW:
	case ZYDIS_MNEMONIC_STOSD:
	case ZYDIS_MNEMONIC_STOSQ: e->op = OP_STOS; break;
	default: return EMU_NO;
	}
	if (in->address_width != 64 || (in->attributes & (ZYDIS_ATTRIB_HAS_REPNE | ZYDIS_ATTRIB_HAS_SEGMENT)) ||
	    (in->operand_width != 8 && in->operand_width != 16 && in->operand_width != 32 && in->operand_width != 64))
		return EMU_NO;
	e->mem = -1;
	return EMU_GPR;
}

int emu_string_run(const emu_insn *e, vm_regs *r, const emu_io *io)
{
	bool rep = e->in.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE);
	uint64_t size = e->in.operand_width / 8, count = rep ? r->rcx : 1;
	if (count > MAX_BYTES / size)
		return -1;
	uint64_t total = count * size;
	bool down = r->rflags & DF;
	/* the lowest byte each range covers */
	uint64_t dlo = down ? r->rdi - (total - size) : r->rdi, slo = down ? r->rsi - (total - size) : r->rsi;
	if (total && (dlo + total < dlo || slo + total < slo))
		return -1;
	uint8_t *buf = total ? malloc((size_t)total) : NULL;
	if (total && !buf)
		return -1;
	int rc = 0;
	if (e->op == OP_STOS) {
		for (uint64_t i = 0; i < total; i += size)
			memcpy(buf + i, &r->rax, (size_t)size);
	} else if (total && slo < dlo + total && dlo < slo + total && slo != dlo) {
		rc = -1; /* overlapping: element by element, the CPU's */
	} else if (total) {
		rc = io->read(io->ctx, slo, buf, (size_t)total);
	}
	if (rc == 0 && total)
		rc = io->write(io->ctx, dlo, buf, (size_t)total);
	free(buf);
	if (rc < 0)
		return -1;
	uint64_t step = down ? (uint64_t)0 - total : total;
	r->rdi += step;
	if (e->op == OP_MOVS)
		r->rsi += step;
	if (rep)
		r->rcx = 0;
	return 0;
}
