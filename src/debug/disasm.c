/* Disassembly with Zydis (Intel syntax, or AT&T for the session that
 * asks: vm_dbg_set_att), always from the original bytes
 * (vm_dbg_read masks our int3s). A call's or jump's target is named:
 * `call libc.so.6!malloc`; a call through a PLT stub is named after the
 * function its GOT slot holds once the loader has bound it. */
#include "dbg.h"

#include <Zydis/Zydis.h>
#include <stdio.h>
#include <string.h>

typedef struct zy {
	ZydisDecoder dec;
	ZydisFormatter fmt, att;
} zy;

/* the decoder and formatter for 64- or 32-bit code */
static const zy *zydis(int bits)
{
	static zy z[2];
	static bool ready[2];
	int k = bits == 32;
	if (!ready[k]) {
		ZydisDecoderInit(&z[k].dec, k ? ZYDIS_MACHINE_MODE_LEGACY_32 : ZYDIS_MACHINE_MODE_LONG_64,
				 k ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_64);
		ZydisFormatterInit(&z[k].fmt, ZYDIS_FORMATTER_STYLE_INTEL);
		ZydisFormatterInit(&z[k].att, ZYDIS_FORMATTER_STYLE_ATT);
		/* 0x55d0c1a2f130, as every other address vmatlas prints */
		ZydisFormatter *f[2] = { &z[k].fmt, &z[k].att };
		for (int j = 0; j < 2; j++) {
			ZydisFormatterSetProperty(f[j], ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
			ZydisFormatterSetProperty(f[j], ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE, ZYDIS_PADDING_DISABLED);
		}
		/* AT&T as binutils writes it: $0x1, 0x8(%rsp), 0xb97(%rip) */
		ZydisFormatterSetProperty(&z[k].att, ZYDIS_FORMATTER_PROP_FORCE_RELATIVE_RIPREL, ZYAN_TRUE);
		ZydisFormatterSetProperty(&z[k].att, ZYDIS_FORMATTER_PROP_DISP_PADDING, ZYDIS_PADDING_DISABLED);
		ZydisFormatterSetProperty(&z[k].att, ZYDIS_FORMATTER_PROP_IMM_PADDING, ZYDIS_PADDING_DISABLED);
		ZydisFormatterSetProperty(&z[k].att, ZYDIS_FORMATTER_PROP_IMM_SIGNEDNESS, ZYDIS_SIGNEDNESS_UNSIGNED);
		ready[k] = true;
	}
	return &z[k];
}

/* AT&T names the x87 stack %st(1), Zydis %st1 */
static void att_st_regs(char *t, size_t cap)
{
	char out[sizeof ((vm_dbg_insn *)0)->text];
	size_t k = 0;
	for (const char *p = t; *p && k + 4 < sizeof out; p++) {
		if (!strncmp(p, "%st", 3) && p[3] >= '0' && p[3] <= '7') {
			k += (size_t)snprintf(out + k, sizeof out - k, "%%st(%c)", p[3]);
			p += 3;
		} else {
			out[k++] = *p;
		}
	}
	out[k] = 0;
	snprintf(t, cap, "%s", out);
}

static char size_letter(unsigned bits)
{
	return bits == 8 ? 'b' : bits == 16 ? 'w' : bits == 32 ? 'l' : 'q';
}

/* the AT&T names binutils uses where Zydis keeps Intel's: movzbl, movslq,
 * cltq ... */
static void att_mnemonic(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops, char *t, size_t cap)
{
	char mn[16] = "";
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD:
		if (in->operand_count_visible < 2)
			return;
		snprintf(mn, sizeof mn, "movs%c%c", size_letter(ops[1].size), size_letter(ops[0].size));
		if (in->mnemonic == ZYDIS_MNEMONIC_MOVZX)
			mn[3] = 'z';
		break;
	case ZYDIS_MNEMONIC_CBW: snprintf(mn, sizeof mn, "cbtw"); break;
	case ZYDIS_MNEMONIC_CWDE: snprintf(mn, sizeof mn, "cwtl"); break;
	case ZYDIS_MNEMONIC_CDQE: snprintf(mn, sizeof mn, "cltq"); break;
	case ZYDIS_MNEMONIC_CWD: snprintf(mn, sizeof mn, "cwtd"); break;
	case ZYDIS_MNEMONIC_CDQ: snprintf(mn, sizeof mn, "cltd"); break;
	case ZYDIS_MNEMONIC_CQO: snprintf(mn, sizeof mn, "cqto"); break;
	default: return;
	}
	const char *sp = strchr(t, ' ');
	char rest[sizeof ((vm_dbg_insn *)0)->text];
	snprintf(rest, sizeof rest, "%s", sp ? sp : "");
	snprintf(t, cap, "%s%s", mn, rest);
}

size_t dbg_decode(int bits, const uint8_t *code, size_t len, uint64_t addr, vm_dbg_insn *out)
{
	return dbg_decode_as(bits, false, code, len, addr, out);
}

size_t dbg_decode_as(int bits, bool att, const uint8_t *code, size_t len, uint64_t addr, vm_dbg_insn *out)
{
	const zy *z = zydis(bits);
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	memset(out, 0, sizeof *out);
	out->addr = addr;
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&z->dec, code, len, &in, ops))) {
		out->len = 1;
		out->bytes[0] = len ? code[0] : 0;
		snprintf(out->text, sizeof out->text, "(bad)");
		return 0;
	}
	out->len = in.length;
	memcpy(out->bytes, code, in.length);
	ZydisFormatterFormatInstruction(att ? &z->att : &z->fmt, &in, ops, in.operand_count_visible, out->text, sizeof out->text,
					addr, NULL);
	if (att) {
		att_st_regs(out->text, sizeof out->text);
		att_mnemonic(&in, ops, out->text, sizeof out->text);
	}
	out->is_call = in.meta.category == ZYDIS_CATEGORY_CALL;
	out->is_branch = out->is_call || in.meta.category == ZYDIS_CATEGORY_COND_BR ||
			 in.meta.category == ZYDIS_CATEGORY_UNCOND_BR;
	if (out->is_branch && in.operand_count_visible >= 1 && ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		ZyanU64 t;
		if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[0], addr, &t)))
			out->target = t;
	}
	for (int i = 0; i < in.operand_count_visible; i++) {
		ZyanU64 t;
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.base == ZYDIS_REGISTER_RIP &&
		    ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[i], addr, &t)))
			out->ref = t;
	}
	return in.length;
}

size_t vm_disasm_buf(const uint8_t *code, size_t len, uint64_t addr, vm_dbg_insn *out)
{
	return dbg_decode(64, code, len, addr, out);
}

/* A PLT stub ([endbr] [bnd] jmp [rip+X], i386 jmp [X] or jmp [ebx+X]):
 * the GOT slot it jumps through (ebx: its value, 0 unknown) */
bool dbg_plt_slot(vm_dbg *d, uint64_t stub, uint64_t ebx, uint64_t *slot)
{
	uint8_t code[16];
	ssize_t got = vm_dbg_read(d, stub, code, sizeof code);
	if (got <= 0)
		return false;
	size_t off = 0;
	vm_dbg_insn i;
	for (int k = 0; k < 2; k++) {
		if (!dbg_decode(d->bits, code + off, (size_t)got - off, stub + off, &i))
			return false;
		if (strncmp(i.text, "endbr", 5))
			break;
		off += i.len;
	}
	const zy *z = zydis(d->bits);
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&z->dec, code + off, (size_t)got - off, &in, ops)) ||
	    in.mnemonic != ZYDIS_MNEMONIC_JMP || ops[0].type != ZYDIS_OPERAND_TYPE_MEMORY ||
	    ops[0].mem.index != ZYDIS_REGISTER_NONE)
		return false;
	ZyanU64 a;
	if (ops[0].mem.base == ZYDIS_REGISTER_RIP || ops[0].mem.base == ZYDIS_REGISTER_NONE) {
		if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[0], stub + off, &a)))
			return false;
	} else if (ops[0].mem.base == ZYDIS_REGISTER_EBX && d->bits == 32 && ebx) {
		a = (uint32_t)(ebx + (uint64_t)ops[0].mem.disp.value);
	} else {
		return false;
	}
	*slot = a;
	return true;
}

/* the function a PLT stub is bound to now (0: not a stub, or not read) */
static uint64_t plt_target(vm_dbg *d, uint64_t stub)
{
	uint64_t slot, fn = 0;
	size_t w = (size_t)d->bits / 8;
	if (!dbg_plt_slot(d, stub, 0, &slot) || vm_dbg_read(d, slot, &fn, w) != (ssize_t)w)
		return 0;
	return fn;
}

/* "mov rax, [0x55d0c1a2f130]  ; dbgfix!counter" */
static void name_ref(vm_dbg *d, vm_dbg_insn *i)
{
	char where[256];
	vm_symbol_info si;
	if (!d->sym || !i->ref || !vm_symbolize(d->sym, i->ref, &si) || !si.symbol)
		return;
	vm_symbol_format(&si, i->ref, where, sizeof where);
	size_t tl = strlen(i->text);
	snprintf(i->text + tl, sizeof i->text - tl, d->att ? "  # %.*s" : "  ; %.*s", (int)(sizeof i->text - tl > 5 ? sizeof i->text - tl - 5 : 0),
		 where);
}

static void name_target(vm_dbg *d, vm_dbg_insn *i)
{
	char where[256];
	vm_symbol_info si;
	name_ref(d, i);
	if (!d->sym || !i->target)
		return;
	vm_symbolize(d->sym, i->target, &si);
	if (i->is_call || !si.symbol) {
		/* through the PLT: name the function if the slot is bound to
		 * another module */
		uint64_t fn = plt_target(d, i->target);
		vm_symbol_info fi;
		if (fn && vm_symbolize(d->sym, fn, &fi) && fi.symbol && fi.module != si.module) {
			si = fi;
			i->target = fn;
		}
	}
	if (!si.symbol && !si.module)
		return;
	vm_symbol_format(&si, i->target, where, sizeof where);
	const char *sp = strchr(i->text, ' ');
	size_t mn = sp ? (size_t)(sp - i->text) : strlen(i->text);
	char text[sizeof i->text + sizeof where];
	snprintf(text, sizeof text, "%.*s %s", (int)mn, i->text, where);
	size_t tl = strlen(text);
	if (tl >= sizeof i->text)
		tl = sizeof i->text - 1; /* a very long name is cut */
	memcpy(i->text, text, tl);
	i->text[tl] = 0;
}

size_t vm_dbg_disasm(vm_dbg *d, uint64_t addr, size_t n, vm_dbg_insn *out)
{
	size_t k = 0;
	uint8_t buf[64];
	while (k < n) {
		ssize_t got = vm_dbg_read(d, addr, buf, sizeof buf);
		if (got <= 0)
			break;
		size_t len = dbg_decode_as(d->bits, d->att, buf, (size_t)got, addr, &out[k]);
		if (!len && got < 15 && k > 0)
			break;
		name_target(d, &out[k]);
		addr += out[k].len;
		k++;
	}
	return k;
}

size_t dbg_insn_len(vm_dbg *d, uint64_t addr, bool *is_call)
{
	uint8_t buf[16];
	vm_dbg_insn i;
	ssize_t got = vm_dbg_read(d, addr, buf, sizeof buf);
	size_t len = got > 0 ? dbg_decode(d->bits, buf, (size_t)got, addr, &i) : 0;
	*is_call = len && i.is_call;
	return len;
}

void vm_dbg_set_att(vm_dbg *d, bool att)
{
	d->att = att;
}

bool vm_dbg_att(const vm_dbg *d)
{
	return d->att;
}
