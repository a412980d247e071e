/* The low-fragmentation front end of Windows' NT heap (Windows 8 to 11,
 * 64-bit and 32-bit), as far as its structures can be read without
 * ntdll's secrets. Its blocks live in "user blocks": one busy back-end
 * block each, whose user data begins with _HEAP_USERDATA_HEADER
 * {SubSegment, SizeIndex, Signature 0xf0e0d0c0, EncodedOffsets,
 * BusyBitmap {SizeOfBitMap, Buffer}, the bitmap}; its _HEAP_SUBSEGMENT
 * points back to it (UserBlocks) and holds the blocks' size in granules
 * of the back end (BlockSize) and their number (BlockCount). Those
 * fields are plain; where the first block lies (FirstAllocationOffset in
 * EncodedOffsets) and each block's own header are XORed with
 * RtlpLFHKey, a value in ntdll's data that only its symbols locate. So
 * each user block is recognised (its signature, the subsegment's back
 * link, the bitmap's size against the block count, all inside the
 * back-end block) and counted (bucket, block size, blocks, busy by the
 * bitmap), and the blocks themselves are not listed. Offsets: the public
 * symbols of ntdll (Windows 10, x64 and x86); the tests build user
 * blocks by this description (no Windows dump at hand). */
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"

#include "nt_walker.h"

#define UB_SIG 0xf0e0d0c0u

typedef struct lfh_layout {
	unsigned w, granule;
	/* _HEAP_USERDATA_HEADER: SizeOfBitMap is a word (RTL_BITMAP_EX) on
	 * 64-bit, 32 bits on 32-bit; hdr: where the bitmap's data begins */
	size_t ub_size_index, ub_signature, ub_bitmap_size, ub_bitmap_buffer, ub_hdr;
	/* _HEAP_SUBSEGMENT */
	size_t ss_user_blocks, ss_block_size, ss_block_count, ss_size;
} lfh_layout;

static const lfh_layout lfh64 = { 8, 16, 0x10, 0x14, 0x20, 0x28, 0x30, 0x08, 0x24, 0x28, 0x30 };
static const lfh_layout lfh32 = { 4, 8, 0x08, 0x0c, 0x14, 0x18, 0x1c, 0x04, 0x14, 0x18, 0x28 };

static uint64_t word_at(const uint8_t *p, unsigned w)
{
	return w == 8 ? ld_le64(p) : ld_le32(p);
}

void nt_lfh_user_blocks(ntw *k, vm_arena *a, uint64_t user, uint64_t usize, vm_chunk *c)
{
	const lfh_layout *L = k->m->info.bits == 32 ? &lfh32 : &lfh64;
	uint8_t h[0x30], s[0x30];
	uint64_t end;
	if (k->r->nlfh >= MAX_LFH_RUNS || usize < L->ub_hdr || add_overflow_u64(user, usize, &end) ||
	    !vm_reader_full(&k->rd, user, h, L->ub_hdr) || ld_le32(h + L->ub_signature) != UB_SIG)
		return;
	uint64_t sub = word_at(h, L->w), buf = word_at(h + L->ub_bitmap_buffer, L->w);
	uint64_t nbits = word_at(h + L->ub_bitmap_size, L->w);
	/* no link back: a program's own bytes that look like the header, or
	 * user blocks the LFH keeps cached for reuse; an ordinary busy block */
	if (!vm_reader_full(&k->rd, sub, s, L->ss_size) || word_at(s + L->ss_user_blocks, L->w) != user)
		return;
	uint32_t bsize = (uint32_t)ld_le16(s + L->ss_block_size) * L->granule;
	uint32_t count = ld_le16(s + L->ss_block_count);
	uint64_t bytes = (nbits + 7) / 8;
	/* the bitmap inside the back-end block, one bit a block, and the
	 * blocks no larger than the back-end block */
	if (!count || nbits != count || !bsize || buf < user + L->ub_hdr || buf > end || bytes > end - buf ||
	    (uint64_t)bsize * count > usize) {
		nt_problem(k, user, "LFH user blocks that do not hold together (%u blocks of %u bytes, bitmap of %llu)",
			   count, bsize, (unsigned long long)nbits);
		return;
	}
	uint8_t bm[(0xffffu + 7) / 8];
	if (!vm_reader_full(&k->rd, buf, bm, (size_t)bytes)) {
		nt_problem(k, buf, "LFH busy bitmap not in the dump's memory");
		return;
	}
	uint32_t busy = 0;
	for (uint32_t i = 0; i < count; i++)
		busy += (bm[i / 8] >> (i % 8)) & 1u;
	vm_heap_report *r = k->r;
	vm_lfh_run *run = ARRAY_PUSH(r->lfh, r->nlfh, r->lfhcap);
	*run = (vm_lfh_run){ .block = user, .subsegment = sub, .bucket = h[L->ub_size_index], .block_size = bsize,
			     .blocks = count, .busy = busy };
	a->lfh_runs++;
	a->lfh_blocks += count;
	a->lfh_busy += busy;
	if (c)
		c->lfh = (uint32_t)r->nlfh;
}
