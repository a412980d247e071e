/* The low-fragmentation front end of Windows' NT heap (Windows 8 to 11,
 * 64-bit), as far as its structures can be read without ntdll's secrets.
 * Its blocks live in "user blocks": one busy back-end block each, whose
 * user data begins with _HEAP_USERDATA_HEADER {SubSegment at 0, SizeIndex
 * at 0x10, Signature 0xf0e0d0c0 at 0x14, EncodedOffsets at 0x18,
 * BusyBitmap {SizeOfBitMap, Buffer} at 0x20, the bitmap at 0x30}; its
 * _HEAP_SUBSEGMENT points back to it (UserBlocks at 8) and holds the
 * blocks' size in 16-byte units (BlockSize at 0x24) and their number
 * (BlockCount at 0x28). Those fields are plain; where the first block
 * lies (FirstAllocationOffset in EncodedOffsets) and each block's own
 * header are XORed with RtlpLFHKey, a value in ntdll's data that only
 * its symbols locate. So each user block is recognised (its signature,
 * the subsegment's back link, the bitmap's size against the block count,
 * all inside the back-end block) and counted (bucket, block size,
 * blocks, busy by the bitmap), and the blocks themselves are not listed.
 * Offsets: the public symbols of ntdll (Windows 10, x64); the tests build
 * user blocks by this description (no Windows dump at hand). */
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"

#include "nt_walker.h"

#define UB_SUBSEGMENT 0x00
#define UB_SIZE_INDEX 0x10
#define UB_SIGNATURE 0x14
#define UB_BITMAP_SIZE 0x20
#define UB_BITMAP_BUFFER 0x28
#define UB_HDR 0x30
#define UB_SIG 0xf0e0d0c0u
#define SS_USER_BLOCKS 0x08
#define SS_BLOCK_SIZE 0x24
#define SS_BLOCK_COUNT 0x28
#define SS_SIZE 0x30
#define GRANULE 16u

void nt_lfh_user_blocks(ntw *k, vm_arena *a, uint64_t user, uint64_t usize, vm_chunk *c)
{
	uint8_t h[UB_HDR], s[SS_SIZE];
	uint64_t end;
	if (k->r->nlfh >= MAX_LFH_RUNS || usize < UB_HDR || add_overflow_u64(user, usize, &end) ||
	    !vm_reader_full(&k->rd, user, h, sizeof h) || ld_le32(h + UB_SIGNATURE) != UB_SIG)
		return;
	uint64_t sub = ld_le64(h + UB_SUBSEGMENT), nbits = ld_le64(h + UB_BITMAP_SIZE);
	uint64_t buf = ld_le64(h + UB_BITMAP_BUFFER);
	/* no link back: a program's own bytes that look like the header, or
	 * user blocks the LFH keeps cached for reuse; an ordinary busy block */
	if (!vm_reader_full(&k->rd, sub, s, sizeof s) || ld_le64(s + SS_USER_BLOCKS) != user)
		return;
	uint32_t bsize = (uint32_t)ld_le16(s + SS_BLOCK_SIZE) * GRANULE, count = ld_le16(s + SS_BLOCK_COUNT);
	uint64_t bytes = (nbits + 7) / 8;
	/* the bitmap inside the back-end block, one bit a block, and the
	 * blocks no larger than the back-end block */
	if (!count || nbits != count || !bsize || buf < user + UB_HDR || buf > end || bytes > end - buf ||
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
	*run = (vm_lfh_run){ .block = user, .subsegment = sub, .bucket = h[UB_SIZE_INDEX], .block_size = bsize,
			     .blocks = count, .busy = busy };
	a->lfh_runs++;
	a->lfh_blocks += count;
	a->lfh_busy += busy;
	if (c)
		c->lfh = (uint32_t)r->nlfh;
}
