/* MiniDebugInfo: an xz-compressed ELF in .gnu_debugdata that holds the
 * symbols a stripped binary left out (Fedora, and some Debian builds). */
#include "minidebug.h"

#include <lzma.h>
#include <stdlib.h>

#include "base/util.h"

#define MAX_OUT (256u << 20)

bool minidebug_decompress(const uint8_t *in, size_t n, uint8_t **out, size_t *outn)
{
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&s, 1u << 30, 0) != LZMA_OK)
		return false;
	size_t cap = n * 4 + 4096, len = 0;
	if (cap > MAX_OUT)
		cap = MAX_OUT;
	uint8_t *buf = xmalloc(cap);
	s.next_in = in;
	s.avail_in = n;
	lzma_ret rc = LZMA_OK;
	while (rc == LZMA_OK) {
		if (len == cap) {
			if (cap >= MAX_OUT)
				break;
			cap = cap * 2 > MAX_OUT ? MAX_OUT : cap * 2;
			buf = xrealloc(buf, cap);
		}
		s.next_out = buf + len;
		s.avail_out = cap - len;
		rc = lzma_code(&s, LZMA_FINISH);
		len = cap - s.avail_out;
	}
	lzma_end(&s);
	if (rc != LZMA_STREAM_END) {
		free(buf);
		return false;
	}
	*out = buf;
	*outn = len;
	return true;
}
