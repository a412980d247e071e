/* Memory breakpoints on any range (bpm): a debug register where the
 * range is one slot a free one fits, else page protection. Pages and
 * breakpoints are many-to-many: each page under an enabled breakpoint
 * keeps its original protection and gets the weakest its breakpoints need
 * (write: no PROT_WRITE; read or rw: none; exec: no PROT_EXEC; --guard:
 * a guard page, where the target has them); a page
 * with no breakpoint left gets its original back. A SIGSEGV (SEGV_ACCERR)
 * on such a page is decoded with Zydis (operand actions, sizes, the
 * effective addresses from the registers; REP string instructions as
 * their whole range): an access of the kind watched that touches a range
 * is a hit. Either way the pages the instruction touches get their
 * original protection, the thread alone runs the instruction (every
 * other thread held), and the pages are protected again: the program sees
 * no fault. The first change of a page is journaled (VM_CTL_RESTORE):
 * closing, or vmatlas dying of a signal, puts the original back. */
#include "dbg.h"

#include <Zydis/Zydis.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define PAGE 4096u

static dbg_page *page_at(vm_dbg *d, uint64_t pg)
{
	for (size_t i = 0; i < d->npages; i++)
		if (d->pages[i].addr == pg)
			return &d->pages[i];
	return NULL;
}

dbg_page *dbg_bpm_page(vm_dbg *d, uint64_t pg)
{
	return page_at(d, pg);
}

static unsigned need(vm_dbg *d, uint64_t pg, unsigned orig)
{
	unsigned want = orig;
	for (size_t i = 0; i < d->nbps; i++) {
		const dbg_bp *b = &d->bps[i];
		if (b->kind != VM_BP_MEM || b->uffd || !b->enabled || b->addr >= pg + PAGE || b->addr + b->mlen <= pg)
			continue;
		if (b->guard) { /* any access faults once: the kind is decoded */
			want |= VM_PROT_GUARD;
			continue;
		}
		if (b->access & VM_BPM_READ)
			want &= ~(VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC);
		if (b->access & VM_BPM_WRITE)
			want &= ~VM_PROT_WRITE;
		if (b->access & VM_BPM_EXEC)
			want &= ~VM_PROT_EXEC;
	}
	return want;
}

static int set_prot(vm_dbg *d, dbg_page *p, unsigned prot)
{
	if (!d->alive)
		return 0;
	if (vm_control_protect(d->c, p->addr, PAGE, prot, p->journaled ? 0 : VM_CTL_RESTORE) < 0)
		return -1;
	p->journaled = true;
	return 0;
}

unsigned dbg_bpm_need(vm_dbg *d, const dbg_page *p)
{
	return need(d, p->addr, p->orig);
}

void dbg_bpm_sync(vm_dbg *d)
{
	for (size_t i = 0; i < d->npages;) {
		dbg_page *p = &d->pages[i];
		unsigned want = need(d, p->addr, p->orig);
		if (want != p->cur && set_prot(d, p, want) == 0)
			p->cur = want;
		bool used = false;
		for (size_t k = 0; k < d->nbps && !used; k++)
			used = d->bps[k].kind == VM_BP_MEM && !d->bps[k].uffd && d->bps[k].addr < p->addr + PAGE &&
			       d->bps[k].addr + d->bps[k].mlen > p->addr;
		if (!used && p->cur == p->orig)
			d->pages[i] = d->pages[--d->npages];
		else
			i++;
	}
	dbg_bpm_uffd_sync(d);
	dbg_bpm_watch_syscalls(d);
	dbg_bpm_publish(d);
}

void dbg_bpm_forget(vm_dbg *d)
{
	d->npages = 0;
	free(d->blk_mem);
	d->blk_mem = NULL;
	d->blk_n = 0;
	d->blk_tid = 0;
	d->blk_lifted = false;
	d->bx.nwp = 0; /* the old program's: its mm is gone */
	dbg_bpm_publish(d);
	dbg_bpm_watch_syscalls(d);
}

/* [a, a+n) is gone (unmapped, its module unloaded): its pages are
 * forgotten, their protections not put back (nor journaled any more) */
void dbg_bpm_drop_pages(vm_dbg *d, uint64_t a, uint64_t n)
{
	for (size_t i = 0; i < d->npages;) {
		dbg_page *p = &d->pages[i];
		if (p->addr < a + n && p->addr + PAGE > a) {
			vm_control_update_saved_prot(d->c, p->addr, PAGE, -1);
			*p = d->pages[--d->npages];
		} else {
			i++;
		}
	}
}

/* the region under pg as the map says (rebuilt once if it is not there) */
static const vm_region *region_of(vm_dbg *d, uint64_t pg)
{
	const vm_region *r = d->m ? vm_map_region_at(d->m, pg) : NULL;
	if (!r || r->state != VM_STATE_COMMIT) {
		dbg_rebuild_map(d, false);
		r = d->m ? vm_map_region_at(d->m, pg) : NULL;
	}
	return r;
}

static int add_pages(vm_dbg *d, uint64_t addr, uint64_t len)
{
	for (uint64_t pg = addr / PAGE * PAGE; pg < addr + len; pg += PAGE) {
		if (page_at(d, pg))
			continue;
		const vm_region *r = region_of(d, pg);
		if (!r || r->state != VM_STATE_COMMIT) {
			vm_seterr("0x%llx is not mapped: no memory breakpoint there", (unsigned long long)pg);
			return -1;
		}
		if (r->path && (!strcmp(r->path, "[vdso]") || !strcmp(r->path, "[vsyscall]") ||
				!strcmp(r->path, "[vvar]") || !strncmp(r->path, "[vvar", 5))) {
			vm_seterr("0x%llx is in %s, whose protection cannot be changed: no memory breakpoint there",
				  (unsigned long long)pg, r->path);
			return -1;
		}
		dbg_page *p = ARRAY_PUSH(d->pages, d->npages, d->pagecap);
		p->addr = pg;
		p->orig = p->cur = r->prot & (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC);
		p->journaled = false;
	}
	return 0;
}

/* one aligned 1/2/4/8 slot and a free debug register: the DR way */
static bool fits_dr(vm_dbg *d, int access, uint64_t addr, uint64_t len)
{
	if (access == VM_BPM_READ || (len != 1 && len != 2 && len != 4 && len != 8) || addr % len)
		return false;
	if (access == VM_BPM_EXEC && len != 1)
		return false;
	int used = 0;
	for (size_t i = 0; i < d->nbps; i++)
		if (d->bps[i].kind == VM_BP_WATCH && d->bps[i].slot >= 0)
			used++;
	return used < 4;
}

int vm_dbg_bpm(vm_dbg *d, int access, const char *expr, uint64_t len, const vm_bp_spec *s, int *id)
{
	uint64_t addr;
	if (!d->alive) {
		vm_seterr("the process has exited");
		return -1;
	}
	if (access != VM_BPM_READ && access != VM_BPM_WRITE && access != VM_BPM_RW && access != VM_BPM_EXEC) {
		vm_seterr("a memory breakpoint is r, w, rw or x");
		return -1;
	}
	if (!len || len > (1ull << 32)) {
		vm_seterr("a memory breakpoint's length is 1 to 4G bytes, not %llu", (unsigned long long)len);
		return -1;
	}
	if (vm_dbg_eval(d, expr, &addr) < 0)
		return -1;
	if (addr + len < addr) {
		vm_seterr("the range wraps around the address space");
		return -1;
	}
	if (s && s->uffd)
	{
		int rc = dbg_bpm_uffd_add(d, access, addr, len, expr, s, id);
		if (rc == 0)
			dbg_bpm_watch_syscalls(d); /* a read() there would fail too */
		return rc;
	}
	if (!(s && s->pages) && fits_dr(d, access, addr, len)) {
		vm_bp_spec w = s ? *s : (vm_bp_spec){ 0 };
		w.len = (int)len;
		w.rw = access == VM_BPM_WRITE ? (int)VM_DR_RW_WRITE : access == VM_BPM_EXEC ? (int)VM_DR_RW_EXEC
											 : (int)VM_DR_RW_RW;
		if (vm_dbg_watch(d, expr, &w, id) < 0)
			return -1;
		dbg_bp *b = dbg_bp_find(d, *id);
		b->access = access;
		b->mlen = len;
		return 0;
	}
	for (uint64_t pg = addr / PAGE * PAGE; pg < addr + len; pg += PAGE)
		if (dbg_uffd_page(d, pg)) {
			vm_seterr("the page at 0x%llx has --uffd breakpoints: --uffd and page protection do not "
				  "share a page",
				  (unsigned long long)pg);
			return -1;
		}
	size_t before = d->npages;
	if (add_pages(d, addr, len) < 0) {
		d->npages = before;
		return -1;
	}
	dbg_bp *b = dbg_bp_new(d, VM_BP_MEM, addr);
	b->access = access;
	b->mlen = len;
	b->fast = s && s->fast;
	b->guard = s && s->guard;
	if (dbg_bp_fill(d, b, expr, s) < 0) {
		dbg_bp_drop_last(d);
		d->npages = before;
		return -1;
	}
	b->id = d->next_id++;
	*id = b->id;
	dbg_bpm_sync(d);
	/* a page that could not be protected: the breakpoint cannot work */
	for (uint64_t pg = addr / PAGE * PAGE; pg < addr + len; pg += PAGE) {
		dbg_page *p = page_at(d, pg);
		if (p && p->cur != need(d, pg, p->orig)) {
			char why[256];
			snprintf(why, sizeof why, "%s", vm_has_error() ? vm_error() : "mprotect failed");
			vm_dbg_delete(d, b->id);
			vm_seterr("cannot protect the page at 0x%llx: %s", (unsigned long long)pg, why);
			return -1;
		}
	}
	return 0;
}

/* ---- faults ---- */

typedef struct mem_access {
	uint64_t addr, size;
	int kind; /* VM_BPM_READ / WRITE / EXEC (READ|WRITE for read-modify-write) */
} mem_access;

static ZyanU64 reg_value(const vm_regs *r, ZydisRegister z)
{
	ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, z);
	uint64_t v;
	switch (full) {
	case ZYDIS_REGISTER_RAX: v = r->rax; break;
	case ZYDIS_REGISTER_RBX: v = r->rbx; break;
	case ZYDIS_REGISTER_RCX: v = r->rcx; break;
	case ZYDIS_REGISTER_RDX: v = r->rdx; break;
	case ZYDIS_REGISTER_RSI: v = r->rsi; break;
	case ZYDIS_REGISTER_RDI: v = r->rdi; break;
	case ZYDIS_REGISTER_RBP: v = r->rbp; break;
	case ZYDIS_REGISTER_RSP: v = r->rsp; break;
	case ZYDIS_REGISTER_R8: v = r->r8; break;
	case ZYDIS_REGISTER_R9: v = r->r9; break;
	case ZYDIS_REGISTER_R10: v = r->r10; break;
	case ZYDIS_REGISTER_R11: v = r->r11; break;
	case ZYDIS_REGISTER_R12: v = r->r12; break;
	case ZYDIS_REGISTER_R13: v = r->r13; break;
	case ZYDIS_REGISTER_R14: v = r->r14; break;
	case ZYDIS_REGISTER_R15: v = r->r15; break;
	case ZYDIS_REGISTER_RIP: v = r->rip; break;
	default: return 0;
	}
	switch (ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, z)) {
	case 32: return v & 0xffffffffu;
	case 16: return v & 0xffffu;
	default: return v;
	}
}

/* the decoder of the process's mode: an i386 process's code decoded as
 * x86-64 would read [disp32] as rip-relative */
static const ZydisDecoder *decoder_of(int bits)
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

/* the instruction at r->rip decoded: its memory accesses into a[] */
static size_t decode_accesses(int bits, const vm_regs *r, const uint8_t *code, size_t n, ZydisDecodedInstruction *in,
			      mem_access *a, size_t cap)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(decoder_of(bits), code, n, in, ops)))
		return 0;
	size_t k = 0;
	bool rep = in->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
	for (int i = 0; i < in->operand_count && k < cap; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.type == ZYDIS_MEMOP_TYPE_AGEN ||
		    !(op->actions & (ZYDIS_OPERAND_ACTION_MASK_READ | ZYDIS_OPERAND_ACTION_MASK_WRITE)))
			continue;
		uint64_t ea = (uint64_t)op->mem.disp.value;
		if (op->mem.base == ZYDIS_REGISTER_RIP || op->mem.base == ZYDIS_REGISTER_EIP)
			ea += r->rip + in->length;
		else if (op->mem.base != ZYDIS_REGISTER_NONE)
			ea += reg_value(r, op->mem.base);
		if (op->mem.index != ZYDIS_REGISTER_NONE)
			ea += reg_value(r, op->mem.index) * op->mem.scale;
		if (op->mem.segment == ZYDIS_REGISTER_FS)
			ea += r->fs_base;
		else if (op->mem.segment == ZYDIS_REGISTER_GS)
			ea += r->gs_base;
		if (in->address_width == 32)
			ea &= 0xffffffffu;
		uint64_t size = op->size / 8 ? op->size / 8 : 1;
		/* a push writes below rsp: Zydis names the slot [rsp] */
		if ((in->mnemonic == ZYDIS_MNEMONIC_PUSH || in->mnemonic == ZYDIS_MNEMONIC_PUSHFQ ||
		     in->mnemonic == ZYDIS_MNEMONIC_PUSHFD || in->mnemonic == ZYDIS_MNEMONIC_CALL) &&
		    (op->mem.base == ZYDIS_REGISTER_RSP || op->mem.base == ZYDIS_REGISTER_ESP) &&
		    (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
		    op->mem.disp.value == 0)
			ea -= size;
		if (rep && (in->meta.category == ZYDIS_CATEGORY_STRINGOP)) {
			uint64_t count = in->address_width == 32 ? (r->rcx & 0xffffffffu) : r->rcx;
			if (!count)
				continue;
			if (count > (1ull << 40) / size)
				count = (1ull << 40) / size;
			if (r->rflags & 0x400) /* DF: downwards */
				ea -= (count - 1) * size;
			size *= count;
		}
		a[k].addr = ea;
		a[k].size = size;
		a[k].kind = ((op->actions & ZYDIS_OPERAND_ACTION_MASK_READ) ? VM_BPM_READ : 0) |
			    ((op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) ? VM_BPM_WRITE : 0);
		k++;
	}
	return k;
}

static bool overlaps(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

/* the pages under [addr, addr+size) that carry breakpoints, to lift */
static void note_lift(vm_dbg *d, uint64_t addr, uint64_t size, dbg_page **lift, size_t *n, size_t cap)
{
	for (size_t i = 0; i < d->npages && *n < cap; i++) {
		dbg_page *p = &d->pages[i];
		if (p->cur == p->orig || !overlaps(p->addr, PAGE, addr, size))
			continue;
		bool have = false;
		for (size_t k = 0; k < *n && !have; k++)
			have = lift[k] == p;
		if (!have)
			lift[(*n)++] = p;
	}
}

/* a hit: the first enabled breakpoint an access of its kind touches */
static dbg_bp *first_hit(vm_dbg *d, const mem_access *acc, size_t nacc, size_t *hit_acc)
{
	for (size_t i = 0; i < d->nbps; i++) {
		dbg_bp *b = &d->bps[i];
		if (b->kind != VM_BP_MEM || !b->enabled)
			continue;
		for (size_t k = 0; k < nacc; k++)
			if ((acc[k].kind & b->access) && overlaps(acc[k].addr, acc[k].size, b->addr, b->mlen)) {
				*hit_acc = k;
				return b;
			}
	}
	return NULL;
}

/* A REPE/REPNE CMPS or SCAS that stopped early (a difference, a match)
 * touched only the elements it compared: its ranges again from the
 * count done (RCX before less RCX after). */
static dbg_bp *rep_done_hit(vm_dbg *d, int64_t tid, const vm_regs *r, const uint8_t *code, size_t n,
			    mem_access *acc, size_t *nacc, size_t *hit_acc)
{
	vm_regs after, done = *r;
	ZydisDecodedInstruction in;
	if (vm_control_get_regs(d->c, tid, &after) < 0)
		return first_hit(d, acc, *nacc, hit_acc);
	done.rcx = r->rcx - after.rcx;
	if (done.rcx == 0)
		done.rcx = r->rcx; /* not run (an event came first): as decoded */
	*nacc = decode_accesses(d->bits, &done, code, n, &in, acc, 7);
	return first_hit(d, acc, *nacc, hit_acc);
}
static int bpm_report(vm_dbg *d, dbg_bp *hit, const mem_access *a, int64_t tid, const vm_regs *rp,
		      const uint8_t *old, int nb, bool *stop);

int dbg_bpm_fault(vm_dbg *d, const vm_event *ev, bool *stop)
{
	/* SEGV_ACCERR on a protected page, or BUS_ADRERR on one a
	 * userfaultfd write-protects (bpm_uffd.c) */
	if (d->bx.own_fault) {
		d->bx.own_fault = false;
		return 0;
	}
	bool bus = ev->signal == SIGBUS;
	if (ev->code != 2 || (bus ? !dbg_uffd_page(d, ev->addr) : !page_at(d, ev->addr / PAGE * PAGE)))
		return 0;
	dbg_page *fp = page_at(d, ev->addr / PAGE * PAGE);
	if (!bus && fp->cur == fp->orig)
		return 0;
	if (bus)
		d->bx.uffd_faults++;
	int64_t tid = ev->tid;
	vm_regs r;
	if (vm_control_get_regs(d->c, tid, &r) < 0)
		return -1;
	uint8_t code[16];
	ssize_t got = vm_dbg_read(d, r.rip, code, sizeof code);
	ZydisDecodedInstruction in;
	memset(&in, 0, sizeof in);
	mem_access acc[8];
	size_t nacc = got > 0 ? decode_accesses(d->bits, &r, code, (size_t)got, &in, acc, 7) : 0;
	size_t insn_len = got > 0 && nacc ? in.length : 0;
	if (got > 0 && !nacc) {
		/* no data access decoded: an instruction fetch, or none we know */
		if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(decoder_of(d->bits), NULL, code, (size_t)got, &in)))
			insn_len = in.length;
	}
	if (ev->addr >= r.rip && ev->addr < r.rip + (insn_len ? insn_len : 1)) {
		acc[nacc].addr = r.rip;
		acc[nacc].size = insn_len ? insn_len : 1;
		acc[nacc].kind = VM_BPM_EXEC;
		nacc++;
	}
	/* the fault's own byte, at least, when decoding said nothing of it */
	bool seen = false;
	for (size_t i = 0; i < nacc && !seen; i++)
		seen = overlaps(acc[i].addr, acc[i].size, ev->addr, 1);

	size_t hit_acc = 0;
	dbg_bp *hit = first_hit(d, acc, nacc, &hit_acc);

	dbg_page *lift[64];
	size_t nlift = 0;
	note_lift(d, ev->addr, 1, lift, &nlift, 64);
	note_lift(d, r.rip, insn_len ? insn_len : 1, lift, &nlift, 64);
	for (size_t k = 0; k < nacc; k++)
		note_lift(d, acc[k].addr, acc[k].size, lift, &nlift, 64);
	(void)seen;

	/* a write's bytes before (the access's first 32) */
	uint8_t old[32];
	int nb = 0;
	if (hit && (acc[hit_acc].kind & VM_BPM_WRITE)) {
		nb = (int)(acc[hit_acc].size > sizeof old ? sizeof old : acc[hit_acc].size);
		if (vm_dbg_read(d, acc[hit_acc].addr, old, (size_t)nb) != nb)
			nb = 0;
	}

	vm_control_discard_signal(d->c, tid);
	/* done by emulation: no lift, no step */
	vm_regs now = r;
	/* a guard page's fault took its guard away: only the step's
	 * re-protection puts it back */
	int em = got > 0 && !(fp && (fp->cur & VM_PROT_GUARD)) ? dbg_bpm_emulate(d, tid, &now, code, (size_t)got, true)
								: 0;
	if (em < 0)
		return -1;
	if (em > 0) {
		d->bx.emulated++;
		int rc = hit ? bpm_report(d, hit, &acc[hit_acc], tid, &r, old, nb, stop) : 1;
		if (tid == d->cur) { /* its registers are known: no need to read them again */
			d->regs = now;
			d->regs_ok = true;
		}
		return rc;
	}
	/* run the instruction with its pages as they were, alone (fast: the
	 * other threads run meanwhile) */
	d->bx.stepped++;
	bool fast = dbg_bpm_step_fast(d, lift, nlift);
	int rc = 0;
	for (size_t i = 0; i < nlift; i++)
		if (vm_control_protect_by(d->c, tid, lift[i]->addr, PAGE, lift[i]->orig, 0) < 0)
			rc = -1;
	for (size_t k = 0; k < nacc && d->bx.nwp; k++)
		dbg_uffd_range(d, tid, acc[k].addr, acc[k].size, VM_WP_LIFT);
	if (d->bx.nwp)
		dbg_uffd_range(d, tid, ev->addr, 1, VM_WP_LIFT);
	vm_event sev;
	/* events of other threads met while stopping them wait in the
	 * control's queue: kept for after the step */
	vm_event later[16];
	size_t nlater = 0;
	bool stepped = false, other = false;
	uint64_t at = r.rip;
	for (uint64_t n = 0; rc == 0;) {
		/* what is queued first (only tid runs once the queue is empty) */
		bool queued = vm_control_pending(d->c);
		/* fast: the others run too, but not a thread whose event is
		 * kept in later[] (it must stay where it stopped) */
		if ((!queued && (vm_control_step(d->c, tid) < 0 || (fast && !nlater && vm_control_resume(d->c) < 0))) ||
		    vm_control_wait(d->c, -1, &sev) < 0) {
			rc = -1;
			break;
		}
		if ((queued || fast) && sev.tid != tid && sev.kind != VM_EV_EXIT) {
			if (nlater < 16) {
				later[nlater++] = sev;
				continue;
			}
		}
		if (sev.kind != VM_EV_STEP || sev.tid != tid) {
			other = true;
			break;
		}
		stepped = true;
		/* a REP string instruction steps one element at a time: on to
		 * its end, one hit for the whole instruction */
		if (sev.addr != at || ++n > (1u << 26))
			break;
	}
	if (d->alive && !(other && sev.kind == VM_EV_EXIT)) {
		for (size_t i = 0; i < nlift; i++)
			vm_control_protect_by(d->c, tid, lift[i]->addr, PAGE, lift[i]->cur, 0);
		for (size_t k = 0; k < nacc && d->bx.nwp; k++)
			dbg_uffd_range(d, tid, acc[k].addr, acc[k].size, VM_WP_ON);
		if (d->bx.nwp)
			dbg_uffd_range(d, tid, ev->addr, 1, VM_WP_ON);
	}
	/* the trap flag of the step must not show in flags a pushf saved */
	if (stepped && got > 0 && !(r.rflags & VM_RFLAGS_TF) &&
	    (in.mnemonic == ZYDIS_MNEMONIC_PUSHFQ || in.mnemonic == ZYDIS_MNEMONIC_PUSHF ||
	     in.mnemonic == ZYDIS_MNEMONIC_PUSHFD)) {
		vm_regs nr;
		uint64_t fl;
		if (vm_control_get_regs(d->c, tid, &nr) == 0 && vm_control_read(d->c, nr.rsp, &fl, 8) == 8 &&
		    (fl & VM_RFLAGS_TF)) {
			fl &= ~(uint64_t)VM_RFLAGS_TF;
			vm_control_write(d->c, nr.rsp, &fl, 8, 0);
		}
	}
	if (tid == d->cur)
		d->regs_ok = false;
	if (rc < 0)
		return -1;
	if (stepped && !other && got > 0 && (in.attributes & (ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) &&
	    (in.mnemonic == ZYDIS_MNEMONIC_CMPSB || in.mnemonic == ZYDIS_MNEMONIC_CMPSW ||
	     in.mnemonic == ZYDIS_MNEMONIC_CMPSD || in.mnemonic == ZYDIS_MNEMONIC_CMPSQ ||
	     in.mnemonic == ZYDIS_MNEMONIC_SCASB || in.mnemonic == ZYDIS_MNEMONIC_SCASW ||
	     in.mnemonic == ZYDIS_MNEMONIC_SCASD || in.mnemonic == ZYDIS_MNEMONIC_SCASQ))
		hit = rep_done_hit(d, tid, &r, code, (size_t)got, acc, &nacc, &hit_acc);
	for (size_t i = 0; i < nlater && d->alive; i++)
		if (dbg_handle(d, &later[i], stop) < 0)
			return -1;
	if (other) { /* something else came first (a signal, the exit ...) */
		/* the instruction faulted with the pages as the program set
		 * them (a write to its read-only page): its own fault */
		d->bx.own_fault = sev.kind == VM_EV_SIGNAL && sev.tid == tid && sev.addr == ev->addr &&
				  (sev.signal == SIGSEGV || sev.signal == SIGBUS);
		int hrc = dbg_handle(d, &sev, stop);
		d->bx.own_fault = false;
		return hrc < 0 ? -1 : 1;
	}
	if (!hit)
		return 1;
	return bpm_report(d, hit, &acc[hit_acc], tid, &r, old, nb, stop);
}

/* report the hit at the instruction that made it */
static int bpm_report(vm_dbg *d, dbg_bp *hit, const mem_access *a, int64_t tid, const vm_regs *rp,
		      const uint8_t *old, int nb, bool *stop)
{
	vm_regs r = *rp;
	d->cur = tid;
	d->regs_ok = false;
	vm_dbg_event e;
	dbg_event_at(d, &e, VM_DBG_EV_WATCH, tid, r.rip);
	e.access = a->kind & hit->access;
	if (e.access == VM_BPM_RW)
		e.access = VM_BPM_WRITE; /* a read-modify-write counts as the write */
	e.by_pages = true;
	uint64_t daddr = a->addr, dsize = a->size;
	if (nb) {
		e.nbytes = nb;
		memcpy(e.old_bytes, old, (size_t)nb);
		if (vm_dbg_read(d, daddr, e.new_bytes, (size_t)nb) != nb)
			e.nbytes = 0;
	}
	vm_dbg_insn di;
	if (vm_dbg_disasm(d, r.rip, 1, &di) == 1) {
		size_t tl = strnlen(di.text, sizeof e.insn - 1);
		memcpy(e.insn, di.text, tl);
		e.insn[tl] = 0;
	}
	if (dbg_bp_stops(d, hit, tid, r.rip, &e))
		dbg_bpm_stop(d, hit, &e, daddr, dsize, stop);
	return 1;
}

void dbg_bpm_stop(vm_dbg *d, dbg_bp *hit, vm_dbg_event *e, uint64_t addr, uint64_t len, bool *stop)
{
	e->addr = addr;
	e->len = (int)(len > INT32_MAX ? INT32_MAX : len);
	memcpy(&e->old_value, e->old_bytes, e->nbytes < 8 ? (size_t)e->nbytes : 8);
	memcpy(&e->new_value, e->new_bytes, e->nbytes < 8 ? (size_t)e->nbytes : 8);
	e->stopped = *stop = true;
	dbg_emit(d, e);
	if (hit->temporary)
		vm_dbg_delete(d, hit->id);
}
