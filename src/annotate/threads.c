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

/* "stack of [main ]thread TID[ (NAME)]": a Windows thread has no name
 * unless its program gave it one */
static void label(char *buf, size_t n, const vm_thread *th)
{
	snprintf(buf, n, "stack of %sthread %lld%s%s%s", th->is_main ? "main " : "", (long long)th->tid,
		 th->name ? " (" : "", th->name ? th->name : "", th->name ? ")" : "");
}

/* a thread with no registers whose stack bounds are known all the same
 * (a minidump thread without a context: its TEB's NT_TIB): the regions
 * there are its stack */
static void stack_without_sp(map_builder *b, vm_thread *th)
{
	vm_map *m = b->m;
	if (!th->stack_size)
		return;
	char what[160];
	label(what, sizeof what, th);
	int gid = -1;
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if (r->state == VM_STATE_FREE || !ranges_overlap(r->base, r->size, th->stack_base, th->stack_size))
			continue;
		if (!mb_claimed(b, i)) {
			if (gid < 0)
				gid = mb_group_new(b, VM_USAGE_STACK, what);
			mb_claim(b, i, gid);
		}
		uint64_t lo = r->base > th->stack_base ? r->base : th->stack_base;
		uint64_t hi = r->base + r->size, end = th->stack_base + th->stack_size;
		if (hi > end)
			hi = end;
		vm_content *c = vm_region_add_content(r, VM_CK_STACK, lo, hi - lo, "stack", what);
		c->tid = th->tid;
	}
}

/* In a core file, a read-only anonymous region of zeros right below a
 * thread's stack, the size of a guard: gdb's record of a PROT_NONE
 * guard (the kernel and capture write PROT_NONE as such) */
static bool gdb_guard(map_builder *b, const vm_region *g, const vm_region *stack)
{
	uint8_t page[4096];
	uint64_t pg = b->m->info.page_size;
	if ((vm_target_caps(b->t) & VM_CAP_LIVE) || g->state != VM_STATE_COMMIT || g->path ||
	    (g->prot & (VM_PROT_WRITE | VM_PROT_EXEC | VM_PROT_SHARED)) || !(g->prot & VM_PROT_READ) ||
	    g->base + g->size != stack->base || g->size > MAX_GUARD || g->size > stack->size ||
	    pg > sizeof page || g->size % pg)
		return false;
	for (uint64_t at = g->base; at < g->base + g->size; at += pg) {
		if (vm_read_full(b->t, at, page, (size_t)pg) < 0)
			return false;
		for (size_t k = 0; k < pg; k++)
			if (page[k])
				return false;
	}
	return true;
}

void ann_threads(map_builder *b)
{
	vm_map *m = b->m;
	for (size_t t = 0; t < m->nthreads; t++) {
		vm_thread *th = &m->threads[t];
		if (!th->sp_valid) {
			stack_without_sp(b, th);
			continue;
		}
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
				if (!th->is_main && gdb_guard(b, g, r)) {
					/* gdb's cores write PROT_NONE memory as
					 * readable zeros */
					g->state = VM_STATE_RESERVE;
					g->prot &= ~(VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC);
				}
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
		/* a Windows thread's TEB is placed by the Windows annotator */
		if (!th->regs_valid || !th->tp || m->info.os == VM_OS_WINDOWS)
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
