/* libFuzzer harness: the scan-file reader. The first byte picks what the
 * rest is: a whole file, or (past a fixed header) the candidate stream
 * inside a well-formed envelope so the fuzzer gets past the checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "base/bytes.h"
#include "vmatlas/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	vm_scan s;
	if (data[0] & 1) {
		if (vm_scan_read_buf(data + 1, size - 1, &s) == 0)
			vm_scan_free(&s);
		return 0;
	}
	/* byte 1: the type; byte 2: the count; the rest: the stream */
	const uint8_t *in = data + 3;
	size_t n = size - 3;
	size_t bound = ZSTD_compressBound(n);
	uint8_t *file = malloc(72 + bound);
	size_t zn = ZSTD_compress(file + 72, bound, in, n, 1);
	if (ZSTD_isError(zn)) {
		free(file);
		return 0;
	}
	memset(file, 0, 72);
	memcpy(file, "VMATSCAN", 8);
	st_le32(file + 8, 1);
	file[12] = data[1] % 11;
	file[13] = data[0] >> 1 & 1;
	st_le64(file + 16, 1);
	st_le32(file + 32, 1);
	st_le64(file + 40, data[2]);
	st_le64(file + 48, n);
	st_le64(file + 56, zn);
	st_le64(file + 64, XXH3_64bits(file + 72, zn));
	if (vm_scan_read_buf(file, 72 + zn, &s) == 0)
		vm_scan_free(&s);
	free(file);
	return 0;
}
