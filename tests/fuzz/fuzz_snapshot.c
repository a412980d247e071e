/* libFuzzer harness: the snapshot reader. The first byte picks what the
 * rest is: a whole file as it is (the header checks), or the payload
 * inside a well-formed envelope (compressed, checksummed) so the fuzzer
 * reaches the section parsers past the checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "vmatlas/diff.h"
#include "vmatlas/snapshot.h"

static void use(const vm_snapshot *s)
{
	/* a diff with itself walks every table the reader built */
	vm_diff d;
	vm_diff_compute(s, s, &d);
	vm_diff_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	vm_snapshot s;
	if (data[0] & 1) {
		if (vm_snapshot_read_buf(in, n, &s) == 0) {
			use(&s);
			vm_snapshot_free(&s);
		}
		return 0;
	}
	size_t bound = ZSTD_compressBound(n);
	uint8_t *file = malloc(40 + bound);
	size_t zn = ZSTD_compress(file + 40, bound, in, n, 1);
	if (ZSTD_isError(zn)) {
		free(file);
		return 0;
	}
	uint32_t version = 1, flags = data[0] >> 1 & 3;
	uint64_t raw = n, comp = zn, sum = XXH3_64bits(file + 40, zn);
	memcpy(file, "VMATSNAP", 8);
	memcpy(file + 8, &version, 4);
	memcpy(file + 12, &flags, 4);
	memcpy(file + 16, &raw, 8);
	memcpy(file + 24, &comp, 8);
	memcpy(file + 32, &sum, 8);
	if (vm_snapshot_read_buf(file, 40 + zn, &s) == 0) {
		use(&s);
		vm_snapshot_free(&s);
	}
	free(file);
	return 0;
}
