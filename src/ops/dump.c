#include "vmatlas/dump.h"

#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "vmatlas/error.h"

#define CHUNK (4u << 20)

static void hole(vm_dump_result *r, uint64_t addr, uint64_t size)
{
	if (r->nholes && r->holes[r->nholes - 1].addr + r->holes[r->nholes - 1].size == addr) {
		r->holes[r->nholes - 1].size += size;
		return;
	}
	vm_search_hole *h = ARRAY_PUSH(r->holes, r->nholes, r->cap);
	h->addr = addr;
	h->size = size;
}

/* copy [addr, addr+size) to the file at off; unreadable pages as zeros */
static void copy(vm_target *t, atomic_file *f, uint64_t addr, uint64_t size, uint64_t off,
		 uint64_t page, uint8_t *buf, vm_dump_result *r)
{
	uint64_t done = 0;
	while (done < size) {
		size_t want = size - done < CHUNK ? (size_t)(size - done) : CHUNK;
		ssize_t got = vm_read(t, addr + done, buf, want);
		size_t g = got > 0 ? (size_t)got : 0;
		if (g < want) { /* zero the page that failed, then go on */
			uint64_t bad = addr + done + g;
			uint64_t end = (bad / page + 1) * page;
			if (end > addr + size)
				end = addr + size;
			memset(buf + g, 0, (size_t)(end - bad));
			hole(r, bad, end - bad);
			g = (size_t)(end - (addr + done));
		}
		af_pwrite(f, buf, g, off + done);
		done += g;
		r->written += g;
	}
}

/* zeros for [addr, addr+size) at off, without reading (--fill): a hole
 * in a file, so a region a core claims but does not hold costs no disk */
static void zeros(atomic_file *f, uint64_t addr, uint64_t size, uint64_t off, vm_dump_result *r)
{
	hole(r, addr, size);
	af_zeros(f, size, off);
}

/* Holes are holes: a part of the range that is not mapped, or that the
 * target (a core, a dump) holds no bytes for, is an error unless the
 * caller asks for zeros there. Its first such part, or none. */
static bool first_gap(const vm_map *m, uint64_t addr, uint64_t size, uint64_t *lo, uint64_t *hi,
		      bool *mapped)
{
	uint64_t end = addr + size;
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (!ranges_overlap(r->base, r->size, addr, size))
			continue;
		uint64_t a = r->base > addr ? r->base : addr, b = r->base + r->size < end ? r->base + r->size : end;
		uint64_t data_end = r->base + vm_region_data_size(r);
		if (r->state == VM_STATE_FREE || data_end < b) {
			*lo = r->state == VM_STATE_FREE || data_end < a ? a : data_end;
			*hi = b;
			*mapped = r->state != VM_STATE_FREE;
			return true;
		}
	}
	return false;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int vm_dump(const vm_map *m, vm_target *t, uint64_t addr, uint64_t size, unsigned flags, const char *path,
	    vm_dump_result *out)
{
	memset(out, 0, sizeof *out);
	uint64_t page = m->info.page_size;
	bool elf = flags & VM_DUMP_ELF, fill = flags & VM_DUMP_FILL;
	uint64_t end;
	if (!size || add_overflow_u64(addr, size, &end) || end > m->info.user_top) {
		vm_seterr("0x%llx-0x%llx runs past the end of the user address space (0x%llx)",
			  (unsigned long long)addr, (unsigned long long)(addr + size),
			  (unsigned long long)m->info.user_top);
		return -1;
	}
	uint64_t glo, ghi;
	bool mapped;
	if (!elf && !fill && first_gap(m, addr, size, &glo, &ghi, &mapped)) {
		vm_seterr(mapped ? "the target holds no bytes for 0x%llx-0x%llx (--fill writes zeros there)"
				 : "0x%llx-0x%llx is not mapped (--fill writes zeros there)",
			  (unsigned long long)glo, (unsigned long long)ghi);
		return -1;
	}
	atomic_file f;
	/* an ELF dump writes its headers last */
	if ((elf ? af_open_seekable(&f, path) : af_open(&f, path)) < 0)
		return -1;
	uint8_t *buf = xmalloc(CHUNK);
	if (!elf) {
		/* what the target holds is read; the rest (only with --fill) is zeros */
		for (size_t i = 0; i < m->nregions && !f.failed; i++) {
			const vm_region *r = &m->regions[i];
			if (!ranges_overlap(r->base, r->size, addr, size))
				continue;
			uint64_t lo = r->base > addr ? r->base : addr, hi = r->base + r->size < end ? r->base + r->size : end;
			uint64_t data_end = r->state == VM_STATE_FREE ? lo : r->base + vm_region_data_size(r);
			uint64_t mid = data_end < lo ? lo : data_end > hi ? hi : data_end;
			if (mid > lo)
				copy(t, &f, lo, mid - lo, lo - addr, page, buf, out);
			if (hi > mid)
				zeros(&f, mid, hi - mid, mid - addr, out);
		}
	} else {
		/* one PT_LOAD for each region piece in the range */
		bool b64 = m->info.bits != 32;
		size_t ehsz = b64 ? 64 : 52, phsz = b64 ? 56 : 32, n = 0;
		for (size_t i = 0; i < m->nregions; i++)
			if (m->regions[i].state != VM_STATE_FREE &&
			    ranges_overlap(m->regions[i].base, m->regions[i].size, addr, size))
				n++;
		if (n > 65534) {
			free(buf);
			af_abort(&f);
			vm_seterr("too many regions for one ELF file");
			return -1;
		}
		uint8_t *hdr = xcalloc(1, ehsz + n * phsz);
		memcpy(hdr, "\177ELF", 4);
		hdr[EI_CLASS] = b64 ? ELFCLASS64 : ELFCLASS32;
		hdr[EI_DATA] = ELFDATA2LSB;
		hdr[EI_VERSION] = 1;
		put16(hdr + 16, ET_CORE);
		put16(hdr + 18, m->info.arch == VM_ARCH_I386 ? EM_386 : m->info.arch == VM_ARCH_AARCH64 ? EM_AARCH64 : EM_X86_64);
		put32(hdr + 20, 1);
		if (b64) {
			put64(hdr + 32, ehsz);
			put16(hdr + 52, (uint16_t)ehsz);
			put16(hdr + 54, (uint16_t)phsz);
			put16(hdr + 56, (uint16_t)n);
		} else {
			put32(hdr + 28, (uint32_t)ehsz);
			put16(hdr + 40, (uint16_t)ehsz);
			put16(hdr + 42, (uint16_t)phsz);
			put16(hdr + 44, (uint16_t)n);
		}
		uint64_t off = (ehsz + n * phsz + page - 1) / page * page;
		size_t k = 0;
		for (size_t i = 0; i < m->nregions; i++) {
			const vm_region *r = &m->regions[i];
			if (r->state == VM_STATE_FREE || !ranges_overlap(r->base, r->size, addr, size))
				continue;
			uint64_t lo = r->base > addr ? r->base : addr;
			uint64_t hi = r->base + r->size < addr + size ? r->base + r->size : addr + size;
			bool data = r->state == VM_STATE_COMMIT && (r->prot & VM_PROT_READ) &&
				    r->type != VM_TYPE_SPECIAL;
			uint32_t pf = ((r->prot & VM_PROT_READ) ? PF_R : 0) | ((r->prot & VM_PROT_WRITE) ? PF_W : 0) |
					 ((r->prot & VM_PROT_EXEC) ? PF_X : 0);
			uint8_t *ph = hdr + ehsz + k++ * phsz;
			/* filesz: what the target holds (0: not dumped) */
			uint64_t data_end = r->base + vm_region_data_size(r);
			uint64_t filesz = !data || data_end <= lo ? 0 : (data_end < hi ? data_end : hi) - lo;
			if (b64) {
				put32(ph, PT_LOAD);
				put32(ph + 4, pf);
				put64(ph + 8, off);
				put64(ph + 16, lo);
				put64(ph + 32, filesz);
				put64(ph + 40, hi - lo);
				put64(ph + 48, page);
			} else {
				put32(ph, PT_LOAD);
				put32(ph + 4, (uint32_t)off);
				put32(ph + 8, (uint32_t)lo);
				put32(ph + 16, (uint32_t)filesz);
				put32(ph + 20, (uint32_t)(hi - lo));
				put32(ph + 24, pf);
				put32(ph + 28, (uint32_t)page);
			}
			if (filesz)
				copy(t, &f, lo, filesz, off, page, buf, out);
			if (filesz < hi - lo)
				hole(out, lo + filesz, hi - lo - filesz);
			off += filesz;
		}
		out->loads = (unsigned)k;
		af_pwrite(&f, hdr, ehsz + n * phsz, 0);
		free(hdr);
	}
	free(buf);
	if (af_commit(&f) < 0) {
		vm_dump_result_free(out);
		return -1;
	}
	return 0;
}

void vm_dump_result_free(vm_dump_result *r)
{
	free(r->holes);
	memset(r, 0, sizeof *r);
}
