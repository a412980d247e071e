/* The emulator of emu_x86.c against the CPU: each instruction form is
 * run natively (copied into a code page between a stub that loads every
 * general and vector register and the flags from a state, and one that
 * stores them back) and by the emulator, from the same random registers,
 * flags and memory; registers, the flags the instruction defines, the
 * vector registers and memory must come out the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "debug/emu_x86.h"

typedef struct nstate {
	uint64_t g[16]; /* rax rbx rcx rdx rsi rdi rbp rsp r8-r15: vm_regs's order */
	uint64_t rip, rflags;
	uint8_t vec[16][32];
} nstate;
_Static_assert(__builtin_offsetof(nstate, rflags) == 136 && __builtin_offsetof(nstate, vec) == 144,
	       "the stub's offsets");

void vm_test_emu_native(nstate *s, void *code, int avx);
void vm_test_emu_back(void);

#define LOADV(i) "vmovdqu " #i "*32+144(%rdi), %ymm" #i "\n"
#define LOADX(i) "movdqu " #i "*32+144(%rdi), %xmm" #i "\n"
#define STOREV(i) "vmovdqu %ymm" #i ", " #i "*32+144(%rdi)\n"
#define STOREX(i) "movdqu %xmm" #i ", " #i "*32+144(%rdi)\n"
#define ALL16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)

__asm__(".text\n"
	".globl vm_test_emu_native\n"
	".type vm_test_emu_native,@function\n"
	"vm_test_emu_native:\n"
	"push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"mov %rsp, emu_nsp(%rip)\n"
	"mov %rdi, emu_nstate(%rip)\n"
	"mov %rsi, emu_ncode(%rip)\n"
	"mov %edx, emu_navx(%rip)\n"
	"test %edx, %edx\n"
	"jz 1f\n" ALL16(LOADV) "jmp 2f\n"
	"1:\n" ALL16(LOADX)
	"2:\n"
	"pushq 136(%rdi)\n popfq\n"
	"mov 0(%rdi), %rax\n mov 8(%rdi), %rbx\n mov 16(%rdi), %rcx\n mov 24(%rdi), %rdx\n"
	"mov 32(%rdi), %rsi\n mov 48(%rdi), %rbp\n mov 56(%rdi), %rsp\n"
	"mov 64(%rdi), %r8\n mov 72(%rdi), %r9\n mov 80(%rdi), %r10\n mov 88(%rdi), %r11\n"
	"mov 96(%rdi), %r12\n mov 104(%rdi), %r13\n mov 112(%rdi), %r14\n mov 120(%rdi), %r15\n"
	"mov 40(%rdi), %rdi\n"
	"jmp *emu_ncode(%rip)\n"
	".globl vm_test_emu_back\n"
	"vm_test_emu_back:\n"
	"mov %rdi, emu_ntmp(%rip)\n"
	"mov emu_nstate(%rip), %rdi\n"
	"mov %rax, 0(%rdi)\n mov %rbx, 8(%rdi)\n mov %rcx, 16(%rdi)\n mov %rdx, 24(%rdi)\n"
	"mov %rsi, 32(%rdi)\n mov %rbp, 48(%rdi)\n mov %rsp, 56(%rdi)\n"
	"mov %r8, 64(%rdi)\n mov %r9, 72(%rdi)\n mov %r10, 80(%rdi)\n mov %r11, 88(%rdi)\n"
	"mov %r12, 96(%rdi)\n mov %r13, 104(%rdi)\n mov %r14, 112(%rdi)\n mov %r15, 120(%rdi)\n"
	"mov emu_ntmp(%rip), %rax\n mov %rax, 40(%rdi)\n"
	"mov emu_nsp(%rip), %rsp\n"
	"pushfq\n pop %rax\n mov %rax, 136(%rdi)\n cld\n"
	"cmpl $0, emu_navx(%rip)\n"
	"je 3f\n" ALL16(STOREV) "vzeroupper\n jmp 4f\n"
	"3:\n" ALL16(STOREX)
	"4:\n"
	"pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"ret\n"
	".bss\n"
	".balign 8\n"
	"emu_nsp: .quad 0\n emu_nstate: .quad 0\n emu_ncode: .quad 0\n emu_ntmp: .quad 0\n emu_navx: .long 0\n"
	".text\n");

typedef struct form {
	const char *name;
	size_t len;
	const char *bytes;
} form;

#define F(n, l, b) { n, l, b }
static const form forms[] = {
	F("movq %rax,(%rbx)", 3, "\x48\x89\x03"),
	F("movl %eax,0x10(%rbx,%rcx,4)", 4, "\x89\x44\x8b\x10"),
	F("movw %ax,(%rbx)", 3, "\x66\x89\x03"),
	F("movb %al,(%rbx)", 2, "\x88\x03"),
	F("movb %ah,1(%rbx)", 3, "\x88\x63\x01"),
	F("movq %r9,-8(%rbx)", 4, "\x4c\x89\x4b\xf8"),
	F("movb %sil,(%rbx)", 3, "\x40\x88\x33"),
	F("movb %r10b,3(%rbx,%rcx,1)", 5, "\x44\x88\x54\x0b\x03"),
	F("movq (%rbx),%rax", 3, "\x48\x8b\x03"),
	F("movl (%rbx),%eax", 2, "\x8b\x03"),
	F("movw (%rbx),%ax", 3, "\x66\x8b\x03"),
	F("movb (%rbx),%al", 2, "\x8a\x03"),
	F("movb (%rbx),%ah", 2, "\x8a\x23"),
	F("movb (%rbx),%dil", 3, "\x40\x8a\x3b"),
	F("movq 8(%rbx,%rcx,8),%r10", 5, "\x4c\x8b\x54\xcb\x08"),
	F("movl (%rbx),%r11d", 3, "\x44\x8b\x1b"),
	F("movq $-5,(%rbx)", 7, "\x48\xc7\x03\xfb\xff\xff\xff"),
	F("movl $0x12345678,(%rbx)", 6, "\xc7\x03\x78\x56\x34\x12"),
	F("movw $0x1234,(%rbx)", 5, "\x66\xc7\x03\x34\x12"),
	F("movb $0x7f,(%rbx)", 3, "\xc6\x03\x7f"),
	F("movl (%ebx),%eax", 3, "\x67\x8b\x03"),
	F("movq %rdx,0x20(%ebx,%ecx,2)", 6, "\x67\x48\x89\x54\x4b\x20"),
	F("movl 0x1100(%rip),%eax", 6, "\x8b\x05\x00\x11\x00\x00"),
	F("movq %rax,0x1200(%rip)", 7, "\x48\x89\x05\x00\x12\x00\x00"),
	F("movq %fs:0x10,%rax", 9, "\x64\x48\x8b\x04\x25\x10\x00\x00\x00"),
	F("movzbl (%rbx),%eax", 3, "\x0f\xb6\x03"),
	F("movzwl (%rbx),%eax", 3, "\x0f\xb7\x03"),
	F("movzbq (%rbx),%rax", 4, "\x48\x0f\xb6\x03"),
	F("movzbw (%rbx),%ax", 4, "\x66\x0f\xb6\x03"),
	F("movzwq (%rbx),%r8", 4, "\x4c\x0f\xb7\x03"),
	F("movsbl (%rbx),%eax", 3, "\x0f\xbe\x03"),
	F("movswq (%rbx),%rax", 4, "\x48\x0f\xbf\x03"),
	F("movslq (%rbx),%rax", 3, "\x48\x63\x03"),
	F("movsbw (%rbx),%ax", 4, "\x66\x0f\xbe\x03"),
	F("movsbq (%rbx),%r12", 4, "\x4c\x0f\xbe\x23"),
	F("addq %rax,(%rbx)", 3, "\x48\x01\x03"),
	F("addl (%rbx),%eax", 2, "\x03\x03"),
	F("addb $7,(%rbx)", 3, "\x80\x03\x07"),
	F("addq $-1,(%rbx)", 4, "\x48\x83\x03\xff"),
	F("addw %dx,(%rbx)", 3, "\x66\x01\x13"),
	F("addl $0x7fffffff,(%rbx)", 6, "\x81\x03\xff\xff\xff\x7f"),
	F("addb (%rbx),%ah", 2, "\x02\x23"),
	F("adcq %rax,(%rbx)", 3, "\x48\x11\x03"),
	F("adcl (%rbx),%eax", 2, "\x13\x03"),
	F("adcb $0x80,(%rbx)", 3, "\x80\x13\x80"),
	F("subq %rax,(%rbx)", 3, "\x48\x29\x03"),
	F("subl (%rbx),%edx", 2, "\x2b\x13"),
	F("subb (%rbx),%al", 2, "\x2a\x03"),
	F("subw $0x100,(%rbx)", 5, "\x66\x81\x2b\x00\x01"),
	F("sbbq %rax,(%rbx)", 3, "\x48\x19\x03"),
	F("sbbl (%rbx),%eax", 2, "\x1b\x03"),
	F("sbbb $1,(%rbx)", 3, "\x80\x1b\x01"),
	F("andq %rax,(%rbx)", 3, "\x48\x21\x03"),
	F("andw $0x0ff0,(%rbx)", 5, "\x66\x81\x23\xf0\x0f"),
	F("andl (%rbx),%ecx", 2, "\x23\x0b"),
	F("orl (%rbx),%eax", 2, "\x0b\x03"),
	F("orq $-16,(%rbx)", 4, "\x48\x83\x0b\xf0"),
	F("orb %cl,(%rbx)", 2, "\x08\x0b"),
	F("xorb $0x55,(%rbx)", 3, "\x80\x33\x55"),
	F("xorq (%rbx),%rdx", 3, "\x48\x33\x13"),
	F("xorl %esi,(%rbx)", 2, "\x31\x33"),
	F("cmpq %rax,(%rbx)", 3, "\x48\x39\x03"),
	F("cmpl (%rbx),%eax", 2, "\x3b\x03"),
	F("cmpb $0x40,(%rbx)", 3, "\x80\x3b\x40"),
	F("cmpq $0x100,(%rbx)", 7, "\x48\x81\x3b\x00\x01\x00\x00"),
	F("cmpw (%rbx),%dx", 3, "\x66\x3b\x13"),
	F("testq %rax,(%rbx)", 3, "\x48\x85\x03"),
	F("testb $1,(%rbx)", 3, "\xf6\x03\x01"),
	F("testl $0x80000000,(%rbx)", 6, "\xf7\x03\x00\x00\x00\x80"),
	F("testw %cx,(%rbx)", 3, "\x66\x85\x0b"),
	F("incq (%rbx)", 3, "\x48\xff\x03"),
	F("incl (%rbx)", 2, "\xff\x03"),
	F("incb (%rbx)", 2, "\xfe\x03"),
	F("incw (%rbx)", 3, "\x66\xff\x03"),
	F("decq (%rbx)", 3, "\x48\xff\x0b"),
	F("decl (%rbx)", 2, "\xff\x0b"),
	F("decb (%rbx)", 2, "\xfe\x0b"),
	F("decw (%rbx)", 3, "\x66\xff\x0b"),
	F("negq (%rbx)", 3, "\x48\xf7\x1b"),
	F("negl (%rbx)", 2, "\xf7\x1b"),
	F("negb (%rbx)", 2, "\xf6\x1b"),
	F("notl (%rbx)", 2, "\xf7\x13"),
	F("notq (%rbx)", 3, "\x48\xf7\x13"),
	F("xchgq %rax,(%rbx)", 3, "\x48\x87\x03"),
	F("xchgb %cl,(%rbx)", 2, "\x86\x0b"),
	F("xchgl (%rbx),%edx", 2, "\x87\x13"),
	F("lock addq %rax,(%rbx)", 4, "\xf0\x48\x01\x03"),
	F("lock incl (%rbx)", 3, "\xf0\xff\x03"),
	F("lock subw %dx,(%rbx)", 4, "\x66\xf0\x29\x13"),
	F("pushq (%rbx)", 2, "\xff\x33"),
	F("pushq 8(%rsp)", 4, "\xff\x74\x24\x08"),
	F("popq (%rbx)", 2, "\x8f\x03"),
	F("popq 8(%rsp)", 4, "\x8f\x44\x24\x08"),
	F("pushq %rax", 1, "\x50"),
	F("pushq %r13", 2, "\x41\x55"),
	F("popq %rdx", 1, "\x5a"),
	F("popq %r14", 2, "\x41\x5e"),
	F("pushq $-3", 2, "\x6a\xfd"),
	F("pushq $0x12345", 5, "\x68\x45\x23\x01\x00"),
	F("pushfq", 1, "\x9c"),
	F("movdqu %xmm1,(%rbx)", 4, "\xf3\x0f\x7f\x0b"),
	F("movdqu (%rbx),%xmm2", 4, "\xf3\x0f\x6f\x13"),
	F("movdqa %xmm3,(%rbx)", 4, "\x66\x0f\x7f\x1b"),
	F("movdqa (%rbx),%xmm4", 4, "\x66\x0f\x6f\x23"),
	F("movups %xmm5,(%rbx)", 3, "\x0f\x11\x2b"),
	F("movups (%rbx),%xmm6", 3, "\x0f\x10\x33"),
	F("movaps (%rbx),%xmm7", 3, "\x0f\x28\x3b"),
	F("movaps %xmm15,(%rbx)", 4, "\x44\x0f\x29\x3b"),
	F("movapd %xmm8,(%rbx)", 5, "\x66\x44\x0f\x29\x03"),
	F("movupd (%rbx),%xmm9", 5, "\x66\x44\x0f\x10\x0b"),
	F("lddqu (%rbx),%xmm10", 5, "\xf2\x44\x0f\xf0\x13"),
	F("movdqu 0x10(%rbx,%rcx,8),%xmm11", 7, "\xf3\x44\x0f\x6f\x5c\xcb\x10"),
	F("vmovdqu %ymm1,(%rbx)", 4, "\xc5\xfe\x7f\x0b"),
	F("vmovdqu (%rbx),%ymm2", 4, "\xc5\xfe\x6f\x13"),
	F("vmovdqu (%rbx),%xmm3", 4, "\xc5\xfa\x6f\x1b"),
	F("vmovdqu %xmm10,(%rbx)", 4, "\xc5\x7a\x7f\x13"),
	F("vmovdqa (%rbx),%ymm4", 4, "\xc5\xfd\x6f\x23"),
	F("vmovdqa %ymm12,(%rbx)", 4, "\xc5\x7d\x7f\x23"),
	F("vmovups %ymm5,(%rbx)", 4, "\xc5\xfc\x11\x2b"),
	F("vmovups (%rbx),%ymm13", 4, "\xc5\x7c\x10\x2b"),
	F("vmovaps %xmm6,(%rbx)", 4, "\xc5\xf8\x29\x33"),
	F("vmovapd (%rbx),%xmm14", 4, "\xc5\x79\x28\x33"),
	F("vmovupd (%rbx),%ymm0", 4, "\xc5\xfd\x10\x03"),
	F("vlddqu (%rbx),%ymm7", 4, "\xc5\xff\xf0\x3b"),
	F("movq %xmm1,(%rbx)", 4, "\x66\x0f\xd6\x0b"),
	F("movq (%rbx),%xmm2", 4, "\xf3\x0f\x7e\x13"),
	F("movd %xmm3,(%rbx)", 4, "\x66\x0f\x7e\x1b"),
	F("movd (%rbx),%xmm4", 4, "\x66\x0f\x6e\x23"),
	F("movq (%rbx),%xmm0 (REX.W 6e)", 5, "\x66\x48\x0f\x6e\x03"),
	F("movq %xmm0,(%rbx) (REX.W 7e)", 5, "\x66\x48\x0f\x7e\x03"),
	F("vmovq (%rbx),%xmm5", 4, "\xc5\xfa\x7e\x2b"),
	F("vmovq %xmm12,(%rbx)", 4, "\xc5\x79\xd6\x23"),
	F("vmovd %xmm6,(%rbx)", 4, "\xc5\xf9\x7e\x33"),
	F("vmovd (%rbx),%xmm13", 4, "\xc5\x79\x6e\x2b"),
	F("movss (%rbx),%xmm1", 4, "\xf3\x0f\x10\x0b"),
	F("movss %xmm2,(%rbx)", 4, "\xf3\x0f\x11\x13"),
	F("movsd (%rbx),%xmm3", 4, "\xf2\x0f\x10\x1b"),
	F("movsd %xmm4,(%rbx)", 4, "\xf2\x0f\x11\x23"),
	F("vmovss (%rbx),%xmm5", 4, "\xc5\xfa\x10\x2b"),
	F("vmovsd %xmm6,(%rbx)", 4, "\xc5\xfb\x11\x33"),
	F("vmovsd (%rbx),%xmm11", 4, "\xc5\x7b\x10\x1b"),
	F("rep movsb", 2, "\xf3\xa4"),
	F("rep movsq", 3, "\xf3\x48\xa5"),
	F("rep movsl", 2, "\xf3\xa5"),
	F("movsb", 1, "\xa4"),
	F("movsq", 2, "\x48\xa5"),
	F("rep stosb", 2, "\xf3\xaa"),
	F("rep stosq", 3, "\xf3\x48\xab"),
	F("rep stosw", 3, "\x66\xf3\xab"),
	F("stosl", 1, "\xab"),
	F("stosb", 1, "\xaa"),
};

#define PAGE 4096u
#define NDATA (2 * PAGE)

/* the emulator's memory: a copy of the data pages; reads elsewhere (the
 * thread pointer's block, for %fs:) from this process */
typedef struct fake_mem {
	uint8_t *data, *copy;
} fake_mem;

static int fake_read(void *ctx, uint64_t a, void *buf, size_t len)
{
	fake_mem *m = ctx;
	uint64_t base = (uint64_t)(uintptr_t)m->data;
	if (a >= base && a - base <= NDATA - len) {
		memcpy(buf, m->copy + (a - base), len);
		return 0;
	}
	if (a >= base - PAGE && a < base + NDATA)
		return -1;
	memcpy(buf, (void *)(uintptr_t)a, len);
	return 0;
}

static int fake_write(void *ctx, uint64_t a, const void *buf, size_t len)
{
	fake_mem *m = ctx;
	uint64_t base = (uint64_t)(uintptr_t)m->data;
	if (a < base || a - base > NDATA - len)
		return -1;
	memcpy(m->copy + (a - base), buf, len);
	return 0;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rnd_state;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return rnd_state = x;
}

/* a value with the edges flags care about more often than chance */
static uint64_t value(void)
{
	static const uint64_t edge[] = { 0, 1, ~0ull, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
					 0x80000000, 0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, 0x0f, 0x10 };
	uint64_t k = rnd() % 4;
	return k == 0 ? edge[rnd() % 16] : k == 1 ? rnd() & 0xff : rnd();
}

static void regs_of(const nstate *s, vm_regs *r)
{
	uint64_t *f[16] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
			    &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	for (int i = 0; i < 16; i++)
		*f[i] = s->g[i];
}

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static void run_form(const form *fm, uint8_t *code, uint8_t *data, int avx, uint64_t fs)
{
	emu_insn e;
	emu_need need = emu_x86_decode((const uint8_t *)fm->bytes, fm->len, &e);
	if (need == EMU_NO) {
		check_fail(__FILE__, __LINE__, "%s: not emulated", fm->name);
		return;
	}
	bool vexform = fm->name[0] == 'v';
	if (vexform && !avx)
		return; /* no AVX here: the CPU cannot say */
	mprotect(code, PAGE, PROT_READ | PROT_WRITE);
	memcpy(code, fm->bytes, fm->len);
	static const uint8_t jmp[6] = { 0xff, 0x25, 0, 0, 0, 0 }; /* jmp *0(%rip) */
	uint64_t back = (uint64_t)(uintptr_t)vm_test_emu_back;
	memcpy(code + fm->len, jmp, 6);
	memcpy(code + fm->len + 6, &back, 8);
	mprotect(code, PAGE, PROT_READ | PROT_EXEC);
	/* the flags the instruction defines (the logical ones leave AF undefined) */
	uint64_t fmask = 0x8d5;
	if (starts(fm->name, "and") || starts(fm->name, "or") || starts(fm->name, "xor") ||
	    starts(fm->name, "test"))
		fmask &= ~0x10ull;
	bool aligned = strstr(fm->name, "dqa") || strstr(fm->name, "aps") || strstr(fm->name, "apd");
	bool addr32 = strstr(fm->name, "(%ebx") != NULL;
	bool string = strstr(fm->name, "stos") || starts(fm->name, "rep movs") || !strcmp(fm->name, "movsb") ||
		      !strcmp(fm->name, "movsq");
	if (string)
		fmask |= 0x400; /* DF: kept */
	static uint8_t copy[NDATA];
	fake_mem fmem = { data, copy };
	emu_io io = { &fmem, fake_read, fake_write };
	int bad = 0;
	for (int it = 0; it < 1500 && bad < 3; it++) {
		nstate s;
		for (int i = 0; i < 16; i++)
			s.g[i] = value();
		for (int i = 0; i < 16; i++)
			for (int k = 0; k < 32; k++)
				s.vec[i][k] = (uint8_t)rnd();
		for (size_t i = 0; i < NDATA; i += 8) {
			uint64_t v = value();
			memcpy(data + i, &v, 8);
		}
		uint64_t off = 0x400 + rnd() % 0x800;
		if (aligned)
			off &= ~31ull;
		s.g[1] = (uint64_t)(uintptr_t)data + off; /* rbx: the base */
		s.g[2] = rnd() % 16;                       /* rcx: the index */
		if (addr32) {
			s.g[1] |= rnd() << 32;
			s.g[2] |= rnd() << 32;
		}
		s.g[7] = (uint64_t)(uintptr_t)data + 0x1800 + 8 * (rnd() % 16); /* rsp */
		s.rflags = 0x202 | (rnd() & 0x8d5);
		if (string) { /* rsi, rdi apart, either direction */
			s.g[4] = (uint64_t)(uintptr_t)data + 0x400 + rnd() % 0x300;
			s.g[5] = (uint64_t)(uintptr_t)data + 0xc00 + rnd() % 0x300;
			s.g[2] = rnd() % 40;
			s.rflags |= rnd() & 0x400;
		}
		s.rip = (uint64_t)(uintptr_t)code;
		memcpy(copy, data, NDATA);

		emu_cpu cpu;
		memset(&cpu, 0, sizeof cpu);
		regs_of(&s, &cpu.r);
		cpu.r.rip = s.rip;
		cpu.r.rflags = s.rflags;
		cpu.r.fs_base = fs;
		memcpy(cpu.vec, s.vec, sizeof cpu.vec);
		cpu.atomic = true;
		int rc = emu_x86_run(&e, &cpu, &io);

		nstate n = s;
		vm_test_emu_native(&n, code, avx);
		vm_regs want;
		regs_of(&n, &want);

		bool ok = rc == 0 && cpu.r.rip == s.rip + fm->len && !memcmp(&cpu.r, &want, 16 * 8) &&
			  ((cpu.r.rflags ^ n.rflags) & fmask) == 0 && !memcmp(copy, data, NDATA);
		for (int i = 0; i < 16 && ok && need == EMU_VEC; i++)
			ok = !memcmp(cpu.vec[i], n.vec[i], avx ? 32 : 16); /* without AVX the stub has xmm only */
		if (!ok) {
			bad++;
			check_fail(__FILE__, __LINE__,
				   "%s: rc %d; rax %llx/%llx rdx %llx/%llx rsp %llx/%llx flags %llx/%llx (in %llx); "
				   "memory %s",
				   fm->name, rc, (unsigned long long)cpu.r.rax, (unsigned long long)want.rax,
				   (unsigned long long)cpu.r.rdx, (unsigned long long)want.rdx,
				   (unsigned long long)cpu.r.rsp, (unsigned long long)want.rsp,
				   (unsigned long long)cpu.r.rflags, (unsigned long long)n.rflags,
				   (unsigned long long)s.rflags, memcmp(copy, data, NDATA) ? "differs" : "same");
		}
	}
}

static void test_emul_against_cpu(void)
{
	/* code, then two data pages under 4 GiB (for the 32-bit address forms) */
	uint8_t *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	uint64_t fs;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
	int avx = __builtin_cpu_supports("avx");
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
		run_form(&forms[i], p, p + PAGE, avx, fs);
	munmap(p, 3 * PAGE);
}

/* what the emulator must leave to the CPU */
static void test_emul_refuses(void)
{
	static const struct {
		const char *name;
		size_t len;
		const char *bytes;
	} no[] = {
		{ "movq (%rbx),%mm0", 3, "\x0f\x6f\x03" },
		{ "vmovdqu64 (%rbx),%zmm0", 6, "\x62\xf1\xfe\x48\x6f\x03" },
		{ "popfq", 1, "\x9d" },
		{ "lea (%rbx),%rax", 3, "\x48\x8d\x03" },
		{ "mov %rbx,%rax", 3, "\x48\x89\xd8" },
		{ "shlq (%rbx)", 3, "\x48\xd1\x23" },
		{ "pushw %ax", 2, "\x66\x50" },
		{ "cmpxchg %rcx,(%rbx)", 4, "\x48\x0f\xb1\x0b" },
		{ "rep cmpsb", 2, "\xf3\xa6" },
		{ "rep movsb %fs:(%rsi),(%rdi)", 3, "\x64\xf3\xa4" },
		{ "rep movsb (%esi),(%edi)", 3, "\x67\xf3\xa4" },
	};
	emu_insn e;
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (emu_x86_decode((const uint8_t *)no[i].bytes, no[i].len, &e) != EMU_NO)
			check_fail(__FILE__, __LINE__, "%s: emulated", no[i].name);
	/* misaligned movdqa: the CPU's #GP; a LOCKed add while threads
	 * run: refused before any memory is touched (no callbacks here) */
	emu_cpu c;
	memset(&c, 0, sizeof c);
	CHECK(emu_x86_decode((const uint8_t *)"\x66\x0f\x6f\x03", 4, &e) == EMU_VEC); /* movdqa (%rbx),%xmm0 */
	c.r.rbx = 8;
	emu_io none = { NULL, NULL, NULL };
	CHECK(emu_x86_run(&e, &c, &none) == -1);
	CHECK(emu_x86_decode((const uint8_t *)"\xf0\x48\x01\x03", 4, &e) == EMU_GPR); /* lock add %rax,(%rbx) */
	c.atomic = false;
	CHECK(emu_x86_run(&e, &c, &none) == -1);
	CHECK(c.r.rip == 0);
	/* rep movsb over itself shifted by one: the CPU's, element by element */
	CHECK(emu_x86_decode((const uint8_t *)"\xf3\xa4", 2, &e) == EMU_GPR);
	c.r.rsi = 0x1000, c.r.rdi = 0x1001, c.r.rcx = 16;
	CHECK(emu_x86_run(&e, &c, &none) == -1);
	CHECK(c.r.rcx == 16 && c.r.rip == 0);
}

const unit_test emul_tests[] = {
	{ "emul.against_cpu", test_emul_against_cpu },
	{ "emul.refuses", test_emul_refuses },
	{ NULL, NULL },
};
