/* libFuzzer harness: the NT heap walk over hostile memory. The input is
 * one byte (bit 0: a 32-bit process) and then memory placed at BASE in a
 * minidump made here around it, with one thread whose TEB is at BASE
 * (so the TEB's PEB pointer, the PEB's heap fields and the heaps all come
 * from the input). The map is built (the heap annotator), the heaps are
 * walked block by block, and whatis asked about a few addresses. Seeds:
 * tests/fuzz/nt_heap_seeds.py (a Wine heap out of a fixture's dump). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "target/minidump/md_target.h"
#include "vmatlas/heap.h"
#include "vmatlas/map.h"
#include "vmatlas/symbols.h"
#include "vmatlas/whatis.h"

#define BASE 0xc70000ull
#define NSTREAMS 3
#define HDR 32
#define DIR (HDR + 12 * NSTREAMS)
#define SYSINFO_AT DIR
#define THREADS_AT (SYSINFO_AT + 56)
#define MEM64_AT (THREADS_AT + 4 + 48)
#define DATA_AT (MEM64_AT + 16 + 16)

static void dir(uint8_t *d, int i, uint32_t type, uint32_t size, uint32_t rva)
{
	st_le32(d + HDR + 12 * i, type);
	st_le32(d + HDR + 12 * i + 4, size);
	st_le32(d + HDR + 12 * i + 8, rva);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (64u << 20))
		return 0;
	bool bits32 = data[0] & 1;
	size_t mlen = size - 1;
	uint8_t *d = calloc(1, DATA_AT + mlen);
	if (!d)
		return 0;
	st_le32(d, 0x504d444d); /* MDMP */
	st_le32(d + 4, 0xa793);
	st_le32(d + 8, NSTREAMS);
	st_le32(d + 12, HDR);
	dir(d, 0, 7, 56, SYSINFO_AT);
	dir(d, 1, 3, 4 + 48, THREADS_AT);
	dir(d, 2, 9, 16 + 16, MEM64_AT);
	st_le16(d + SYSINFO_AT, bits32 ? 0 : 9); /* x86, AMD64 */
	st_le32(d + SYSINFO_AT + 8, 10);         /* Windows 10 */
	st_le32(d + SYSINFO_AT + 20, 2);         /* VER_PLATFORM_WIN32_NT */
	st_le32(d + THREADS_AT, 1);
	st_le32(d + THREADS_AT + 4, 100);                /* tid */
	st_le64(d + THREADS_AT + 4 + 16, BASE);          /* its TEB */
	st_le64(d + MEM64_AT, 1);
	st_le64(d + MEM64_AT + 8, DATA_AT);
	st_le64(d + MEM64_AT + 16, BASE);
	st_le64(d + MEM64_AT + 24, mlen);
	memcpy(d + DATA_AT, data + 1, mlen);

	vm_reader r = vm_reader_mem(d, DATA_AT + mlen);
	vm_target *t = md_target_open_reader(&r, "fuzz");
	if (t) {
		vm_map_options mo = { .no_stats = true };
		vm_map *m = vm_map_build(t, &mo);
		if (m) {
			vm_heap_report h;
			vm_nt_heap_walk(m, t, VM_HEAP_CHUNKS, &h);
			vm_symbolizer *s = vm_symbolizer_new(m, t, 0);
			for (size_t i = 0; i < h.nsegs && i < 8; i++) {
				vm_whatis w;
				vm_whatis_query(m, t, s, &h, h.segs[i].base + h.segs[i].size / 2, &w);
				vm_whatis_free(&w);
			}
			vm_symbolizer_free(s);
			vm_heap_report_free(&h);
		}
		vm_map_free(m);
		vm_target_close(t);
	}
	free(d);
	return 0;
}
