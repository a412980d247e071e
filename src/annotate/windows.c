/* Windows process structures on the map (minidumps): each thread's TEB,
 * the PEB, the process parameters and the environment block, the process
 * heaps the PEB lists, and KUSER_SHARED_DATA at its fixed address. */
#include "annotate.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/layout.h"
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
	size_t w = m->info.bits == 32 ? 4 : 8;
	vm_layout teb, peb, params;
	vm_layout_get(&teb, "teb", m->info.bits, 0);
	vm_layout_get(&peb, "peb", m->info.bits, 0);
	vm_layout_get(&params, "process_parameters", m->info.bits, 0);
	uint64_t o_base = vm_layout_off(&teb, "NtTib.StackBase"), o_limit = vm_layout_off(&teb, "NtTib.StackLimit");
	vm_reader rd = vm_reader_target(b->t);
	char detail[96];
	for (size_t i = 0; i < m->nthreads; i++) {
		vm_thread *th = &m->threads[i];
		if (!th->tp)
			continue;
		snprintf(detail, sizeof detail, "TEB of thread %lld", (long long)th->tid);
		put(b, VM_CK_TLS, th->tp, teb.full_size, "TEB", detail, th->tid);
		uint64_t hi, lo;
		if (vm_reader_word(&rd, th->tp + o_base, w, &hi) && vm_reader_word(&rd, th->tp + o_limit, w, &lo)) {
			if (lo < hi && hi - lo <= (1ull << 32) && !th->stack_base) {
				th->stack_base = lo;
				th->stack_size = hi - lo;
			}
		}
	}
	vm_win_env e;
	if (vm_win_env_read(m, b->t, &e) == 0) {
		put(b, VM_CK_SYSDATA, e.peb, peb.full_size, "PEB", "process environment block", 0);
		if (e.params)
			put(b, VM_CK_SYSDATA, e.params, params.full_size, "process parameters",
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
