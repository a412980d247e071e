/* Running the instruction under an int3 without single-stepping it: a
 * breakpoint that does not stop (a false condition, a log, a pass count
 * not reached) then costs one stop of the target instead of two. Only
 * instructions whose whole effect is plain to see are done here: nop,
 * endbr64/32, push of a register, a direct call, mov and lea between registers, immediates
 * and memory at [base + index*scale + disp] (rip-relative included),
 * with 32- and 64-bit destinations, in x86-64 and i386 processes; flags
 * are never touched by these.
 * Anything else (and anything while a watchpoint is set: a write done
 * here would not be seen by the debug registers) is single-stepped. */
#include "dbg.h"

#include <Zydis/Zydis.h>
#include <string.h>

static const ZydisDecoder *decoder(int bits)
{
	static ZydisDecoder dec64, dec32;
	static bool ready;
	if (!ready) {
		ZydisDecoderInit(&dec64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		ZydisDecoderInit(&dec32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
		ready = true;
	}
	return bits == 32 ? &dec32 : &dec64;
}

/* a general register's value (by Zydis's name: "rax", "r8d" ...) */
static bool reg_get(const vm_regs *r, ZydisRegister reg, uint64_t *v)
{
	const char *n = ZydisRegisterGetString(reg);
	return n && dbg_reg_lookup(r, n, v) == 0;
}

static bool gpr(ZydisRegister reg, int *width)
{
	ZydisRegisterClass c = ZydisRegisterGetClass(reg);
	if (c == ZYDIS_REGCLASS_GPR64)
		*width = 64;
	else if (c == ZYDIS_REGCLASS_GPR32)
		*width = 32;
	else
		return false;
	return true;
}

static bool mem_addr(int bits, const vm_regs *r, const ZydisDecodedOperand *op, uint64_t next, uint64_t *a)
{
	if (op->mem.segment != ZYDIS_REGISTER_DS && op->mem.segment != ZYDIS_REGISTER_SS &&
	    op->mem.segment != ZYDIS_REGISTER_NONE)
		return false; /* fs:/gs: bases are not worth it here */
	uint64_t base = 0, index = 0;
	if (op->mem.base == ZYDIS_REGISTER_RIP)
		base = next;
	else if (op->mem.base != ZYDIS_REGISTER_NONE && !reg_get(r, op->mem.base, &base))
		return false;
	if (op->mem.index != ZYDIS_REGISTER_NONE && !reg_get(r, op->mem.index, &index))
		return false;
	*a = base + index * op->mem.scale + (uint64_t)op->mem.disp.value;
	if (bits == 32)
		*a &= 0xffffffffu; /* i386 addresses wrap at 4 GiB */
	return true;
}

/* push v (w bytes) onto the target's stack */
static bool push(vm_dbg *d, vm_regs *r, uint64_t v, size_t w)
{
	uint64_t sp = r->rsp - w;
	if (w == 4)
		sp &= 0xffffffffu;
	if (vm_control_write(d->c, sp, &v, w, 0) < 0)
		return false;
	r->rsp = sp;
	return true;
}

bool dbg_emulate(vm_dbg *d, vm_regs *r, const uint8_t *code, size_t len)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	int bits = d->bits == 32 ? 32 : 64;
	if (d->dr7 || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(decoder(bits), code, len, &in, ops)))
		return false;
	if (in.address_width != bits)
		return false; /* 67h: another address size */
	uint64_t next = r->rip + in.length, v = 0;
	if (bits == 32)
		next &= 0xffffffffu;
	int w;
	switch (in.mnemonic) {
	case ZYDIS_MNEMONIC_NOP:
	case ZYDIS_MNEMONIC_ENDBR64:
	case ZYDIS_MNEMONIC_ENDBR32:
		r->rip = next;
		return true;
	case ZYDIS_MNEMONIC_PUSH:
		if (ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER || !gpr(ops[0].reg.value, &w) || w != bits ||
		    !reg_get(r, ops[0].reg.value, &v) || !push(d, r, v, (size_t)bits / 8))
			return false;
		r->rip = next;
		return true;
	case ZYDIS_MNEMONIC_CALL: /* call rel: the return address pushed */
		if (ops[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE || !ops[0].imm.is_relative ||
		    !push(d, r, next, (size_t)bits / 8))
			return false;
		r->rip = next + ops[0].imm.value.u;
		if (bits == 32)
			r->rip &= 0xffffffffu;
		return true;
	case ZYDIS_MNEMONIC_MOV:
	case ZYDIS_MNEMONIC_LEA:
		break;
	default:
		return false;
	}
	if (in.operand_count_visible != 2 || ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    !gpr(ops[0].reg.value, &w))
		return false;
	const ZydisDecodedOperand *src = &ops[1];
	if (in.mnemonic == ZYDIS_MNEMONIC_LEA) {
		if (src->type != ZYDIS_OPERAND_TYPE_MEMORY || !mem_addr(bits, r, src, next, &v))
			return false;
	} else if (src->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		int sw;
		if (!gpr(src->reg.value, &sw) || !reg_get(r, src->reg.value, &v))
			return false;
	} else if (src->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		v = src->imm.value.u;
	} else if (src->type == ZYDIS_OPERAND_TYPE_MEMORY) {
		uint64_t a;
		v = 0;
		if (!mem_addr(bits, r, src, next, &a) || vm_dbg_read(d, a, &v, (size_t)w / 8) != w / 8)
			return false;
	} else {
		return false;
	}
	if (w == 32)
		v &= 0xffffffffu; /* a 32-bit write clears the top half */
	const char *name = ZydisRegisterGetString(ops[0].reg.value);
	if (!name || dbg_reg_store(r, name, v) < 0)
		return false;
	r->rip = next;
	return true;
}
