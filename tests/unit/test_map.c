/* The OS-neutral map core, on a fake target. */
#include <stdlib.h>

#include "check.h"
#include "elf_builder.h"
#include "fake_target.h"
#include "vmatlas/map.h"

static const vm_alloc *alloc_at(const vm_map *m, uint64_t addr)
{
	const vm_region *r = vm_map_region_at(m, addr);
	return r ? vm_map_alloc_of(m, r) : NULL;
}

static bool has_content(const vm_region *r, vm_content_kind k, const char *name)
{
	for (size_t i = 0; i < r->ncontents; i++)
		if (r->contents[i].kind == k && (!name || strcmp(r->contents[i].name, name) == 0))
			return true;
	return false;
}

static void grouping(void)
{
	fake_target f;
	fake_init(&f);
	/* a file split by mprotect (no ELF header: a plain mapping) */
	fake_region(&f, 0x10000, 0x1000, "r--p", "/data/file", 0, 7);
	fake_region(&f, 0x11000, 0x2000, "rw-p", "/data/file", 0x1000, 7);
	/* the same file again, not contiguous in offset: a new mapping */
	fake_region(&f, 0x13000, 0x1000, "r--p", "/data/file", 0x9000, 7);
	/* an anonymous sandwich: one mapping re-protected in the middle */
	fake_region(&f, 0x20000, 0x1000, "rw-p", NULL, 0, 0);
	fake_region(&f, 0x21000, 0x1000, "r--p", NULL, 0, 0);
	fake_region(&f, 0x22000, 0x2000, "rw-p", NULL, 0, 0);
	/* a reservation below private memory, bigger than it: no guard */
	fake_region(&f, 0x30000, 0x4000, "---p", NULL, 0, 0);
	fake_region(&f, 0x34000, 0x1000, "rw-p", NULL, 0, 0);
	/* a reserved tail, then another reservation: the kernel would have
	 * merged the two had their flags agreed, so they are two mmaps */
	fake_region(&f, 0x50000, 0x3000, "rw-p", NULL, 0, 0);
	fake_region(&f, 0x53000, 0x1000, "---p", NULL, 0, 0);
	fake_region(&f, 0x54000, 0x2000, "---p", NULL, 0, 0);
	/* a guard page below */
	fake_region(&f, 0x60000, 0x1000, "---p", NULL, 0, 0);
	fake_region(&f, 0x61000, 0x2000, "rw-p", NULL, 0, 0);
	fake_region(&f, 0x40000, 0x1000, "rw-s", "/dev/zero", 0, 3);

	vm_map *m = vm_map_build(&f.base, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	const vm_alloc *a = alloc_at(m, 0x10000);
	CHECK(a && a->count == 2 && a->usage == VM_USAGE_MAPPED && a->size == 0x3000);
	a = alloc_at(m, 0x13000);
	CHECK(a && a->count == 1 && a->base == 0x13000);
	a = alloc_at(m, 0x21000);
	CHECK(a && a->count == 3 && a->base == 0x20000 && a->usage == VM_USAGE_PRIVATE);
	a = alloc_at(m, 0x30000);
	CHECK(a && a->count == 1 && a->usage == VM_USAGE_RESERVED);
	a = alloc_at(m, 0x34000);
	CHECK(a && a->count == 1 && a->usage == VM_USAGE_PRIVATE);
	a = alloc_at(m, 0x40000);
	CHECK(a && a->usage == VM_USAGE_SHAREABLE);
	a = alloc_at(m, 0x53000);
	CHECK(a && a->base == 0x50000 && a->count == 2 && a->grouping == VM_GROUPING_HEURISTIC);
	a = alloc_at(m, 0x54000);
	CHECK(a && a->base == 0x54000 && a->count == 1 && a->usage == VM_USAGE_RESERVED);
	a = alloc_at(m, 0x61000);
	CHECK(a && a->base == 0x60000 && a->count == 2 && a->usage == VM_USAGE_PRIVATE);

	/* free gaps tile the rest of the address space */
	uint64_t covered = 0, expect = 0;
	for (size_t i = 0; i < m->nregions; i++) {
		CHECK(i == 0 || m->regions[i - 1].base + m->regions[i - 1].size == m->regions[i].base);
		covered += m->regions[i].size;
	}
	expect = m->info.user_top;
	CHECK_U64(covered, expect);
	CHECK(m->regions[0].state == VM_STATE_FREE && m->regions[0].base == 0);

	/* the summary adds up */
	vm_summary_row rows[VM_USAGE_COUNT], total;
	vm_map_summary(m, rows, &total);
	uint64_t sum = 0, nonfree = 0;
	size_t blocks = 0;
	for (int u = 0; u < VM_USAGE_COUNT; u++)
		if (u != VM_USAGE_FREE) {
			sum += rows[u].size;
			blocks += rows[u].blocks;
		}
	for (size_t i = 0; i < f.nregions; i++)
		nonfree += f.regions[i].size;
	CHECK_U64(sum, total.size);
	CHECK_U64(total.size, nonfree);
	CHECK_U64(blocks, total.blocks);
	CHECK_U64(rows[VM_USAGE_RESERVED].committed, 0);
	CHECK_U64(rows[VM_USAGE_FREE].size + total.size, m->info.user_top);
	vm_map_free(m);
	fake_free(&f);
}

static void image_extent(void)
{
	fake_target f;
	fake_init(&f);
	elf_built b;
	elf_build(&b, 64, false, 3, 0);
	uint64_t base = 0x7f0000000000ull;
	/* the loader maps the first page from the file, the rest of the
	 * 0x3000 memsz is the anonymous .bss tail */
	fake_region(&f, base, 0x1000, "r-xp", "/lib/libfake.so", 0, 99);
	fake_region(&f, base + 0x1000, 0x2000, "rw-p", NULL, 0, 0);
	fake_region(&f, base + 0x3000, 0x1000, "rw-p", NULL, 0, 0); /* someone else's */
	fake_memory(&f, base, b.buf, 0x1000);
	/* an ELF file mapped as data, whole: not an image */
	fake_region(&f, 0x500000, 0x2000, "r--p", "/lib/libfake.so", 0, 99);
	fake_memory(&f, 0x500000, b.buf, 0x1000);

	vm_map *m = vm_map_build(&f.base, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	const vm_alloc *a = alloc_at(m, base);
	CHECK(a && a->usage == VM_USAGE_IMAGE && a->count == 2 && a->size == 0x3000);
	CHECK(alloc_at(m, base + 0x3000) != a);
	CHECK_U64(m->nmodules, 1);
	if (m->nmodules == 1) {
		CHECK_STR(m->modules[0].name, "libfake.so");
		CHECK_U64(m->modules[0].base, base);
		CHECK_U64(m->modules[0].size, 0x3000);
		CHECK_U64(m->modules[0].load_bias, base);
		CHECK_U64(m->modules[0].entry, base + 0x100);
		CHECK(m->modules[0].build_id_len == 20);
	}
	const vm_region *h = vm_map_region_at(m, base);
	CHECK(h->type == VM_TYPE_IMAGE && has_content(h, VM_CK_HEADER, "ELF header"));
	/* no file to read sections from: the segment is shown */
	CHECK(has_content(h, VM_CK_SEGMENT, "LOAD[0]"));
	CHECK(has_content(vm_map_region_at(m, base + 0x1000), VM_CK_SEGMENT, "LOAD[0]"));
	a = alloc_at(m, 0x500000);
	CHECK(a && a->usage == VM_USAGE_MAPPED);
	vm_map_free(m);
	fake_free(&f);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void heaps(void)
{
	fake_target f;
	fake_init(&f);
	uint64_t heap = 0x7f0004000000ull; /* 64 MiB aligned */
	fake_region(&f, heap, 0x21000, "rw-p", NULL, 0, 0);
	fake_region(&f, heap + 0x21000, (64u << 20) - 0x21000, "---p", NULL, 0, 0);
	uint8_t hi[32];
	put64(hi, heap + 0x30);  /* ar_ptr: the arena follows heap_info */
	put64(hi + 8, 0);        /* prev */
	put64(hi + 16, 0x21000); /* size */
	put64(hi + 24, 0x21000); /* mprotect_size */
	fake_memory(&f, heap, hi, sizeof hi);

	/* a 64 MiB-aligned mapping with a heap_info that does not hold */
	uint64_t fakeheap = 0x7f0008000000ull;
	fake_region(&f, fakeheap, 0x21000, "rw-p", NULL, 0, 0);
	put64(hi + 16, 1ull << 40);
	fake_memory(&f, fakeheap, hi, sizeof hi);

	/* two mmapped chunks sharing one VMA */
	uint64_t big = 0x7f1000000000ull;
	fake_region(&f, big, 0x5000, "rw-p", NULL, 0, 0);
	uint8_t c1[16], c2[16];
	put64(c1, 0);
	put64(c1 + 8, 0x2000 | 2);
	put64(c2, 0);
	put64(c2 + 8, 0x3000 | 2);
	fake_memory(&f, big, c1, 16);
	fake_memory(&f, big + 0x2000, c2, 16);

	fake_region(&f, 0x555555000000ull, 0x21000, "rw-p", "[heap]", 0, 0);

	vm_map *m = vm_map_build(&f.base, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	const vm_alloc *a = alloc_at(m, heap);
	CHECK(a && a->usage == VM_USAGE_HEAP && a->count == 2 && a->size == (64u << 20));
	CHECK(has_content(vm_map_region_at(m, heap), VM_CK_HEAP, "arena heap"));
	a = alloc_at(m, fakeheap);
	CHECK(a && a->usage == VM_USAGE_PRIVATE);
	/* one mmap each: the VMA is split, one allocation per chunk */
	for (int k = 0; k < 2; k++) {
		uint64_t at = k ? big + 0x2000 : big, size = k ? 0x3000 : 0x2000;
		a = alloc_at(m, at);
		CHECK(a && a->usage == VM_USAGE_HEAP && a->base == at && a->size == size && a->count == 1);
		const vm_region *r = vm_map_region_at(m, at);
		CHECK(r && r->base == at && r->size == size && r->ncontents == 1 &&
		      has_content(r, VM_CK_HEAP, "mmapped chunk"));
	}
	a = alloc_at(m, 0x555555000000ull);
	CHECK(a && a->usage == VM_USAGE_HEAP);
	vm_map_free(m);
	fake_free(&f);
}

/* #15 item 2: a library whose extent has a hole that a large malloc
 * chunk came to fill: the image claims anonymous memory inside its
 * extent, but a chunk header that tiles the VMA makes it malloc's */
static void chunk_in_image_extent(void)
{
	fake_target f;
	fake_init(&f);
	elf_built b;
	elf_build(&b, 64, false, 3, 0);
	uint64_t base = 0x7f0000000000ull;
	fake_region(&f, base, 0x1000, "r-xp", "/lib/libfake.so", 0, 99);
	fake_region(&f, base + 0x1000, 0x1000, "rw-p", NULL, 0, 0); /* .bss */
	fake_region(&f, base + 0x2000, 0x3000, "rw-p", NULL, 0, 0); /* the chunk, past the extent's end */
	fake_memory(&f, base, b.buf, 0x1000);
	uint8_t c[16];
	put64(c, 0);
	put64(c + 8, 0x3000 | 2);
	fake_memory(&f, base + 0x2000, c, 16);

	vm_map *m = vm_map_build(&f.base, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	const vm_alloc *a = alloc_at(m, base);
	CHECK(a && a->usage == VM_USAGE_IMAGE && a->size == 0x2000);
	a = alloc_at(m, base + 0x2000);
	CHECK(a && a->usage == VM_USAGE_HEAP && a->base == base + 0x2000 && a->size == 0x3000);
	const vm_region *r = vm_map_region_at(m, base + 0x2000);
	CHECK(r && r->type == VM_TYPE_PRIVATE && has_content(r, VM_CK_HEAP, "mmapped chunk"));
	vm_map_free(m);
	fake_free(&f);
}

static void stacks(void)
{
	fake_target f;
	fake_init(&f);
	fake_region(&f, 0x7f0000000000ull, 0x1000, "---p", NULL, 0, 0);
	fake_region(&f, 0x7f0000001000ull, 0x40000, "rw-p", NULL, 0, 0);
	/* a big reservation below a stack is no guard */
	fake_region(&f, 0x7f1000000000ull, 0x10000000, "---p", NULL, 0, 0);
	fake_region(&f, 0x7f1010000000ull, 0x40000, "rw-p", NULL, 0, 0);
	fake_region(&f, 0x7ffd00000000ull, 0x21000, "rw-p", "[stack]", 0, 0);
	vm_thread *t = fake_thread(&f, 100, 0x7ffd00020000ull);
	t->is_main = true;
	fake_thread(&f, 101, 0x7f0000030000ull);
	fake_thread(&f, 102, 0x7f1010030000ull);
	vm_map *m = vm_map_build(&f.base, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	const vm_alloc *a = alloc_at(m, 0x7f0000001000ull);
	CHECK(a && a->usage == VM_USAGE_STACK && a->count == 2 && a->base == 0x7f0000000000ull);
	CHECK(has_content(vm_map_region_at(m, 0x7f0000000000ull), VM_CK_GUARD, NULL));
	CHECK(m->threads[1].stack_base == 0x7f0000001000ull && m->threads[1].guard_size == 0x1000);
	a = alloc_at(m, 0x7f1010000000ull);
	CHECK(a && a->usage == VM_USAGE_STACK && a->count == 1);
	CHECK(alloc_at(m, 0x7f1000000000ull)->usage == VM_USAGE_RESERVED);
	a = alloc_at(m, 0x7ffd00000000ull);
	CHECK(a && a->usage == VM_USAGE_STACK);
	vm_map_free(m);
	fake_free(&f);
}

static void unsorted_overlapping(void)
{
	fake_target f;
	fake_init(&f);
	fake_region(&f, 0x30000, 0x1000, "rw-p", NULL, 0, 0);
	fake_region(&f, 0x10000, 0x4000, "r--p", NULL, 0, 0);
	fake_region(&f, 0x12000, 0x1000, "rw-p", NULL, 0, 0); /* inside the one before */
	fake_region(&f, 0xffffffffff600000ull, 0x1000, "r--p", "[vsyscall]", 0, 0);
	vm_map *m = vm_map_build(&f.base, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	for (size_t i = 1; i < m->nregions; i++)
		CHECK(m->regions[i - 1].base + m->regions[i - 1].size <= m->regions[i].base);
	size_t overlaps = 0;
	for (size_t i = 0; i < m->nwarnings; i++)
		overlaps += strstr(m->warnings[i], "overlaps") != NULL;
	CHECK(overlaps == 1);
	CHECK(vm_map_region_at(m, 0x12000)->base == 0x10000);
	CHECK(vm_map_region_at(m, 0xffffffffff600fffull) != NULL);
	vm_map_free(m);
	fake_free(&f);
}

static void unreadable_memory(void)
{
	fake_target f;
	fake_init(&f);
	fake_region(&f, 0x10000, 0x1000, "r--p", "/lib/x.so", 0, 5);
	vm_map *m = vm_map_build(&f.base, NULL); /* no memory blobs: every read fails */
	CHECK(m && m->incomplete && m->nwarnings == 1);
	if (m && m->nwarnings)
		CHECK(strstr(m->warnings[0], "cannot read the memory") != NULL);
	vm_map_free(m);
	fake_free(&f);
}

/* the target's kind, os and arch: each name parses back to its value,
 * and the spellings the snapshot file and JSON use do not move */
static void target_names(void)
{
	for (int k = 0; k < VM_TARGET_KIND_COUNT; k++)
		CHECK(vm_target_kind_parse(vm_target_kind_name((vm_target_kind)k)) == (vm_target_kind)k);
	for (int o = 0; o < VM_OS_COUNT; o++)
		CHECK(vm_os_parse(vm_os_name((vm_os)o)) == (vm_os)o);
	for (int a = 0; a < VM_ARCH_COUNT; a++)
		CHECK(vm_arch_parse(vm_arch_name((vm_arch)a)) == (vm_arch)a);
	CHECK_STR(vm_target_kind_name(VM_TARGET_LINUX_PROCESS), "linux-process");
	CHECK_STR(vm_target_kind_name(VM_TARGET_ELF_CORE), "elf-core");
	CHECK_STR(vm_os_name(VM_OS_WINDOWS), "windows");
	CHECK_STR(vm_arch_name(VM_ARCH_I386), "i386");
	CHECK(vm_target_kind_parse(NULL) == VM_TARGET_UNKNOWN);
	CHECK(vm_os_parse("plan9") == VM_OS_UNKNOWN);
	CHECK(vm_arch_parse("") == VM_ARCH_UNKNOWN);
	CHECK_STR(vm_arch_name((vm_arch)99), "unknown");
}

const unit_test map_tests[] = {
	{ "map/target_names", target_names },
	{ "map/unreadable_memory", unreadable_memory },
	{ "map/unsorted_overlapping", unsorted_overlapping },
	{ "map/grouping", grouping },
	{ "map/image_extent", image_extent },
	{ "map/heaps", heaps },
	{ "map/chunk_in_image_extent", chunk_in_image_extent },
	{ "map/stacks", stacks },
	{ NULL, NULL },
};
