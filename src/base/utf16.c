/* UTF-16LE (Windows strings: PE resources, minidumps, the PEB) to UTF-8;
 * unpaired surrogates become U+FFFD. */
#include "utf16.h"

#include "bytes.h"
#include "strbuf.h"

char *utf16le_to_utf8(const uint8_t *p, size_t units)
{
	strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < units; i++) {
		uint32_t c = ld_le16(p + 2 * i);
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
			uint32_t lo = ld_le16(p + 2 * i + 2);
			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd;
		char u[4];
		size_t n;
		if (c < 0x80) {
			u[0] = (char)c;
			n = 1;
		} else if (c < 0x800) {
			u[0] = (char)(0xc0 | c >> 6);
			u[1] = (char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			u[0] = (char)(0xe0 | c >> 12);
			u[1] = (char)(0x80 | (c >> 6 & 0x3f));
			u[2] = (char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			u[0] = (char)(0xf0 | c >> 18);
			u[1] = (char)(0x80 | (c >> 12 & 0x3f));
			u[2] = (char)(0x80 | (c >> 6 & 0x3f));
			u[3] = (char)(0x80 | (c & 0x3f));
			n = 4;
		}
		sb_add(&sb, u, n);
	}
	return sb_detach(&sb);
}
