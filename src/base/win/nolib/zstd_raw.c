/* zstd frames without compression, for a Windows build without libzstd
 * (see nolib/zstd.h): the frame format of RFC 8878 with raw blocks on
 * writing; raw and RLE blocks on reading. Every size is checked against
 * the buffers: a hostile frame is an error, never an overrun. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <zstd.h>

#define MAGIC 0xFD2FB528u
#define BLOCK_MAX (128u << 10)
#define ERR_STORED ((size_t)-1) /* a compressed block: needs the library */
#define ERR_FRAME ((size_t)-2)  /* not a frame, or a damaged one */
#define ERR_ROOM ((size_t)-3)   /* the output does not fit */

size_t ZSTD_compressBound(size_t n)
{
	return n + 14 + 3 * (n / BLOCK_MAX + 1);
}

size_t ZSTD_compress(void *dst, size_t cap, const void *src, size_t n, int level)
{
	(void)level;
	if (cap < ZSTD_compressBound(n))
		return ERR_ROOM;
	uint8_t *o = dst;
	const uint8_t *in = src;
	size_t k = 0;
	uint64_t size = n;
	for (int i = 0; i < 4; i++)
		o[k++] = (uint8_t)(MAGIC >> (8 * i));
	o[k++] = 0xE0; /* 8-byte content size, single segment, no checksum */
	for (int i = 0; i < 8; i++)
		o[k++] = (uint8_t)(size >> (8 * i));
	size_t done = 0;
	do {
		size_t b = n - done < BLOCK_MAX ? n - done : BLOCK_MAX;
		uint32_t h = (uint32_t)b << 3 | (done + b == n); /* raw block, last? */
		o[k++] = (uint8_t)h;
		o[k++] = (uint8_t)(h >> 8);
		o[k++] = (uint8_t)(h >> 16);
		memcpy(o + k, in + done, b);
		k += b;
		done += b;
	} while (done < n);
	return k;
}

typedef struct frame {
	size_t at;              /* where the blocks start */
	unsigned long long fcs; /* content size, or unknown */
	bool checksum;
} frame;

static bool header(const uint8_t *p, size_t n, frame *f)
{
	if (n < 5 || (p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24) != MAGIC)
		return false;
	uint8_t d = p[4];
	unsigned fcs_flag = d >> 6, single = d >> 5 & 1, dict = d & 3;
	if (d & 0x08) /* reserved bit */
		return false;
	static const unsigned dict_len[] = { 0, 1, 2, 4 }, fcs_len[] = { 0, 2, 4, 8 };
	size_t fl = fcs_flag == 0 ? single : fcs_len[fcs_flag];
	size_t at = 5 + !single + dict_len[dict];
	if (at + fl > n)
		return false;
	unsigned long long v = 0;
	for (size_t i = 0; i < fl; i++)
		v |= (unsigned long long)p[at + i] << (8 * i);
	if (fl == 2)
		v += 256;
	f->fcs = fl ? v : ZSTD_CONTENTSIZE_UNKNOWN;
	f->at = at + fl;
	f->checksum = d >> 2 & 1;
	return true;
}

unsigned long long ZSTD_getFrameContentSize(const void *src, size_t n)
{
	frame f;
	return header(src, n, &f) ? f.fcs : ZSTD_CONTENTSIZE_ERROR;
}

size_t ZSTD_decompress(void *dst, size_t cap, const void *src, size_t n)
{
	const uint8_t *p = src;
	uint8_t *o = dst;
	frame f;
	if (!header(p, n, &f))
		return ERR_FRAME;
	size_t at = f.at, out = 0;
	for (;;) {
		if (n - at < 3)
			return ERR_FRAME;
		uint32_t h = p[at] | p[at + 1] << 8 | (uint32_t)p[at + 2] << 16;
		at += 3;
		size_t size = h >> 3;
		unsigned type = h >> 1 & 3;
		if (type == 2)
			return ERR_STORED;
		if (type == 3 || size > BLOCK_MAX)
			return ERR_FRAME;
		if (size > cap - out)
			return ERR_ROOM;
		if (type == 0) {
			if (size > n - at)
				return ERR_FRAME;
			memcpy(o + out, p + at, size);
			at += size;
		} else {
			if (n - at < 1)
				return ERR_FRAME;
			memset(o + out, p[at], size);
			at += 1;
		}
		out += size;
		if (h & 1)
			break;
	}
	if (f.checksum && n - at < 4)
		return ERR_FRAME;
	return out;
}

unsigned ZSTD_isError(size_t code)
{
	return code >= ERR_ROOM;
}

const char *ZSTD_getErrorName(size_t code)
{
	switch (code) {
	case ERR_STORED: return "a compressed zstd block: the Windows build reads only uncompressed ones";
	case ERR_FRAME: return "not a zstd frame, or a damaged one";
	case ERR_ROOM: return "the data is larger than its header says";
	default: return "no error";
	}
}
