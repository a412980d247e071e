/* The data instructions a memory breakpoint's fault meets most, done on
 * a copy of the registers: mov (and movzx/movsx/movsxd), add adc sub
 * sbb and or xor cmp test, inc dec neg not, xchg, push/pop of a
 * register, an immediate or memory, pushfq; the SSE/AVX moves (movdqa,
 * movdqu, movaps, movups, movapd, movupd, lddqu, their VEX forms at 128
 * and 256 bits, movd, movq, movss, movsd). Flags are computed as the CPU
 * does (AF cleared by the logical ones, where the manual leaves it
 * undefined: what Intel and AMD parts do). Anything else, an EVEX or
 * MMX form, an aligned move off its alignment (the CPU's #GP), a LOCKed
 * one while other threads run: not done, the caller steps it. */
#include "emu_x86.h"

#include <string.h>


#define F_CF 0x1u
#define F_PF 0x4u
#define F_AF 0x10u
#define F_ZF 0x40u
#define F_SF 0x80u
#define F_OF 0x800u
#define F_STATUS (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

static const ZydisDecoder *decoder(void)
{
	static ZydisDecoder dec;
	static bool ready;
	if (!ready) {
		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		ready = true;
	}
	return &dec;
}

static int op_of(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_MOV: return OP_MOV;
	case ZYDIS_MNEMONIC_MOVZX: return OP_MOVZX;
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD: return OP_MOVSX;
	case ZYDIS_MNEMONIC_ADD: return OP_ADD;
	case ZYDIS_MNEMONIC_ADC: return OP_ADC;
	case ZYDIS_MNEMONIC_SUB: return OP_SUB;
	case ZYDIS_MNEMONIC_SBB: return OP_SBB;
	case ZYDIS_MNEMONIC_CMP: return OP_CMP;
	case ZYDIS_MNEMONIC_AND: return OP_AND;
	case ZYDIS_MNEMONIC_OR: return OP_OR;
	case ZYDIS_MNEMONIC_XOR: return OP_XOR;
	case ZYDIS_MNEMONIC_TEST: return OP_TEST;
	case ZYDIS_MNEMONIC_INC: return OP_INC;
	case ZYDIS_MNEMONIC_DEC: return OP_DEC;
	case ZYDIS_MNEMONIC_NEG: return OP_NEG;
	case ZYDIS_MNEMONIC_NOT: return OP_NOT;
	case ZYDIS_MNEMONIC_XCHG: return OP_XCHG;
	case ZYDIS_MNEMONIC_PUSH: return OP_PUSH;
	case ZYDIS_MNEMONIC_POP: return OP_POP;
	case ZYDIS_MNEMONIC_PUSHFQ: return OP_PUSHF;
	case ZYDIS_MNEMONIC_MOVDQA:
	case ZYDIS_MNEMONIC_MOVDQU:
	case ZYDIS_MNEMONIC_MOVAPS:
	case ZYDIS_MNEMONIC_MOVUPS:
	case ZYDIS_MNEMONIC_MOVAPD:
	case ZYDIS_MNEMONIC_MOVUPD:
	case ZYDIS_MNEMONIC_LDDQU:
	case ZYDIS_MNEMONIC_VMOVDQA:
	case ZYDIS_MNEMONIC_VMOVDQU:
	case ZYDIS_MNEMONIC_VMOVAPS:
	case ZYDIS_MNEMONIC_VMOVUPS:
	case ZYDIS_MNEMONIC_VMOVAPD:
	case ZYDIS_MNEMONIC_VMOVUPD:
	case ZYDIS_MNEMONIC_VLDDQU: return OP_VMOV;
	case ZYDIS_MNEMONIC_MOVD:
	case ZYDIS_MNEMONIC_MOVQ:
	case ZYDIS_MNEMONIC_MOVSS:
	case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_VMOVD:
	case ZYDIS_MNEMONIC_VMOVQ:
	case ZYDIS_MNEMONIC_VMOVSS:
	case ZYDIS_MNEMONIC_VMOVSD: return OP_VSCALAR;
	default: return OP_NONE;
	}
}

static bool is_gpr(ZydisRegister reg)
{
	ZydisRegisterClass c = ZydisRegisterGetClass(reg);
	return c == ZYDIS_REGCLASS_GPR8 || c == ZYDIS_REGCLASS_GPR16 || c == ZYDIS_REGCLASS_GPR32 ||
	       c == ZYDIS_REGCLASS_GPR64;
}

static bool is_vec(ZydisRegister reg)
{
	ZydisRegisterClass c = ZydisRegisterGetClass(reg);
	return (c == ZYDIS_REGCLASS_XMM || c == ZYDIS_REGCLASS_YMM) && ZydisRegisterGetId(reg) < 16;
}

emu_need emu_x86_decode(const uint8_t *code, size_t n, emu_insn *e)
{
	memset(e, 0, sizeof *e);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(decoder(), code, n, &e->in, e->ops)))
		return EMU_NO;
	const ZydisDecodedInstruction *in = &e->in;
	e->op = op_of(in->mnemonic);
	if (in->meta.category == ZYDIS_CATEGORY_STRINGOP)
		return emu_string_decode(e);
	if (e->op == OP_NONE || in->encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX ||
	    in->encoding == ZYDIS_INSTRUCTION_ENCODING_MVEX ||
	    (in->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)))
		return EMU_NO;
	/* its visible operands: at most one in memory, registers general
	 * or vector ones, immediates */
	int nmem = 0;
	bool vec = false;
	e->mem = -1;
	for (int i = 0; i < in->operand_count_visible; i++) {
		const ZydisDecodedOperand *op = &e->ops[i];
		if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (op->mem.type != ZYDIS_MEMOP_TYPE_MEM || nmem++)
				return EMU_NO;
			if (op->mem.segment != ZYDIS_REGISTER_DS && op->mem.segment != ZYDIS_REGISTER_SS &&
			    op->mem.segment != ZYDIS_REGISTER_ES && op->mem.segment != ZYDIS_REGISTER_CS &&
			    op->mem.segment != ZYDIS_REGISTER_FS && op->mem.segment != ZYDIS_REGISTER_GS)
				return EMU_NO;
			e->mem = i;
		} else if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			if (is_vec(op->reg.value))
				vec = true;
			else if (!is_gpr(op->reg.value))
				return EMU_NO;
		} else if (op->type != ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			return EMU_NO;
		}
	}
	switch (e->op) {
	case OP_PUSH:
	case OP_POP:
	case OP_PUSHF:
		if (in->operand_width != 64)
			return EMU_NO;
		break;
	case OP_VMOV:
	case OP_VSCALAR:
		/* a vector register and memory: a register-only form does
		 * not fault, a general register one (movq rax, xmm0) either */
		if (!vec || e->mem < 0 || in->operand_count_visible != 2)
			return EMU_NO;
		return EMU_VEC;
	default:
		if (vec || e->mem < 0)
			return EMU_NO;
	}
	if (vec)
		return EMU_NO;
	if (e->op != OP_PUSHF && e->op != OP_PUSH && e->op != OP_POP && e->mem < 0)
		return EMU_NO;
	return EMU_GPR;
}

/* ---- registers ---- */

static uint64_t *gpr_slot(vm_regs *r, ZydisRegister reg)
{
	switch (ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg)) {
	case ZYDIS_REGISTER_RAX: return &r->rax;
	case ZYDIS_REGISTER_RBX: return &r->rbx;
	case ZYDIS_REGISTER_RCX: return &r->rcx;
	case ZYDIS_REGISTER_RDX: return &r->rdx;
	case ZYDIS_REGISTER_RSI: return &r->rsi;
	case ZYDIS_REGISTER_RDI: return &r->rdi;
	case ZYDIS_REGISTER_RBP: return &r->rbp;
	case ZYDIS_REGISTER_RSP: return &r->rsp;
	case ZYDIS_REGISTER_R8: return &r->r8;
	case ZYDIS_REGISTER_R9: return &r->r9;
	case ZYDIS_REGISTER_R10: return &r->r10;
	case ZYDIS_REGISTER_R11: return &r->r11;
	case ZYDIS_REGISTER_R12: return &r->r12;
	case ZYDIS_REGISTER_R13: return &r->r13;
	case ZYDIS_REGISTER_R14: return &r->r14;
	case ZYDIS_REGISTER_R15: return &r->r15;
	default: return NULL;
	}
}

static bool high8(ZydisRegister reg)
{
	return reg == ZYDIS_REGISTER_AH || reg == ZYDIS_REGISTER_BH || reg == ZYDIS_REGISTER_CH ||
	       reg == ZYDIS_REGISTER_DH;
}

static uint64_t mask_of(unsigned w)
{
	return w >= 64 ? ~0ull : (1ull << w) - 1;
}

static bool gpr_get(vm_regs *r, ZydisRegister reg, uint64_t *v)
{
	uint64_t *p = gpr_slot(r, reg);
	if (!p)
		return false;
	unsigned w = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg);
	*v = high8(reg) ? (*p >> 8) & 0xff : *p & mask_of(w);
	return true;
}

static bool gpr_set(vm_regs *r, ZydisRegister reg, uint64_t v)
{
	uint64_t *p = gpr_slot(r, reg);
	if (!p)
		return false;
	unsigned w = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg);
	if (high8(reg))
		*p = (*p & ~0xff00ull) | (v & 0xff) << 8;
	else if (w == 32)
		*p = v & 0xffffffffu; /* a 32-bit write clears the top half */
	else
		*p = (*p & ~mask_of(w)) | (v & mask_of(w));
	return true;
}

static bool ea_of(const emu_insn *e, const vm_regs *r0, uint64_t *a)
{
	const ZydisDecodedOperand *op = &e->ops[e->mem];
	vm_regs r = *r0;
	uint64_t base = 0, index = 0;
	if (op->mem.base == ZYDIS_REGISTER_RIP || op->mem.base == ZYDIS_REGISTER_EIP)
		base = r.rip + e->in.length;
	else if (op->mem.base != ZYDIS_REGISTER_NONE && !gpr_get(&r, op->mem.base, &base))
		return false;
	if (op->mem.index != ZYDIS_REGISTER_NONE && !gpr_get(&r, op->mem.index, &index))
		return false;
	uint64_t ea = base + index * op->mem.scale + (uint64_t)op->mem.disp.value;
	if (e->in.address_width == 32)
		ea &= 0xffffffffu;
	if (op->mem.segment == ZYDIS_REGISTER_FS)
		ea += r.fs_base;
	else if (op->mem.segment == ZYDIS_REGISTER_GS)
		ea += r.gs_base;
	*a = ea;
	return true;
}

/* ---- flags ---- */

static unsigned szp(uint64_t res, unsigned w)
{
	unsigned f = 0;
	res &= mask_of(w);
	if (!res)
		f |= F_ZF;
	if (res >> (w - 1) & 1)
		f |= F_SF;
	if (!__builtin_parityll(res & 0xff))
		f |= F_PF;
	return f;
}

/* a + b + cin at width w, and its flags */
static uint64_t add_flags(uint64_t a, uint64_t b, unsigned cin, unsigned w, unsigned *f)
{
	uint64_t m = mask_of(w);
	a &= m, b &= m;
	uint64_t res = (a + b + cin) & m;
	*f = szp(res, w);
	if (cin ? res <= a : res < a)
		*f |= F_CF;
	if (((a ^ res) & (b ^ res)) >> (w - 1) & 1)
		*f |= F_OF;
	if ((a ^ b ^ res) & 0x10)
		*f |= F_AF;
	return res;
}

/* a - b - cin at width w, and its flags */
static uint64_t sub_flags(uint64_t a, uint64_t b, unsigned cin, unsigned w, unsigned *f)
{
	uint64_t m = mask_of(w);
	a &= m, b &= m;
	uint64_t res = (a - b - cin) & m;
	*f = szp(res, w);
	if (cin ? a <= b : a < b)
		*f |= F_CF;
	if (((a ^ b) & (a ^ res)) >> (w - 1) & 1)
		*f |= F_OF;
	if ((a ^ b ^ res) & 0x10)
		*f |= F_AF;
	return res;
}

/* ---- operands ---- */

static int mem_read(const emu_io *io, uint64_t a, void *buf, size_t len)
{
	return a + len < a ? -1 : io->read(io->ctx, a, buf, len);
}

static int mem_write(const emu_io *io, uint64_t a, const void *buf, size_t len)
{
	return a + len < a ? -1 : io->write(io->ctx, a, buf, len);
}

/* a general operand's value (a register, an immediate or memory at ea) */
static bool get(const emu_insn *e, int i, vm_regs *r, uint64_t ea, const emu_io *io, uint64_t *v)
{
	const ZydisDecodedOperand *op = &e->ops[i];
	switch (op->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER: return gpr_get(r, op->reg.value, v);
	case ZYDIS_OPERAND_TYPE_IMMEDIATE: /* sign-extended already where the form says so */
		*v = op->imm.value.u;
		return true;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		*v = 0;
		return op->size && op->size <= 64 && mem_read(io, ea, v, op->size / 8) == 0;
	default: return false;
	}
}

/* the memory write is the last thing done: a failed one changes nothing */
typedef struct pending {
	bool mem;
	uint64_t ea;
	uint8_t bytes[32];
	size_t len;
} pending;

static bool put(const emu_insn *e, int i, vm_regs *r, uint64_t ea, uint64_t v, pending *w)
{
	const ZydisDecodedOperand *op = &e->ops[i];
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER)
		return gpr_set(r, op->reg.value, v);
	if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || !op->size || op->size > 64)
		return false;
	w->mem = true;
	w->ea = ea;
	w->len = op->size / 8;
	memcpy(w->bytes, &v, w->len);
	return true;
}

static uint64_t sext(uint64_t v, unsigned from)
{
	if (from >= 64)
		return v;
	uint64_t sign = 1ull << (from - 1);
	v &= mask_of(from);
	return (v ^ sign) - sign;
}

static int run_alu(const emu_insn *e, vm_regs *r, uint64_t ea, const emu_io *io, pending *w)
{
	unsigned width = e->ops[0].size, f = 0, keep = F_STATUS; /* the flags left as they were */
	uint64_t a = 0, b = 0, res = 0;
	int op = e->op;
	if (!get(e, 0, r, ea, io, &a))
		return -1;
	if (op != OP_INC && op != OP_DEC && op != OP_NEG && op != OP_NOT && !get(e, 1, r, ea, io, &b))
		return -1;
	unsigned cf = r->rflags & F_CF;
	switch (op) {
	case OP_ADD: res = add_flags(a, b, 0, width, &f), keep = 0; break;
	case OP_ADC: res = add_flags(a, b, cf, width, &f), keep = 0; break;
	case OP_SUB:
	case OP_CMP: res = sub_flags(a, b, 0, width, &f), keep = 0; break;
	case OP_SBB: res = sub_flags(a, b, cf, width, &f), keep = 0; break;
	case OP_AND:
	case OP_TEST: res = a & b, f = szp(res, width), keep = 0; break;
	case OP_OR: res = a | b, f = szp(res, width), keep = 0; break;
	case OP_XOR: res = a ^ b, f = szp(res, width), keep = 0; break;
	case OP_INC: res = add_flags(a, 1, 0, width, &f), keep = F_CF; break;
	case OP_DEC: res = sub_flags(a, 1, 0, width, &f), keep = F_CF; break;
	case OP_NEG: res = sub_flags(0, a, 0, width, &f), keep = 0; break;
	case OP_NOT: res = ~a; break;
	default: return -1;
	}
	f &= ~keep;
	r->rflags = (r->rflags & (keep | ~(uint64_t)F_STATUS)) | f;
	if (op == OP_CMP || op == OP_TEST)
		return 0;
	return put(e, 0, r, ea, res, w) ? 0 : -1;
}

static int run_stack(const emu_insn *e, vm_regs *r, const emu_io *io, pending *w)
{
	uint64_t v = 0, ea = 0;
	switch (e->op) {
	case OP_PUSHF:
		v = r->rflags & 0xfcffffu; /* RF and VM are not pushed */
		break;
	case OP_PUSH:
		if (e->mem >= 0 && !ea_of(e, r, &ea))
			return -1;
		if (!get(e, 0, r, ea, io, &v))
			return -1;
		break;
	case OP_POP:
		if (mem_read(io, r->rsp, &v, 8) < 0)
			return -1;
		r->rsp += 8; /* before the address: pop [rsp+8] uses the new rsp */
		if (e->mem >= 0 && !ea_of(e, r, &ea))
			return -1;
		return put(e, 0, r, ea, v, w) ? 0 : -1;
	default: return -1;
	}
	r->rsp -= 8;
	w->mem = true;
	w->ea = r->rsp;
	w->len = 8;
	memcpy(w->bytes, &v, 8);
	return 0;
}

static bool aligned_form(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_MOVDQA || m == ZYDIS_MNEMONIC_MOVAPS || m == ZYDIS_MNEMONIC_MOVAPD ||
	       m == ZYDIS_MNEMONIC_VMOVDQA || m == ZYDIS_MNEMONIC_VMOVAPS || m == ZYDIS_MNEMONIC_VMOVAPD;
}

static int run_vec(const emu_insn *e, emu_cpu *c, uint64_t ea, const emu_io *io, pending *w)
{
	int ri = e->mem == 0 ? 1 : 0;
	uint8_t *reg = c->vec[ZydisRegisterGetId(e->ops[ri].reg.value)];
	size_t len = e->ops[e->mem].size / 8;
	bool vex = e->in.encoding == ZYDIS_INSTRUCTION_ENCODING_VEX;
	if (!len || len > 32 || (e->op == OP_VSCALAR && len > 8))
		return -1;
	if (e->op == OP_VMOV && aligned_form(e->in.mnemonic) && ea % len)
		return -1; /* the CPU's #GP, not ours to make */
	if (e->mem == 0) { /* a store */
		w->mem = true;
		w->ea = ea;
		w->len = len;
		memcpy(w->bytes, reg, len);
		return 0;
	}
	uint8_t v[32] = { 0 };
	if (mem_read(io, ea, v, len) < 0)
		return -1;
	/* a load: a whole move fills its register; a scalar one clears the
	 * rest of the xmm; VEX clears up to bit 255, legacy SSE leaves the
	 * ymm's top half */
	size_t fill = e->op == OP_VMOV ? len : 16;
	memcpy(reg, v, fill);
	if (vex)
		memset(reg + fill, 0, 32 - fill);
	return 0;
}

int emu_x86_run(const emu_insn *e, emu_cpu *cpu, const emu_io *io)
{
	if ((e->in.attributes & ZYDIS_ATTRIB_HAS_LOCK) && !cpu->atomic)
		return -1;
	if (e->op == OP_XCHG && e->mem >= 0 && !cpu->atomic)
		return -1; /* xchg with memory is always locked */
	emu_cpu c = *cpu;
	pending w = { 0 };
	uint64_t ea = 0;
	if (e->op != OP_PUSH && e->op != OP_POP && e->op != OP_MOVS && e->op != OP_STOS && e->mem >= 0 &&
	    !ea_of(e, &c.r, &ea))
		return -1;
	int rc;
	uint64_t v = 0, x = 0;
	switch (e->op) {
	case OP_MOV:
		rc = get(e, 1, &c.r, ea, io, &v) && put(e, 0, &c.r, ea, v, &w) ? 0 : -1;
		break;
	case OP_MOVZX:
	case OP_MOVSX:
		if (!get(e, 1, &c.r, ea, io, &v)) {
			rc = -1;
			break;
		}
		if (e->op == OP_MOVSX)
			v = sext(v, e->ops[1].size);
		rc = put(e, 0, &c.r, ea, v, &w) ? 0 : -1;
		break;
	case OP_XCHG:
		rc = get(e, 0, &c.r, ea, io, &v) && get(e, 1, &c.r, ea, io, &x) && put(e, 0, &c.r, ea, x, &w) &&
				     put(e, 1, &c.r, ea, v, &w)
			     ? 0
			     : -1;
		break;
	case OP_PUSH:
	case OP_POP:
	case OP_PUSHF: rc = run_stack(e, &c.r, io, &w); break;
	case OP_VMOV:
	case OP_VSCALAR: rc = run_vec(e, &c, ea, io, &w); break;
	case OP_MOVS:
	case OP_STOS: rc = emu_string_run(e, &c.r, io); break;
	default: rc = run_alu(e, &c.r, ea, io, &w); break;
	}
	if (rc < 0)
		return -1;
	if (w.mem && mem_write(io, w.ea, w.bytes, w.len) < 0)
		return -1;
	c.r.rip += e->in.length;
	*cpu = c;
	return 0;
}
