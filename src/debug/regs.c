/* Registers by name: the 64-bit ones, their 32/16/8-bit parts (eax ax al
 * ah, r8d r8w r8b), rip/eip/ip, rflags/eflags, and each flag by its
 * letters (CF PF AF ZF SF TF IF DF OF), each also as gdb writes it ($rax,
 * $pc $sp $fp $ps). A 32-bit write zero-extends, as
 * the CPU does; 16- and 8-bit writes keep the other bits. */
#include "dbg.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct reg_name {
	const char *n64, *n32, *n16, *n8, *n8h;
	size_t off;
} reg_name;

#define R(a, b, c, d, e, f) { a, b, c, d, e, offsetof(vm_regs, f) }
static const reg_name gprs[] = {
	R("rax", "eax", "ax", "al", "ah", rax),   R("rbx", "ebx", "bx", "bl", "bh", rbx),
	R("rcx", "ecx", "cx", "cl", "ch", rcx),   R("rdx", "edx", "dx", "dl", "dh", rdx),
	R("rsi", "esi", "si", "sil", NULL, rsi),  R("rdi", "edi", "di", "dil", NULL, rdi),
	R("rbp", "ebp", "bp", "bpl", NULL, rbp),  R("rsp", "esp", "sp", "spl", NULL, rsp),
	R("r8", "r8d", "r8w", "r8b", NULL, r8),   R("r9", "r9d", "r9w", "r9b", NULL, r9),
	R("r10", "r10d", "r10w", "r10b", NULL, r10), R("r11", "r11d", "r11w", "r11b", NULL, r11),
	R("r12", "r12d", "r12w", "r12b", NULL, r12), R("r13", "r13d", "r13w", "r13b", NULL, r13),
	R("r14", "r14d", "r14w", "r14b", NULL, r14), R("r15", "r15d", "r15w", "r15b", NULL, r15),
	R("rip", "eip", "ip", NULL, NULL, rip),   R("rflags", "eflags", "flags", NULL, NULL, rflags),
	R("cs", NULL, NULL, NULL, NULL, cs),      R("ss", NULL, NULL, NULL, NULL, ss),
	R("ds", NULL, NULL, NULL, NULL, ds),      R("es", NULL, NULL, NULL, NULL, es),
	R("fs", NULL, NULL, NULL, NULL, fs),      R("gs", NULL, NULL, NULL, NULL, gs),
	R("fs_base", NULL, NULL, NULL, NULL, fs_base), R("gs_base", NULL, NULL, NULL, NULL, gs_base),
	R("orig_rax", NULL, NULL, NULL, NULL, orig_rax),
};
#undef R

static const struct {
	const char *name;
	int bit;
} flags[] = {
	{ "CF", 0 }, { "PF", 2 }, { "AF", 4 }, { "ZF", 6 }, { "SF", 7 },
	{ "TF", 8 }, { "IF", 9 }, { "DF", 10 }, { "OF", 11 },
};

/* which register, and which part: 64 32 16 8 (low) or -8 (bits 8-15);
 * a flag: part 1, bit in *bit */
static const reg_name *find(const char *name, int *part, int *bit)
{
	/* gdb's spelling: $rax, and $pc $sp $fp $ps for rip rsp rbp eflags */
	if (name[0] == '$') {
		static const struct { const char *alias; int idx, part; } gdb[] = {
			{ "pc", 16, 64 }, { "sp", 7, 64 }, { "fp", 6, 64 }, { "ps", 17, 32 },
		};
		for (size_t i = 0; i < sizeof gdb / sizeof gdb[0]; i++)
			if (!strcasecmp(name + 1, gdb[i].alias)) {
				*part = gdb[i].part;
				return &gprs[gdb[i].idx];
			}
		name++;
	}
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (!strcmp(name, flags[i].name)) {
			*part = 1;
			*bit = flags[i].bit;
			return &gprs[17]; /* rflags */
		}
	for (size_t i = 0; i < sizeof gprs / sizeof gprs[0]; i++) {
		const reg_name *g = &gprs[i];
		const char *names[] = { g->n64, g->n32, g->n16, g->n8, g->n8h };
		static const int parts[] = { 64, 32, 16, 8, -8 };
		for (int k = 0; k < 5; k++)
			if (names[k] && !strcasecmp(name, names[k])) {
				*part = parts[k];
				return g;
			}
	}
	return NULL;
}

bool dbg_is_reg(const char *name)
{
	int part, bit;
	return find(name, &part, &bit) != NULL;
}

int dbg_reg_lookup(const vm_regs *r, const char *name, uint64_t *v)
{
	int part, bit = 0;
	const reg_name *g = find(name, &part, &bit);
	if (!g)
		return -1;
	uint64_t x;
	memcpy(&x, (const char *)r + g->off, sizeof x);
	switch (part) {
	case 1: x = (x >> bit) & 1; break;
	case 32: x &= 0xffffffffu; break;
	case 16: x &= 0xffffu; break;
	case 8: x &= 0xffu; break;
	case -8: x = (x >> 8) & 0xffu; break;
	default: break;
	}
	*v = x;
	return 0;
}

int dbg_reg_store(vm_regs *r, const char *name, uint64_t v)
{
	int part, bit = 0;
	const reg_name *g = find(name, &part, &bit);
	if (!g)
		return -1;
	uint64_t x;
	memcpy(&x, (const char *)r + g->off, sizeof x);
	switch (part) {
	case 1: x = (x & ~(1ull << bit)) | ((uint64_t)(v != 0) << bit); break;
	case 32: x = v & 0xffffffffu; break;
	case 16: x = (x & ~0xffffull) | (v & 0xffff); break;
	case 8: x = (x & ~0xffull) | (v & 0xff); break;
	case -8: x = (x & ~0xff00ull) | ((v & 0xff) << 8); break;
	default: x = v; break;
	}
	memcpy((char *)r + g->off, &x, sizeof x);
	return 0;
}
