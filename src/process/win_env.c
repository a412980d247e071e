/* Reading the PEB and what hangs off it from target memory (a minidump
 * holds it when it holds the process's private memory). Offsets come
 * from the layout tables, for both word sizes. */
#include "vmatlas/win_env.h"

#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/utf16.h"
#include "base/util.h"
#include "vmatlas/layout.h"

#define MAX_USTR (64u << 10)
#define MAX_ENV (1u << 20)
#define MAX_LDR 4096
#define MAX_HEAPS 1024

/* the target, its word size and the layouts of what is read */
typedef struct rd {
	vm_target *t;
	vm_reader r;
	size_t w;
	vm_layout teb, peb, params, ldr, entry;
} rd;

static bool word(const rd *r, uint64_t addr, uint64_t *v)
{
	return vm_reader_word(&r->r, addr, r->w, v);
}

static bool u32_at(const rd *r, uint64_t addr, uint64_t *v)
{
	return vm_reader_word(&r->r, addr, 4, v);
}

/* a UNICODE_STRING {Length, MaximumLength, Buffer} at addr */
static bool ustr(const rd *r, uint64_t addr, vm_string *out)
{
	uint8_t h[16];
	if (!vm_reader_full(&r->r, addr, h, 2 * r->w))
		return false;
	uint32_t len = ld_le16(h) & ~1u;
	uint64_t buf = ld_word(h + r->w, r->w); /* Buffer: the second word */
	if (!buf || !len)
		return false;
	uint8_t *b = xmalloc(len);
	bool ok = vm_read_full(r->t, buf, b, len) == 0;
	if (ok) {
		out->addr = buf;
		out->value = utf16le_to_utf8(b, len / 2);
	}
	free(b);
	return ok;
}

static void environment(const rd *r, vm_win_env *e)
{
	uint64_t n = e->environment_size && e->environment_size <= MAX_ENV ? e->environment_size : 65536;
	uint8_t *b = xmalloc((size_t)n);
	ssize_t got = vm_read(r->t, e->environment, b, (size_t)n);
	size_t cap = 0, units = got > 0 ? (size_t)got / 2 : 0, start = 0;
	for (size_t i = 0; i < units; i++) {
		if (b[2 * i] || b[2 * i + 1])
			continue;
		if (i == start)
			break; /* the empty string ends the block */
		vm_string *s = ARRAY_PUSH(e->env, e->nenv, cap);
		s->addr = e->environment + 2 * start;
		s->value = utf16le_to_utf8(b + 2 * start, i - start);
		start = i + 1;
	}
	free(b);
}

static void loader_list(const rd *r, vm_win_env *e)
{
	const vm_layout *L = &r->entry;
	uint64_t head = e->ldr + vm_layout_off(&r->ldr, "InLoadOrderModuleList.Flink"), link;
	size_t cap = 0;
	if (!word(r, head, &link))
		return;
	/* Flink points at the next entry's InLoadOrderLinks, its first member */
	for (size_t k = 0;; k++) {
		if (!link || link == head)
			return;
		if (k == MAX_LDR) {
			e->ldr_note = "the loader's module list is cut at 4096 entries";
			return;
		}
		for (size_t i = 0; i < e->nldr; i++)
			if (e->ldr_list[i].addr == link) {
				e->ldr_note = "the loader's module list loops back on itself (damaged)";
				return;
			}
		vm_win_ldr_entry x = { .addr = link };
		uint64_t next, size;
		if (!word(r, link + vm_layout_off(L, "InLoadOrderLinks.Flink"), &next) ||
		    !word(r, link + vm_layout_off(L, "DllBase"), &x.base) ||
		    !word(r, link + vm_layout_off(L, "EntryPoint"), &x.entry)) {
			e->ldr_note = "an entry of the loader's module list is unreadable";
			return;
		}
		if (u32_at(r, link + vm_layout_off(L, "SizeOfImage"), &size))
			x.size = size;
		vm_string s = { 0 };
		if (ustr(r, link + vm_layout_off(L, "FullDllName.Length"), &s))
			x.full_name = s.value;
		s.value = NULL;
		if (ustr(r, link + vm_layout_off(L, "BaseDllName.Length"), &s))
			x.base_name = s.value;
		*ARRAY_PUSH(e->ldr_list, e->nldr, cap) = x;
		link = next;
	}
}

int vm_win_env_read(const vm_map *m, vm_target *t, vm_win_env *e)
{
	memset(e, 0, sizeof *e);
	e->bits = m->info.bits;
	rd r = { .t = t, .r = vm_reader_target(t), .w = m->info.bits == 32 ? 4 : 8 };
	vm_layout_get(&r.teb, "teb", m->info.bits, 0);
	vm_layout_get(&r.peb, "peb", m->info.bits, 0);
	vm_layout_get(&r.params, "process_parameters", m->info.bits, 0);
	vm_layout_get(&r.ldr, "peb_ldr_data", m->info.bits, 0);
	vm_layout_get(&r.entry, "ldr_data_table_entry", m->info.bits, 0);
	const vm_layout *P = &r.peb, *Q = &r.params;
	for (size_t i = 0; i < m->nthreads && !e->peb; i++) {
		uint64_t teb = m->threads[i].tp, peb;
		if (teb && word(&r, teb + vm_layout_off(&r.teb, "ProcessEnvironmentBlock"), &peb) && peb) {
			e->teb = teb;
			e->peb = peb;
		}
	}
	if (!e->peb) {
		e->note = "no thread's TEB in the dump names a PEB";
		return -1;
	}
	uint8_t bd;
	if (vm_reader_full(&r.r, e->peb + vm_layout_off(P, "BeingDebugged"), &bd, 1)) {
		e->being_debugged = bd;
		e->have_being_debugged = true;
	}
	if (!word(&r, e->peb + vm_layout_off(P, "ImageBaseAddress"), &e->image_base) ||
	    !word(&r, e->peb + vm_layout_off(P, "Ldr"), &e->ldr) ||
	    !word(&r, e->peb + vm_layout_off(P, "ProcessParameters"), &e->params)) {
		e->note = "the PEB is not in the dump";
		return -1;
	}
	e->have_fields = true;
	e->have_process_heap = word(&r, e->peb + vm_layout_off(P, "ProcessHeap"), &e->process_heap);
	uint64_t nh;
	if (u32_at(&r, e->peb + vm_layout_off(P, "NumberOfHeaps"), &nh)) {
		e->nheaps_claimed = (uint32_t)nh;
		e->have_nheaps = true;
	}
	e->have_heaps_array = word(&r, e->peb + vm_layout_off(P, "ProcessHeaps"), &e->heaps_array);
	if (e->have_heaps_array && e->heaps_array) {
		size_t n = e->nheaps_claimed < MAX_HEAPS ? e->nheaps_claimed : MAX_HEAPS;
		e->heaps = xcalloc(n ? n : 1, sizeof *e->heaps);
		for (size_t i = 0; i < n && word(&r, e->heaps_array + i * r.w, &e->heaps[i]); i++)
			e->nheaps++;
	}
	if (e->params) {
		ustr(&r, e->params + vm_layout_off(Q, "CurrentDirectory.DosPath.Length"), &e->current_directory);
		ustr(&r, e->params + vm_layout_off(Q, "ImagePathName.Length"), &e->image_path);
		ustr(&r, e->params + vm_layout_off(Q, "CommandLine.Length"), &e->command_line);
		word(&r, e->params + vm_layout_off(Q, "Environment"), &e->environment);
		word(&r, e->params + vm_layout_off(Q, "EnvironmentSize"), &e->environment_size);
		if (e->environment)
			environment(&r, e);
	}
	if (e->ldr)
		loader_list(&r, e);
	return 0;
}

void vm_win_env_free(vm_win_env *e)
{
	free(e->heaps);
	free(e->command_line.value);
	free(e->image_path.value);
	free(e->current_directory.value);
	for (size_t i = 0; i < e->nenv; i++)
		free(e->env[i].value);
	free(e->env);
	for (size_t i = 0; i < e->nldr; i++) {
		free(e->ldr_list[i].full_name);
		free(e->ldr_list[i].base_name);
	}
	free(e->ldr_list);
	memset(e, 0, sizeof *e);
}
