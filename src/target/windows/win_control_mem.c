/* Memory of a controlled Windows process: reads and writes whatever the
 * page protection (a PAGE_NOACCESS or PAGE_GUARD page is opened for the
 * instant of the access), int3 bytes written with FlushInstructionCache,
 * protections by VirtualProtectEx; what is changed with VM_CTL_RESTORE
 * is journaled (the original byte, the exact original PAGE_* value) and
 * put back on close or at a fatal signal. */
#include "wctl.h"

#include <string.h>

#include "vmatlas/error.h"

#define PAGE 4096u

static void *ptr(uint64_t a)
{
	return (void *)(uintptr_t)a;
}

/* one page's worth at most: read or write it, opening a page the
 * program may not touch for that instant */
static bool access_page(win_control *c, uint64_t a, void *buf, size_t n, bool write)
{
	SIZE_T done = 0;
	if (write ? WriteProcessMemory(c->h, ptr(a), buf, n, &done) : ReadProcessMemory(c->h, ptr(a), buf, n, &done))
		if (done == n)
			return true;
	MEMORY_BASIC_INFORMATION m;
	if (!VirtualQueryEx(c->h, ptr(a), &m, sizeof m) || m.State != MEM_COMMIT)
		return false;
	DWORD old, tmp;
	DWORD open = (m.Protect & 0xf0) ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
	if (!VirtualProtectEx(c->h, ptr(a & ~(uint64_t)(PAGE - 1)), 1, open, &old))
		return false;
	bool ok = write ? WriteProcessMemory(c->h, ptr(a), buf, n, &done) : ReadProcessMemory(c->h, ptr(a), buf, n, &done);
	VirtualProtectEx(c->h, ptr(a & ~(uint64_t)(PAGE - 1)), 1, old, &tmp);
	return ok && done == n;
}

static size_t access_mem(win_control *c, uint64_t addr, void *buf, size_t len, bool write)
{
	size_t done = 0;
	while (done < len) {
		uint64_t a = addr + done;
		if (a < addr)
			break;
		size_t n = PAGE - (size_t)(a & (PAGE - 1));
		if (n > len - done)
			n = len - done;
		if (!access_page(c, a, (uint8_t *)buf + done, n, write))
			break;
		done += n;
	}
	return done;
}

ssize_t wc_read(vm_control *vc, uint64_t addr, void *buf, size_t len)
{
	win_control *c = WC(vc);
	size_t got = access_mem(c, addr, buf, len, false);
	if (!got && len)
		vm_seterr("cannot read 0x%llx in process %lu", (unsigned long long)addr, (unsigned long)c->pid);
	return (ssize_t)got;
}

static wc_saved *saved_at(win_control *c, uint64_t a)
{
	for (LONG i = 0; i < c->nsaved; i++)
		if (c->saved[i].addr == a)
			return &c->saved[i];
	return NULL;
}

void wc_forget_range(win_control *c, uint64_t addr, uint64_t len)
{
	for (LONG i = 0; i < c->nsaved; i++)
		if (c->saved[i].addr - addr < len) {
			c->saved[i] = c->saved[c->nsaved - 1];
			InterlockedDecrement(&c->nsaved);
			i--;
		}
	wc_update_saved_prot(&c->base, addr, len, -1);
}

void wc_forget(vm_control *vc, uint64_t addr, uint64_t len)
{
	wc_forget_range(WC(vc), addr, len);
}

bool wc_int3_gone(win_control *c, uint64_t addr)
{
	uint8_t b;
	return saved_at(c, addr) && access_mem(c, addr, &b, 1, false) == 1 && b != 0xcc;
}

int wc_write(vm_control *vc, uint64_t addr, const void *buf, size_t len, unsigned flags)
{
	win_control *c = WC(vc);
	if (flags & VM_CTL_RESTORE) {
		for (size_t i = 0; i < len; i++) {
			uint8_t b;
			if (saved_at(c, addr + i))
				continue;
			if (c->nsaved >= WC_MAX_SAVED) {
				vm_seterr("too many changed bytes to keep (%d)", WC_MAX_SAVED);
				return -1;
			}
			if (access_mem(c, addr + i, &b, 1, false) != 1) {
				vm_seterr("cannot read 0x%llx in process %lu", (unsigned long long)(addr + i),
					  (unsigned long)c->pid);
				return -1;
			}
			c->saved[c->nsaved] = (wc_saved){ addr + i, b };
			InterlockedIncrement(&c->nsaved);
		}
	}
	if (access_mem(c, addr, (void *)(uintptr_t)buf, len, true) != len) {
		vm_seterr("cannot write 0x%llx in process %lu (error %lu)", (unsigned long long)addr,
			  (unsigned long)c->pid, (unsigned long)GetLastError());
		return -1;
	}
	FlushInstructionCache(c->h, ptr(addr), len);
	return 0;
}

void wc_update_saved(vm_control *vc, uint64_t addr, const void *buf, size_t len)
{
	win_control *c = WC(vc);
	for (size_t i = 0; i < len; i++) {
		wc_saved *s = saved_at(c, addr + i);
		if (s)
			s->byte = ((const uint8_t *)buf)[i];
	}
}

/* as the program may: no access to a page it could not touch */
ssize_t wc_user_rw(vm_control *vc, uint64_t addr, void *buf, size_t len, bool write)
{
	win_control *c = WC(vc);
	size_t done = 0;
	while (done < len) {
		uint64_t a = addr + done;
		MEMORY_BASIC_INFORMATION m;
		if (a < addr || !VirtualQueryEx(c->h, ptr(a), &m, sizeof m) || m.State != MEM_COMMIT)
			break;
		uint32_t p = vm_prot_from_win(m.Protect);
		if ((m.Protect & PAGE_GUARD) || !(p & VM_PROT_READ) || (write && !(p & VM_PROT_WRITE)))
			break;
		size_t n = PAGE - (size_t)(a & (PAGE - 1));
		if (n > len - done)
			n = len - done;
		SIZE_T got = 0;
		BOOL ok = write ? WriteProcessMemory(c->h, ptr(a), (uint8_t *)buf + done, n, &got)
				: ReadProcessMemory(c->h, ptr(a), (uint8_t *)buf + done, n, &got);
		done += ok ? got : 0;
		if (!ok || got != n)
			break;
	}
	if (!done && len) {
		vm_seterr("the program may not %s 0x%llx", write ? "write" : "read", (unsigned long long)addr);
		return -1;
	}
	return (ssize_t)done;
}

/* ---- protections ---- */

static wc_prot *prot_at(win_control *c, uint64_t page)
{
	for (LONG i = 0; i < c->nprots; i++)
		if (c->prots[i].page == page)
			return &c->prots[i];
	return NULL;
}

/* VM_PROT_* as a PAGE_* value (GUARD added) */
static DWORD page_prot(unsigned prot)
{
	bool r = prot & VM_PROT_READ, w = prot & VM_PROT_WRITE, x = prot & VM_PROT_EXEC;
	DWORD v = x ? (w ? PAGE_EXECUTE_READWRITE : r ? PAGE_EXECUTE_READ : PAGE_EXECUTE)
		    : (w ? PAGE_READWRITE : r ? PAGE_READONLY : PAGE_NOACCESS);
	if ((prot & VM_PROT_GUARD) && v != PAGE_NOACCESS)
		v |= PAGE_GUARD;
	return v;
}

int wc_protect(vm_control *vc, uint64_t addr, uint64_t len, unsigned prot, unsigned flags)
{
	win_control *c = WC(vc);
	uint64_t first = addr & ~(uint64_t)(PAGE - 1), last = (addr + len - 1) & ~(uint64_t)(PAGE - 1);
	for (uint64_t pg = first;; pg += PAGE) {
		MEMORY_BASIC_INFORMATION m;
		if (!VirtualQueryEx(c->h, ptr(pg), &m, sizeof m) || m.State != MEM_COMMIT) {
			vm_seterr("0x%llx is not committed memory of process %lu", (unsigned long long)pg,
				  (unsigned long)c->pid);
			return -1;
		}
		wc_prot *j = prot_at(c, pg);
		if (!j && (flags & VM_CTL_RESTORE)) {
			if (c->nprots >= WC_MAX_PROT) {
				vm_seterr("too many pages with changed protections (%d)", WC_MAX_PROT);
				return -1;
			}
			c->prots[c->nprots] = (wc_prot){ pg, m.Protect };
			j = &c->prots[c->nprots];
			InterlockedIncrement(&c->nprots);
		}
		/* the original's rights: its exact value (WRITECOPY, NOCACHE ...),
		 * with a guard when asked */
		unsigned rights = prot & (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC);
		DWORD want = page_prot(prot);
		if (j && (vm_prot_from_win(j->orig) & (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC)) == rights)
			want = (j->orig & ~(DWORD)PAGE_GUARD) | ((prot & VM_PROT_GUARD) ? PAGE_GUARD : 0);
		DWORD old;
		if (!VirtualProtectEx(c->h, ptr(pg), PAGE, want, &old)) {
			vm_seterr("cannot change the protection of 0x%llx in process %lu (error %lu)",
				  (unsigned long long)pg, (unsigned long)c->pid, (unsigned long)GetLastError());
			return -1;
		}
		if (pg == last)
			break;
	}
	return 0;
}

void wc_update_saved_prot(vm_control *vc, uint64_t addr, uint64_t len, int prot)
{
	win_control *c = WC(vc);
	for (LONG i = 0; i < c->nprots; i++) {
		wc_prot *j = &c->prots[i];
		if (j->page + PAGE <= addr || j->page >= addr + len)
			continue;
		if (prot >= 0) {
			j->orig = page_prot((unsigned)prot);
			continue;
		}
		*j = c->prots[c->nprots - 1]; /* unmapped: nothing to put back */
		InterlockedDecrement(&c->nprots);
		i--;
	}
}

void wc_restore(win_control *c)
{
	LONG n = c->nsaved;
	for (LONG i = 0; i < n; i++) {
		uint8_t b = c->saved[i].byte;
		access_mem(c, c->saved[i].addr, &b, 1, true);
		FlushInstructionCache(c->h, ptr(c->saved[i].addr), 1);
	}
	c->nsaved = 0;
	n = c->nprots;
	for (LONG i = 0; i < n; i++) {
		DWORD old;
		VirtualProtectEx(c->h, ptr(c->prots[i].page), PAGE, c->prots[i].orig, &old);
	}
	c->nprots = 0;
}
