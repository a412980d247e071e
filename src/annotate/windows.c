/* Windows process structures on the map (minidumps): each thread's TEB,
 * the PEB, the process parameters and the environment block, the process
 * heaps the PEB lists, and KUSER_SHARED_DATA at its fixed address. */
#include "annotate.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/win_env.h"

#define KUSER_SHARED_DATA 0x7ffe0000ull

static void put(map_builder *b, vm_content_kind kind, uint64_t addr, uint64_t size, const char *name,
		const char *detail, int64_t tid)
{
	size_t i = mb_find(b, addr);
	if (i == (size_t)-1)
		return;
	vm_region *r = &b->m->regions[i];
	if (size > r->base + r->size - addr)
		size = r->base + r->size - addr;
	vm_content *c = vm_region_add_content(r, kind, addr, size, name, detail);
	c->tid = tid;
}

/* the heap's regions: one allocation of usage heap */
static void heap(map_builder *b, uint64_t base, const char *what)
{
	vm_map *m = b->m;
	size_t i = mb_find(b, base);
	if (i == (size_t)-1)
		return;
	int gid = mb_group_new(b, VM_USAGE_HEAP, what);
	uint64_t ab = m->regions[i].win.alloc_base ? m->regions[i].win.alloc_base : m->regions[i].base;
	for (size_t k = i; k < m->nregions; k++) {
		const vm_region *r = &m->regions[k];
		if (r->state == VM_STATE_FREE || (k > i && (!r->win.alloc_base || r->win.alloc_base != ab)))
			break;
		mb_claim(b, k, gid);
	}
	put(b, VM_CK_HEAP, base, m->regions[i].base + m->regions[i].size - base, what, "NT heap", 0);
}

void ann_windows(map_builder *b)
{
	vm_map *m = b->m;
	bool b64 = m->info.bits == 64;
	size_t w = b64 ? 8 : 4;
	char detail[96];
	for (size_t i = 0; i < m->nthreads; i++) {
		vm_thread *th = &m->threads[i];
		if (!th->tp)
			continue;
		snprintf(detail, sizeof detail, "TEB of thread %lld", (long long)th->tid);
		put(b, VM_CK_TLS, th->tp, b64 ? 0x1838 : 0xfb8, "TEB", detail, th->tid);
		/* NT_TIB: StackBase, StackLimit */
		uint8_t tib[16] = { 0 };
		if (vm_read(b->t, th->tp + w, tib, 2 * w) == (ssize_t)(2 * w)) {
			uint64_t hi = 0, lo = 0;
			memcpy(&hi, tib, w);
			memcpy(&lo, tib + w, w);
			if (lo < hi && hi - lo <= (1ull << 32) && !th->stack_base) {
				th->stack_base = lo;
				th->stack_size = hi - lo;
			}
		}
	}
	vm_win_env e;
	if (vm_win_env_read(m, b->t, &e) == 0) {
		put(b, VM_CK_SYSDATA, e.peb, b64 ? 0x7c8 : 0x478, "PEB", "process environment block", 0);
		if (e.params)
			put(b, VM_CK_SYSDATA, e.params, b64 ? 0x410 : 0x2a0, "process parameters",
			    "RTL_USER_PROCESS_PARAMETERS", 0);
		if (e.command_line.addr)
			put(b, VM_CK_SYSDATA, e.command_line.addr, strlen(e.command_line.value) * 2, "command line",
			    NULL, 0);
		if (e.environment) {
			uint64_t size = 2;
			if (e.nenv) {
				const vm_string *last = &e.env[e.nenv - 1];
				size = last->addr - e.environment + 2 * (strlen(last->value) + 2);
			}
			put(b, VM_CK_SYSDATA, e.environment, size, "environment block", NULL, 0);
		}
		if (e.process_heap)
			heap(b, e.process_heap, "process heap");
		for (size_t i = 0; i < e.nheaps; i++)
			if (e.heaps[i] && e.heaps[i] != e.process_heap) {
				snprintf(detail, sizeof detail, "heap %zu", i);
				heap(b, e.heaps[i], detail);
			}
	}
	vm_win_env_free(&e);
	size_t k = mb_find(b, KUSER_SHARED_DATA);
	if (k != (size_t)-1) {
		put(b, VM_CK_SYSDATA, KUSER_SHARED_DATA, 0x1000, "KUSER_SHARED_DATA", "shared with the kernel", 0);
		if (!mb_claimed(b, k))
			mb_claim(b, k, mb_group_new(b, VM_USAGE_SYSTEM, "KUSER_SHARED_DATA"));
	}
}
