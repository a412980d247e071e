/* x64 Windows call stacks from the images' exception directories
 * (.pdata): RUNTIME_FUNCTION -> UNWIND_INFO, its unwind codes undone one
 * by one (pushes, stack allocations, the frame register, saved
 * registers, machine frames), chained infos followed, an epilog at the
 * exact pc interpreted; a function without an entry is a leaf. Where no
 * image describes the code, frame pointers are followed, then the stack
 * is scanned for a return address (a word pointing just after a call
 * into an image), and each frame says how it was found. What
 * RtlVirtualUnwind does, read from a dump's memory (else the image on
 * disk), every read checked. */
#include "pe_unwind.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/util.h"
#include "symbols/pe_syms.h"
#include "vmatlas/pe.h"

#define MAX_FUNCTIONS (1u << 22)
#define MAX_CHAIN 32
#define SCAN_WORDS 8192 /* how far up the stack a scan looks: 64 KiB */
#define SCAN_BUDGET (1u << 17) /* words scanned for one thread in all */

enum { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI, R_R8, R_NREGS = 16 };

typedef struct rt_fn {
	uint32_t begin, end, info;
} rt_fn;

typedef struct umod {
	bool tried, have_mem, have_file;
	pe_image mem, file;
	int fd;
	rt_fn *fn;
	size_t n;
} umod;

struct pe_unwind {
	const vm_map *m;
	vm_target *t;
	umod *mods;
};

pe_unwind *pe_unwind_new(const vm_map *m, vm_target *t)
{
	pe_unwind *u = xcalloc(1, sizeof *u);
	u->m = m;
	u->t = t;
	u->mods = xcalloc(m->nmodules ? m->nmodules : 1, sizeof *u->mods);
	return u;
}

void pe_unwind_free(pe_unwind *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->m->nmodules; i++) {
		umod *x = &u->mods[i];
		if (x->have_mem)
			pe_close_module_memory(&x->mem);
		if (x->have_file) {
			pe_close(&x->file);
			close(x->fd);
		}
		free(x->fn);
	}
	free(u->mods);
	free(u);
}

static int cmp_fn(const void *a, const void *b)
{
	const rt_fn *x = a, *y = b;
	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int mod_read(const umod *x, uint32_t rva, void *buf, size_t len)
{
	if (x->have_mem && pe_read_rva(&x->mem, rva, buf, len) == 0)
		return 0;
	if (x->have_file && pe_read_rva(&x->file, rva, buf, len) == 0)
		return 0;
	return -1;
}

/* the module's sorted RUNTIME_FUNCTIONs, from memory else its file */
static bool read_table(umod *x, const pe_image *pe)
{
	const pe_dir *d = &pe->dirs[PE_DIR_EXCEPTION];
	if (!d->rva || d->size < 12 || pe->machine != 0x8664)
		return false;
	size_t n = d->size / 12;
	if (n > MAX_FUNCTIONS)
		n = MAX_FUNCTIONS;
	uint8_t *raw = xmalloc(n * 12);
	if (pe_read_rva(pe, d->rva, raw, n * 12) < 0) {
		free(raw);
		return false;
	}
	x->fn = xcalloc(n, sizeof *x->fn);
	for (size_t i = 0; i < n; i++) {
		rt_fn f = { ld_le32(raw + 12 * i), ld_le32(raw + 12 * i + 4), ld_le32(raw + 12 * i + 8) };
		if (f.begin < f.end && f.end <= pe->size_image)
			x->fn[x->n++] = f;
	}
	free(raw);
	if (x->n > 1)
		qsort(x->fn, x->n, sizeof *x->fn, cmp_fn);
	return x->n > 0;
}

static umod *module_of(pe_unwind *u, uint64_t pc, uint64_t *base)
{
	const vm_module *mod = vm_map_module_at(u->m, pc);
	if (!mod || !mod->format || strcmp(mod->format, "pe") != 0 || mod->data_copy)
		return NULL;
	umod *x = &u->mods[mod - u->m->modules];
	*base = mod->base;
	if (!x->tried) {
		x->tried = true;
		x->have_mem = pe_open_module_memory(u->t, mod->base, &x->mem) == 0;
		if (!(x->have_mem && read_table(x, &x->mem))) {
			x->have_file = pe_open_module_file(mod->path, mod->size, &x->file, &x->fd) == 0;
			/* only the very image: its header in memory must agree */
			if (x->have_file && x->have_mem &&
			    (x->file.timestamp != x->mem.timestamp || x->file.size_image != x->mem.size_image)) {
				pe_close(&x->file);
				close(x->fd);
				x->have_file = false;
			}
			if (x->have_file) {
				free(x->fn);
				x->fn = NULL;
				x->n = 0;
				read_table(x, &x->file);
			}
		}
	}
	return x;
}

static const rt_fn *find_fn(const umod *x, uint32_t rva)
{
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->fn[mid].begin <= rva)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && rva < x->fn[lo - 1].end ? &x->fn[lo - 1] : NULL;
}

/* ---- the context ---- */

typedef struct ctx {
	uint64_t r[R_NREGS];
	uint64_t rip;
} ctx;

static bool rd64(pe_unwind *u, uint64_t addr, uint64_t *v)
{
	uint8_t b[8];
	if (vm_read_full(u->t, addr, b, 8) < 0)
		return false;
	*v = ld_le64(b);
	return true;
}

/* ---- epilogs (the pc exact: the first frame, or after a trap) ---- */

static bool is_epilog(const uint8_t *c, size_t len, uint64_t pc, uint64_t fbegin, uint64_t fend)
{
	size_t i = 0;
	if (len < 16)
		return false;
	if ((c[0] & 0xf8) == 0x48) {
		if (c[1] == 0x81 && c[0] == 0x48 && c[2] == 0xc4)
			i = 7;
		else if (c[1] == 0x83 && c[0] == 0x48 && c[2] == 0xc4)
			i = 4;
		else if (c[1] == 0x8d && !(c[0] & 0x06) && ((c[2] >> 3) & 7) == 4 && (c[2] & 7) != 4 &&
			 ((c[2] >> 6) == 1 || (c[2] >> 6) == 2))
			i = (c[2] >> 6) == 1 ? 4 : 7;
		else if (c[1] == 0x81 || c[1] == 0x83 || c[1] == 0x8d)
			return false;
	}
	while (i + 6 < len) {
		if ((c[i] & 0xf0) == 0x40)
			i++;
		uint8_t op = c[i];
		if (op >= 0x58 && op <= 0x5f) {
			i++;
			continue;
		}
		if (op == 0xc2 || op == 0xc3)
			return true;
		if (op == 0xf3)
			return c[i + 1] == 0xc3;
		if (op == 0xe9 || op == 0xeb) { /* a tail jump out of the function */
			int64_t rel = op == 0xe9 ? (int32_t)ld_le32(c + i + 1) : (int8_t)c[i + 1];
			uint64_t next = pc + i + (op == 0xe9 ? 5 : 2), target = next + (uint64_t)rel;
			return target < fbegin || target >= fend;
		}
		if (op == 0xff)
			return c[i + 1] == 0x25;
		return false;
	}
	return false;
}

static bool run_epilog(pe_unwind *u, const uint8_t *c, size_t len, ctx *x)
{
	size_t i = 0;
	if ((c[0] & 0xf8) == 0x48) {
		if (c[1] == 0x81) {
			x->r[R_RSP] += (uint64_t)(int64_t)(int32_t)ld_le32(c + 3);
			i = 7;
		} else if (c[1] == 0x83) {
			x->r[R_RSP] += (uint64_t)(int64_t)(int8_t)c[3];
			i = 4;
		} else if (c[1] == 0x8d) {
			unsigned reg = (c[2] & 7u) + (c[0] & 1u) * 8;
			if ((c[2] >> 6) == 1) {
				x->r[R_RSP] = x->r[reg] + (uint64_t)(int64_t)(int8_t)c[3];
				i = 4;
			} else {
				x->r[R_RSP] = x->r[reg] + (uint64_t)(int64_t)(int32_t)ld_le32(c + 3);
				i = 7;
			}
		}
	}
	while (i + 3 < len) { /* an opcode and ret's 16-bit operand */
		unsigned rex_b = 0;
		if ((c[i] & 0xf0) == 0x40)
			rex_b = c[i++] & 1u;
		uint8_t op = c[i];
		if (op >= 0x58 && op <= 0x5f) {
			if (!rd64(u, x->r[R_RSP], &x->r[(op - 0x58u) + rex_b * 8]))
				return false;
			x->r[R_RSP] += 8;
			i++;
			continue;
		}
		if (!rd64(u, x->r[R_RSP], &x->rip))
			return false;
		x->r[R_RSP] += 8;
		if (op == 0xc2)
			x->r[R_RSP] += ld_le16(c + i + 1);
		return true;
	}
	return false;
}

/* ---- one step of RtlVirtualUnwind ---- */

static unsigned code_slots(unsigned op, unsigned info)
{
	switch (op) {
	case 0: case 2: case 3: case 10: return 1;  /* PUSH_NONVOL, ALLOC_SMALL, SET_FPREG, PUSH_MACHFRAME */
	case 1: return info ? 3 : 2;                /* ALLOC_LARGE */
	case 4: case 6: case 8: return 2;           /* SAVE_NONVOL, EPILOG (v2) / SAVE_XMM (v1), SAVE_XMM128 */
	case 5: case 7: case 9: return 3;           /* SAVE_NONVOL_FAR, SAVE_XMM_FAR, SAVE_XMM128_FAR */
	default: return 0;
	}
}

typedef enum step_result { STEP_OK, STEP_NOINFO, STEP_BAD } step_result;

/* unwind x by one frame; *trap: the new pc is exact (a machine frame) */
static step_result pdata_step(pe_unwind *u, ctx *x, bool exact, bool *trap)
{
	uint64_t base;
	*trap = false;
	umod *m = module_of(u, x->rip, &base);
	if (!m || (!m->n && !m->have_mem && !m->have_file))
		return STEP_NOINFO;
	if (!m->n)
		return STEP_NOINFO; /* an image with no .pdata we can read */
	uint64_t off = x->rip - base;
	if (off > UINT32_MAX)
		return STEP_BAD;
	uint32_t rva = (uint32_t)off;
	const rt_fn *f = find_fn(m, exact || rva == 0 ? rva : rva - 1);
	if (!f) { /* a leaf: the return address is at rsp */
		if (!rd64(u, x->r[R_RSP], &x->rip))
			return STEP_BAD;
		x->r[R_RSP] += 8;
		return STEP_OK;
	}
	rt_fn cur = *f;
	bool first = true;
	for (int hop = 0; hop < MAX_CHAIN; hop++) {
		uint32_t at = cur.info;
		if (at & 1) { /* an indirect entry: the RUNTIME_FUNCTION it names */
			uint8_t rf[12];
			if (mod_read(m, at & ~1u, rf, 12) < 0)
				return STEP_BAD;
			cur = (rt_fn){ ld_le32(rf), ld_le32(rf + 4), ld_le32(rf + 8) };
			continue;
		}
		uint8_t h[4];
		if (mod_read(m, at, h, 4) < 0)
			return STEP_BAD;
		unsigned version = h[0] & 7u, flags = h[0] >> 3, prolog = h[1], count = h[2];
		unsigned freg = h[3] & 15u, foff = h[3] >> 4;
		if (version != 1 && version != 2)
			return STEP_BAD;
		uint8_t codes[2 * 256 + 12];
		size_t clen = 2 * (size_t)((count + 1) & ~1u) + ((flags & 4u) ? 12 : 0);
		if (clen && mod_read(m, at + 4, codes, clen) < 0)
			return STEP_BAD;
		uint32_t in_fn = rva - cur.begin;
		/* only the function the pc is in can be in its prolog; a
		 * chained-to parent's prolog has run whole */
		uint32_t prolog_off = first && rva >= cur.begin && in_fn < prolog ? in_fn : UINT32_MAX;
		if (first && exact && prolog_off == UINT32_MAX && count) {
			uint8_t c[32];
			if (vm_read_full(u->t, x->rip, c, sizeof c) == 0 &&
			    is_epilog(c, sizeof c, x->rip, base + f->begin, base + f->end))
				return run_epilog(u, c, sizeof c, x) ? STEP_OK : STEP_BAD;
		}
		/* the frame base: the frame register once it was set */
		uint64_t frame = x->r[R_RSP];
		if (freg) {
			for (unsigned i = 0; i < count;) {
				unsigned op = codes[2 * i + 1] & 15u, n = code_slots(op, codes[2 * i + 1] >> 4);
				if (!n)
					return STEP_BAD;
				if (op == 3 && prolog_off >= codes[2 * i])
					frame = x->r[freg] - 16u * foff;
				i += n;
			}
		}
		for (unsigned i = 0; i < count;) {
			unsigned cofs = codes[2 * i], op = codes[2 * i + 1] & 15u, info = codes[2 * i + 1] >> 4;
			unsigned n = code_slots(op, info);
			if (!n || i + n > count)
				return STEP_BAD;
			const uint8_t *arg = codes + 2 * (i + 1);
			i += n;
			if (prolog_off < cofs)
				continue; /* not done yet when the pc got there */
			switch (op) {
			case 0: /* push reg */
				if (!rd64(u, x->r[R_RSP], &x->r[info]))
					return STEP_BAD;
				x->r[R_RSP] += 8;
				break;
			case 1: /* sub rsp, large */
				x->r[R_RSP] += info ? ld_le32(arg) : 8u * ld_le16(arg);
				break;
			case 2: /* sub rsp, small */
				x->r[R_RSP] += 8u * info + 8;
				break;
			case 3: /* lea framereg, [rsp + off] */
				x->r[R_RSP] = frame;
				break;
			case 4: /* mov [frame + off*8], reg */
				if (!rd64(u, frame + 8u * ld_le16(arg), &x->r[info]))
					return STEP_BAD;
				break;
			case 5: /* mov [frame + off], reg */
				if (!rd64(u, frame + ld_le32(arg), &x->r[info]))
					return STEP_BAD;
				break;
			case 10: { /* a machine frame: the CPU pushed ss, rsp, eflags, cs, rip (and an error code) */
				uint64_t at_rsp = x->r[R_RSP] + (info ? 8 : 0), rip, rsp;
				if (!rd64(u, at_rsp, &rip) || !rd64(u, at_rsp + 24, &rsp))
					return STEP_BAD;
				x->rip = rip;
				x->r[R_RSP] = rsp;
				*trap = true;
				return STEP_OK;
			}
			default: /* xmm saves, v2 epilog markers: nothing integer to undo */
				break;
			}
		}
		if (!(flags & 4u)) /* UNW_FLAG_CHAININFO */
			break;
		const uint8_t *c = codes + 2 * (size_t)((count + 1) & ~1u);
		cur = (rt_fn){ ld_le32(c), ld_le32(c + 4), ld_le32(c + 8) };
		first = false;
		if (hop == MAX_CHAIN - 1)
			return STEP_BAD;
	}
	if (!rd64(u, x->r[R_RSP], &x->rip))
		return STEP_BAD;
	x->r[R_RSP] += 8;
	return STEP_OK;
}

/* ---- without unwind information ---- */

static bool in_code(pe_unwind *u, uint64_t addr)
{
	const vm_module *mod = vm_map_module_at(u->m, addr);
	const vm_region *r = vm_map_region_at(u->m, addr);
	if (!mod || !r || r->state != VM_STATE_COMMIT)
		return false;
	/* unknown protection (a dump without a memory info list) may be code */
	return (r->prot & VM_PROT_EXEC) || !(r->prot & VM_PROT_WRITE);
}

/* a return address: in an image's code, just after a call */
static bool after_call(pe_unwind *u, uint64_t ret)
{
	uint8_t c[8];
	if (ret < 8 || !in_code(u, ret) || vm_read_full(u->t, ret - 8, c, 8) < 0)
		return false;
	if (c[3] == 0xe8) /* call rel32 */
		return true;
	if (c[6] == 0xff && ((c[7] >> 3) & 7) == 2) /* call reg */
		return true;
	if (c[5] == 0xff && ((c[6] >> 3) & 7) == 2) /* call [reg+d8] */
		return true;
	if (c[2] == 0xff && ((c[3] >> 3) & 7) == 2) /* call [rip+d32] / [reg+d32] */
		return true;
	if (c[1] == 0xff && ((c[2] >> 3) & 7) == 2) /* with a SIB byte */
		return true;
	return false;
}

static bool fp_step(pe_unwind *u, ctx *x, uint64_t stack_end)
{
	uint64_t fp = x->r[R_RBP], next, ret;
	if (fp < x->r[R_RSP] || fp % 8 || (stack_end && fp + 16 > stack_end))
		return false;
	if (!rd64(u, fp, &next) || !rd64(u, fp + 8, &ret) || !after_call(u, ret))
		return false;
	x->rip = ret;
	x->r[R_RSP] = fp + 16;
	x->r[R_RBP] = next;
	return true;
}

/* the first word up the stack from rsp that is a return address; at
 * most SCAN_WORDS of them, and *budget in all for the thread */
static bool scan_step(pe_unwind *u, ctx *x, uint64_t stack_end, unsigned *budget)
{
	uint64_t at = x->r[R_RSP];
	size_t words = SCAN_WORDS < *budget ? SCAN_WORDS : *budget;
	if (stack_end) {
		if (at >= stack_end)
			return false;
		if ((stack_end - at) / 8 < words)
			words = (size_t)((stack_end - at) / 8);
	}
	if (!words)
		return false;
	uint8_t *buf = xmalloc(words * 8);
	ssize_t got = vm_read(u->t, at, buf, words * 8);
	size_t n = got > 0 ? (size_t)got / 8 : 0;
	*budget -= (unsigned)n;
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		uint64_t w = ld_le64(buf + 8 * i);
		if (after_call(u, w)) {
			x->rip = w;
			x->r[R_RSP] = at + 8 * i + 8;
			found = true;
			break;
		}
	}
	free(buf);
	return found;
}

static uint64_t reg_of(const vm_thread *th, const char *name)
{
	for (size_t i = 0; i < th->nregs; i++)
		if (strcmp(th->regs[i].name, name) == 0)
			return th->regs[i].value;
	return 0;
}

void pe_unwind_thread(pe_unwind *u, const vm_thread *th, size_t max, vm_frame **out, size_t *n,
		      const char **note)
{
	static const char *names[R_NREGS] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					      "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
	ctx x;
	for (int i = 0; i < R_NREGS; i++)
		x.r[i] = reg_of(th, names[i]);
	x.rip = th->pc;
	x.r[R_RSP] = th->sp;
	uint64_t stack_end = th->stack_size ? th->stack_base + th->stack_size : 0;
	vm_frame *f = NULL;
	size_t nf = 0, cap = 0;
	*note = NULL;
	vm_frame *z = ARRAY_PUSH(f, nf, cap);
	*z = (vm_frame){ x.rip, x.r[R_RSP], true, false, "registers" };
	bool exact = true;
	unsigned budget = SCAN_BUDGET;
	while (nf < max) {
		ctx before = x;
		bool trap = false;
		const char *how = "pdata";
		step_result r = pdata_step(u, &x, exact, &trap);
		if (r != STEP_OK) {
			x = before;
			if (fp_step(u, &x, stack_end)) {
				how = "fp";
			} else {
				x = before;
				if (!scan_step(u, &x, stack_end, &budget)) {
					*note = r == STEP_BAD ? "the unwind information or the stack is unreadable"
							      : "no unwind information for the code, nor a return address "
								"on the stack";
					break;
				}
				how = "scan";
			}
		}
		if (x.rip == 0)
			break; /* the outermost frame */
		if (x.r[R_RSP] <= before.r[R_RSP] || (stack_end && x.r[R_RSP] > stack_end)) {
			*note = "the unwound stack pointer does not go up the stack";
			break;
		}
		z = ARRAY_PUSH(f, nf, cap);
		*z = (vm_frame){ x.rip, x.r[R_RSP], true, trap, how };
		exact = trap;
	}
	*out = f;
	*n = nf;
}
