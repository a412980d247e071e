/* The candidate file of a value scan (docs/snapshot.md, "Scan files"):
 * a 72-byte header, then zstd-compressed (address delta, value) pairs. */
#include "vmatlas/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "base/atomic_file.h"
#include "base/bytes.h"
#include "base/slurp.h"
#include "base/util.h"
#include "vmatlas/error.h"

#define MAGIC "VMATSCAN"
#define HEADER 72
/* a varint delta of at most 10 bytes and a value of at most 8 */
#define MAX_RAW ((uint64_t)VM_SCAN_MAX * 18)

static size_t put_uleb(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
	} while (v);
	return n;
}

int vm_scan_write(const vm_scan *s, const char *path)
{
	size_t size = vm_scan_type_size(s->type);
	uint8_t *raw = xmalloc(s->n * (10 + size) + 1);
	size_t n = 0;
	uint64_t prev = 0;
	for (size_t i = 0; i < s->n; i++) {
		n += put_uleb(raw + n, s->addr[i] - prev);
		prev = s->addr[i];
		for (size_t k = 0; k < size; k++)
			raw[n++] = (uint8_t)(s->value[i] >> (8 * k));
	}
	size_t bound = ZSTD_compressBound(n);
	uint8_t *z = xmalloc(bound);
	size_t zn = ZSTD_compress(z, bound, raw, n, 3);
	free(raw);
	if (ZSTD_isError(zn)) {
		free(z);
		vm_seterr("compressing the candidates: %s", ZSTD_getErrorName(zn));
		return -1;
	}
	uint8_t h[HEADER] = { 0 };
	memcpy(h, MAGIC, 8);
	st_le32(h + 8, VM_SCAN_VERSION);
	h[12] = (uint8_t)s->type;
	h[13] = s->unaligned;
	st_le64(h + 16, (uint64_t)s->pid);
	st_le64(h + 24, s->start_time);
	st_le32(h + 32, s->round);
	st_le64(h + 40, s->n);
	st_le64(h + 48, n);
	st_le64(h + 56, zn);
	st_le64(h + 64, XXH3_64bits(z, zn));
	atomic_file f;
	int rc = -1;
	if (af_open(&f, path) == 0) {
		af_write(&f, h, sizeof h);
		af_write(&f, z, zn);
		rc = af_commit(&f);
	}
	free(z);
	return rc;
}

int vm_scan_read_buf(const uint8_t *buf, size_t len, vm_scan *out)
{
	memset(out, 0, sizeof *out);
	if (len < HEADER || memcmp(buf, MAGIC, 8) != 0) {
		vm_seterr("not a vmatlas scan file");
		return -1;
	}
	uint32_t version = ld_le32(buf + 8);
	if (version > VM_SCAN_VERSION) {
		vm_seterr("scan file version %u is newer than this vmatlas reads (%u)", version, VM_SCAN_VERSION);
		return -1;
	}
	uint64_t count = ld_le64(buf + 40), raw = ld_le64(buf + 48), comp = ld_le64(buf + 56);
	if (version == 0 || comp > len - HEADER) {
		vm_seterr("the scan file is truncated");
		return -1;
	}
	if (XXH3_64bits(buf + HEADER, (size_t)comp) != ld_le64(buf + 64)) {
		vm_seterr("the scan file is damaged (its checksum does not match)");
		return -1;
	}
	size_t size = vm_scan_type_size((vm_scan_type)buf[12]);
	if (!size || buf[13] > 1 || count > VM_SCAN_MAX || raw > MAX_RAW || count > raw / (1 + size) + (raw == 0) ||
	    ZSTD_getFrameContentSize(buf + HEADER, (size_t)comp) != raw) {
		vm_seterr("the scan file is damaged (its header does not hold together)");
		return -1;
	}
	uint8_t *p = xmalloc((size_t)raw + 1);
	size_t got = ZSTD_decompress(p, (size_t)raw, buf + HEADER, (size_t)comp);
	if (ZSTD_isError(got) || got != raw) {
		free(p);
		if (ZSTD_isError(got)) /* zstd says why (the Windows build: a compressed block) */
			vm_seterr("the scan file cannot be decompressed: %s", ZSTD_getErrorName(got));
		else
			vm_seterr("the scan file is damaged (it does not decompress)");
		return -1;
	}
	out->type = (vm_scan_type)buf[12];
	out->unaligned = buf[13];
	out->pid = (int64_t)ld_le64(buf + 16);
	out->start_time = ld_le64(buf + 24);
	out->round = ld_le32(buf + 32);
	out->addr = xcalloc(count ? count : 1, sizeof *out->addr);
	out->value = xcalloc(count ? count : 1, sizeof *out->value);
	size_t at = 0;
	uint64_t prev = 0;
	bool bad = false;
	for (uint64_t i = 0; i < count && !bad; i++) {
		uint64_t d = 0;
		unsigned shift = 0;
		for (;;) {
			if (at >= raw || shift > 63) {
				bad = true;
				break;
			}
			uint8_t b = p[at++];
			d |= (uint64_t)(b & 0x7f) << shift;
			shift += 7;
			if (!(b & 0x80))
				break;
		}
		/* ascending, and the value must fit below the top of the address space */
		if (bad || (i && d == 0) || add_overflow_u64(prev, d, &prev) || prev > UINT64_MAX - size ||
		    size > raw - at) {
			bad = true;
			break;
		}
		out->addr[i] = prev;
		for (size_t k = 0; k < size; k++)
			out->value[i] |= (uint64_t)p[at++] << (8 * k);
		out->n = (size_t)i + 1;
	}
	free(p);
	if (bad || at != raw) {
		vm_scan_free(out);
		vm_seterr("the scan file is damaged (its candidates do not hold together)");
		return -1;
	}
	return 0;
}

static int parse(const uint8_t *buf, size_t len, void *out)
{
	return vm_scan_read_buf(buf, len, out);
}

int vm_scan_read_file(const char *path, vm_scan *out)
{
	memset(out, 0, sizeof *out);
	return slurp_parse(path, MAX_RAW + HEADER, "scan file", parse, out);
}
