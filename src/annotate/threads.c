/* Thread stacks, their guards, and thread pointers.
 *
 * A thread's stack is the region its stack pointer is in; the guard is
 * the PROT_NONE mapping directly below it that glibc's allocate_stack
 * made in the same mmap. The thread pointer (fs_base on x86-64) marks
 * the thread control block: for glibc threads at the top of the stack
 * mapping, for the main thread in memory the dynamic loader allocated. */
#include <stdio.h>
#include <string.h>

#include "annotate.h"
#include "base/util.h"

/* the largest PROT_NONE region we take for a stack guard */
#define MAX_GUARD (1u << 20)

static void label(char *buf, size_t n, const vm_thread *th)
{
	if (th->is_main)
		snprintf(buf, n, "stack of main thread %lld (%s)", (long long)th->tid,
			 th->name ? th->name : "?");
	else
		snprintf(buf, n, "stack of thread %lld (%s)", (long long)th->tid,
			 th->name ? th->name : "?");
}

void ann_threads(map_builder *b)
{
	vm_map *m = b->m;
	for (size_t t = 0; t < m->nthreads; t++) {
		vm_thread *th = &m->threads[t];
		if (!th->sp_valid)
			continue;
		size_t i = mb_find(b, th->sp);
		if (i == (size_t)-1)
			continue;
		vm_region *r = &m->regions[i];
		char what[160];
		label(what, sizeof what, th);
		th->stack_base = r->base;
		th->stack_size = r->size;
		if (!mb_claimed(b, i)) {
			int gid = mb_group_new(b, VM_USAGE_STACK, what);
			mb_claim(b, i, gid);
			if (i > 0) {
				vm_region *g = &m->regions[i - 1];
				if (!mb_claimed(b, i - 1) && g->state == VM_STATE_RESERVE && !g->path &&
				    g->base + g->size == r->base && g->size <= MAX_GUARD &&
				    g->size <= r->size) {
					mb_claim(b, i - 1, gid);
					th->guard_base = g->base;
					th->guard_size = g->size;
					vm_content *c = vm_region_add_content(g, VM_CK_GUARD, g->base,
						g->size, "guard", "stack guard: touching it faults");
					c->tid = th->tid;
				}
			}
		}
		vm_content *c = vm_region_add_content(r, VM_CK_STACK, r->base, r->size, "stack", what);
		c->tid = th->tid;
		/* the part in use, from the stack pointer up to where the stack
		 * starts (below a thread's control block: vm_thread_stack_top) */
		char used[96];
		uint64_t top = vm_thread_stack_top(th, r);
		if (top <= th->sp)
			continue;
		snprintf(used, sizeof used, "in use from sp (%llu bytes)", (unsigned long long)(top - th->sp));
		c = vm_region_add_content(r, VM_CK_STACK, th->sp, top - th->sp, "stack in use", used);
		c->tid = th->tid;
	}
	for (size_t t = 0; t < m->nthreads; t++) {
		vm_thread *th = &m->threads[t];
		if (!th->regs_valid || !th->tp)
			continue;
		size_t i = mb_find(b, th->tp);
		if (i == (size_t)-1)
			continue;
		char what[96];
		snprintf(what, sizeof what, "thread pointer (TCB) of thread %lld", (long long)th->tid);
		vm_content *c = vm_region_add_content(&m->regions[i], VM_CK_TLS, th->tp, 0, "tls", what);
		c->tid = th->tid;
	}
}
