/* 32-bit Windows stacks: compilers there omit frame pointers (FPO) and
 * images carry no unwind tables, so the walk takes what each frame
 * allows, in this order: the ebp chain, where the return address it gives
 * lies in an image's code just after a call; else the first word up the
 * stack that is such a return address, the call decoded (a "scan"); else
 * the frame an SEH record sits in (MSVC's _except_handler3/4 frames keep
 * the registration at ebp-0x10). A return address whose call cannot be
 * read (the dump lacks the code) is taken from the ebp chain, never from
 * a scan: a scan needs the decoded call. */
#include "x86_unwind.h"

#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"

#define SCAN_WORDS 4096  /* how far up the stack one scan looks: 16 KiB */
#define SCAN_BUDGET (1u << 17) /* words scanned for one thread in all */
#define SEH_MAX 256

typedef enum { RET_NO, RET_MODULE, RET_CALL } ret_kind;

typedef struct walk {
	const vm_map *m;
	vm_target *t;
	uint64_t stack_end;
	vm_seh_record seh[SEH_MAX];
	size_t nseh;
	size_t budget; /* words a scan may still look at */
} walk;

static bool rd32(walk *w, uint64_t addr, uint64_t *v)
{
	uint8_t b[4];
	if (addr > UINT32_MAX - 3 || vm_read_full(w->t, addr, b, 4) < 0)
		return false;
	*v = ld_le32(b);
	return true;
}

/* where a return address may point: an image's committed code (unknown
 * protection, a dump without a memory info list, may be code) */
static bool in_code(walk *w, uint64_t addr)
{
	const vm_region *r = vm_map_region_at(w->m, addr);
	if (!vm_map_module_at(w->m, addr) || !r || r->state != VM_STATE_COMMIT)
		return false;
	return (r->flags & VM_RF_PROT_UNKNOWN) || (r->prot & VM_PROT_EXEC) || !(r->prot & VM_PROT_WRITE);
}

/* a return address: in code, and (when the bytes before it can be read)
 * just after one of the forms of call: c[k] is the byte at ret-7+k */
static ret_kind ret_check(walk *w, uint64_t ret)
{
	uint8_t c[7];
	if (ret < 7 || ret > UINT32_MAX || !in_code(w, ret))
		return RET_NO;
	if (vm_read_full(w->t, ret - 7, c, 7) < 0)
		return RET_MODULE;
	if (c[2] == 0xe8)                                              /* call rel32 */
		return RET_CALL;
	if (c[5] == 0xff && ((c[6] & 0xf8) == 0xd0 ||                  /* call reg */
			     ((c[6] & 0xf8) == 0x10 && (c[6] & 7) != 4 && (c[6] & 7) != 5))) /* call [reg] */
		return RET_CALL;
	if (c[4] == 0xff && (((c[5] & 0xf8) == 0x50 && (c[5] & 7) != 4) || c[5] == 0x14)) /* [reg+d8], [sib] */
		return RET_CALL;
	if (c[3] == 0xff && c[4] == 0x54)                              /* call [sib+d8] */
		return RET_CALL;
	if (c[1] == 0xff && (c[2] == 0x15 || ((c[2] & 0xf8) == 0x90 && (c[2] & 7) != 4))) /* [abs32], [reg+d32] */
		return RET_CALL;
	if (c[0] == 0xff && c[1] == 0x94)                              /* call [sib+d32] */
		return RET_CALL;
	return RET_NO;
}

/* the target of the direct call just before ret, 0 when it is not one */
static uint64_t call_target(walk *w, uint64_t ret)
{
	uint8_t c[5];
	if (vm_read_full(w->t, ret - 5, c, 5) < 0 || c[0] != 0xe8)
		return 0;
	return (ret + (uint64_t)(int64_t)(int32_t)ld_le32(c + 1)) & 0xffffffffu;
}

static void push(vm_frame **f, size_t *n, size_t *cap, uint64_t pc, uint64_t sp, const char *how)
{
	vm_frame *z = ARRAY_PUSH(*f, *n, *cap);
	*z = (vm_frame){ pc, sp, true, false, how };
}

/* where the call before ret went, when it says: a direct call's target,
 * or the pointer an absolute indirect one reads (an import's IAT slot) */
static bool call_dest(walk *w, uint64_t ret, uint64_t *dest)
{
	uint8_t c[6];
	if (vm_read_full(w->t, ret - 6, c, 6) < 0)
		return false;
	if (c[1] == 0xe8) {
		*dest = (ret + (uint64_t)(int64_t)(int32_t)ld_le32(c + 2)) & 0xffffffffu;
		return true;
	}
	return c[0] == 0xff && c[1] == 0x15 && rd32(w, ld_le32(c + 2), dest);
}

/* can ret be the return address of a call into the function holding pc?
 * When the call says where it went (directly, or through an IAT slot or
 * a jmp [mem] thunk, Wine's hot-patchable ones too, whose pointer the
 * dump holds), that is pc's module,
 * at most 64 KiB before pc (a function's start); a thunk whose pointer
 * is not there went to another module than the caller's. A stale word,
 * left by an earlier call the function made, fails this as a rule. An
 * indirect call through a register may be anything. */
typedef enum { CALL_NO, CALL_UNKNOWN, CALL_YES } call_kind;

static call_kind calls_into(walk *w, uint64_t ret, uint64_t pc)
{
	const vm_module *here = vm_map_module_at(w->m, pc);
	uint64_t dest, real;
	uint8_t j[12];
	/* Wine's i386 thunks of forwarded functions are hot-patchable: mov
	   edi,edi; push ebp; mov ebp,esp; pop ebp; then the jmp [mem] */
	static const uint8_t hotpatch[6] = { 0x8b, 0xff, 0x55, 0x8b, 0xec, 0x5d };
	if (!here || !call_dest(w, ret, &dest))
		return CALL_UNKNOWN;
	size_t at = vm_read_full(w->t, dest, j, 12) == 0 && !memcmp(j, hotpatch, 6) ? 6 : 0;
	if ((at || vm_read_full(w->t, dest, j, 6) == 0) && j[at] == 0xff && j[at + 1] == 0x25) {
		if (!rd32(w, ld_le32(j + at + 2), &real))
			return vm_map_module_at(w->m, ret) != here ? CALL_YES : CALL_NO;
		dest = real;
	}
	return vm_map_module_at(w->m, dest) == here && dest <= pc && pc - dest < 0x10000 ? CALL_YES : CALL_NO;
}

/* the first word from sp up to end (0: no end), that is a return address
 * with its call decoded, into the function holding pc (at least as sure
 * as least); skip only if that is sure and recursion is allowed (not
 * between a frame-pointer frame and its ebp, where a copy of its own
 * return address is a realigned frame's, Wine's WaitForSingleObject's);
 * *slot is where it lies */
static uint64_t scan(walk *w, uint64_t sp, uint64_t end, uint64_t pc, call_kind least, uint64_t skip,
		     bool recursion, uint64_t *slot)
{
	size_t words = SCAN_WORDS < w->budget ? SCAN_WORDS : w->budget;
	if (end) {
		if (sp >= end)
			return 0;
		if ((end - sp) / 4 < words)
			words = (size_t)((end - sp) / 4);
	}
	uint8_t *buf = xmalloc(words * 4 + 1);
	ssize_t got = vm_read(w->t, sp, buf, words * 4);
	size_t n = got > 0 ? (size_t)got / 4 : 0;
	uint64_t found = 0;
	if (!words) {
		free(buf);
		return 0;
	}
	size_t i = 0;
	for (; i < n && !found; i++) {
		uint64_t v = ld_le32(buf + 4 * i);
		call_kind k;
		if (ret_check(w, v) != RET_CALL || (k = calls_into(w, v, pc)) < least)
			continue;
		/* pc's own return address again: recursion where the call went
		   to pc's function for sure; else a stale copy (a system call
		   stub's, or one a prolog realigning the stack made) */
		if (v != skip || (k == CALL_YES && recursion)) {
			found = v;
			*slot = sp + 4 * i;
		}
	}
	w->budget -= i < w->budget ? i : w->budget;
	free(buf);
	return found;
}

/* the frame of the lowest SEH record at or above sp that sits in one:
 * MSVC keeps the registration at ebp-0x10 (SEH, _except_handler3/4) or
 * ebp-0xc (C++ EH); the frame's saved ebp is 0 or further up the stack,
 * and its return address in code */
static bool seh_step(walk *w, uint64_t sp, uint64_t *ebp, uint64_t *ret)
{
	static const unsigned at[] = { 0x10, 0xc };
	for (size_t i = 0; i < w->nseh; i++) {
		for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
			uint64_t fp = w->seh[i].addr + at[k], saved, r;
			if (w->seh[i].addr < sp || (w->stack_end && fp + 8 > w->stack_end))
				continue;
			if (!rd32(w, fp, &saved) || (saved && (saved <= fp || (w->stack_end && saved >= w->stack_end))))
				continue;
			if (rd32(w, fp + 4, &r) && ret_check(w, r) != RET_NO) {
				*ebp = fp;
				*ret = r;
				return true;
			}
		}
	}
	return false;
}

/* a leaf or a function stopped in its prolog has no frame yet: its
 * return address is among the first words at sp, after a direct call to
 * somewhere at most 64 KiB before pc */
static uint64_t leaf_caller(walk *w, uint64_t pc, uint64_t sp, uint64_t *slot)
{
	for (unsigned k = 0; k < 4; k++) {
		uint64_t ret, target;
		if (!rd32(w, sp + 4 * k, &ret) || ret_check(w, ret) != RET_CALL)
			continue;
		target = call_target(w, ret);
		if (target && target <= pc && pc - target < 0x10000) {
			*slot = sp + 4 * k;
			return ret;
		}
	}
	return 0;
}

static uint64_t reg_of(const vm_thread *th, const char *name, uint64_t dflt)
{
	for (size_t i = 0; i < th->nregs; i++)
		if (!strcmp(th->regs[i].name, name))
			return th->regs[i].value;
	return dflt;
}

void x86_unwind_thread(const vm_map *m, vm_target *t, const vm_thread *th, size_t max, vm_frame **out, size_t *n,
		       const char **note)
{
	walk *w = xcalloc(1, sizeof *w);
	w->m = m;
	w->t = t;
	w->stack_end = th->stack_size ? th->stack_base + th->stack_size : 0;
	w->budget = SCAN_BUDGET;
	bool ended;
	w->nseh = vm_seh_chain_find(m, t, th, w->seh, SEH_MAX, &ended, NULL);
	vm_frame *f = NULL;
	size_t nf = 0, cap = 0;
	uint64_t pc = th->pc, sp = th->sp, ebp = reg_of(th, "ebp", th->fp), slot, ret;
	*note = NULL;
	push(&f, &nf, &cap, pc, sp, "registers");
	if (max > 1 && (ret = leaf_caller(w, pc, sp, &slot)) != 0) {
		uint64_t first = 0;
		bool chained = ebp >= sp && rd32(w, ebp + 4, &first);
		if (!chained || (first != ret && slot < ebp)) {
			push(&f, &nf, &cap, ret, slot + 4, "scan");
			sp = slot + 4;
		}
	}
	while (nf < max) {
		uint64_t next = 0, nsp = 0;
		const char *how = NULL;
		const vm_frame *cur = &f[nf - 1];
		uint64_t skip = cur->pc, end = w->stack_end;
		ret = 0;
		/* any function may keep no frame pointer (FPO): ebp is then an
		   outer frame's, and a return address below it comes first, if
		   its call surely went to this function (frame 0, a system call
		   stub's caller, may have called it through a register). After
		   a frame-pointer step too: the saved ebp it gives is the
		   caller's ebp, an outer frame's when the caller keeps none */
		bool first = !strcmp(cur->method, "registers");
		bool after_fp = !strcmp(cur->method, "fp");
		if (strcmp(cur->method, "seh") != 0 && ebp > sp &&
		    (ret = scan(w, sp, ebp, cur->pc, first ? CALL_UNKNOWN : CALL_YES, skip, !after_fp, &slot)) != 0) {
			how = "scan";
			nsp = slot + 4;
			next = ebp;
		}
		if (!how && ebp >= sp && ebp % 4 == 0 && (!w->stack_end || ebp + 8 <= w->stack_end) && rd32(w, ebp, &next) &&
		    rd32(w, ebp + 4, &ret)) {
			if (ret == 0 && next == 0)
				break; /* the chain's own end (the thread's first frame) */
			/* ebp may be an outer frame's, kept through FPO frames */
			if (ret_check(w, ret) != RET_NO && calls_into(w, ret, cur->pc) != CALL_NO) {
				how = "fp";
				nsp = ebp + 8;
			}
		}
		if (!how && (ret = scan(w, sp, end, cur->pc, CALL_UNKNOWN, skip, true, &slot)) != 0) {
			how = "scan";
			nsp = slot + 4;
			next = ebp; /* an FPO frame leaves ebp to a caller */
		}
		if (!how && seh_step(w, sp, &ebp, &ret) && rd32(w, ebp, &next)) {
			how = "seh";
			nsp = ebp + 8;
		}
		if (!how) {
			*note = "no frame pointer, SEH record or return address on the stack leads further";
			break;
		}
		if (nsp <= sp || (w->stack_end && nsp > w->stack_end)) {
			*note = "the unwound stack pointer does not go up the stack";
			break;
		}
		push(&f, &nf, &cap, ret, nsp, how);
		sp = nsp;
		ebp = next;
	}
	free(w);
	*out = f;
	*n = nf;
}
