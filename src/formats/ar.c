/* Archives ("!<arch>\n"): GNU and MSVC (.a, .lib) with their long-name
 * tables, BSD names, and MSVC short import objects. Members are listed
 * by offset; their bytes are read through the archive's reader. */
#include "vmatlas/ar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"
#include "vmatlas/error.h"

#define MAX_MEMBERS (1u << 20)

bool ar_is_magic(const void *buf, size_t len)
{
	return len >= 8 && !memcmp(buf, "!<arch>\n", 8);
}

static uint64_t field(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v;
}

static char *trimmed(const uint8_t *p, size_t n)
{
	while (n && p[n - 1] == ' ')
		n--;
	return xstrndup((const char *)p, n);
}

/* an MSVC short import object: "sig1 0, sig2 0xffff" and a DLL and symbol name */
static void import_object(const vm_reader *r, ar_member *m)
{
	uint8_t h[20];
	if (m->size < 20 || !vm_reader_full(r, m->offset, h, 20) || ld_le16(h) != 0 || ld_le16(h + 2) != 0xffff)
		return;
	uint32_t len = ld_le32(h + 12);
	if (len > m->size - 20 || len > 65536)
		return;
	char *b = xmalloc((size_t)len + 1);
	if (vm_reader_full(r, m->offset + 20, b, len)) {
		b[len] = 0;
		size_t sl = strnlen(b, len);
		m->import_symbol = xstrdup(b);
		if (sl + 1 < len)
			m->import_dll = xstrndup(b + sl + 1, len - sl - 1);
		m->import_ordinal_hint = ld_le16(h + 16);
		m->import_type = h[18] & 3;
		m->is_import = true;
	}
	free(b);
}

int ar_open(ar_archive *a, const vm_reader *r)
{
	memset(a, 0, sizeof *a);
	uint8_t magic[8];
	if (!vm_reader_full(r, 0, magic, 8) || !ar_is_magic(magic, 8)) {
		vm_seterr("not an archive");
		return -1;
	}
	size_t cap = 0;
	char *longnames = NULL;
	uint64_t nlong = 0;
	for (uint64_t at = 8; at + 60 <= r->size;) {
		uint8_t h[60];
		if (!vm_reader_full(r, at, h, 60))
			break;
		if (h[58] != '`' || h[59] != '\n') {
			a->warnings = xasprintf("a member header at offset 0x%llx is damaged; the rest left out",
						(unsigned long long)at);
			break;
		}
		uint64_t size = field(h + 48, 10), data = at + 60;
		if (size > r->size - data) {
			a->warnings = xasprintf("member at offset 0x%llx runs past the end of the archive",
						(unsigned long long)at);
			size = r->size - data;
		}
		if (a->n >= MAX_MEMBERS) {
			a->warnings = xasprintf("more than %u members; the rest left out", MAX_MEMBERS);
			break;
		}
		ar_member *m = ARRAY_PUSH(a->m, a->n, cap);
		memset(m, 0, sizeof *m);
		m->header_offset = at;
		m->offset = data;
		m->size = size;
		m->date = field(h + 16, 12);
		if (h[0] == '/' && (h[1] == ' ' || (h[1] == '/' && h[2] == ' '))) {
			/* "/": symbol index; "//": the long-name table */
			m->name = trimmed(h, 16);
			m->is_special = true;
			if (h[1] == '/' && !longnames && size <= (64u << 20)) {
				longnames = xmalloc(size + 1);
				if (!vm_reader_full(r, data, longnames, size))
					size = 0;
				longnames[size] = 0;
				nlong = size;
			}
		} else if (h[0] == '/' && h[1] >= '0' && h[1] <= '9') {
			uint64_t off = field(h + 1, 15);
			if (longnames && off < nlong) {
				size_t end = off;
				while (end < nlong && longnames[end] != '\n' && longnames[end] != 0)
					end++;
				if (end > off && longnames[end - 1] == '/')
					end--; /* GNU ends names with "/" */
				m->name = xstrndup(longnames + off, end - off);
			} else {
				m->name = trimmed(h, 16);
			}
		} else if (!memcmp(h, "#1/", 3)) {
			/* BSD: the name is the first bytes of the data */
			uint64_t nl = field(h + 3, 13);
			if (nl <= size && nl <= 4096) {
				char *nm = xmalloc(nl + 1);
				if (vm_reader_full(r, data, nm, nl)) {
					nm[nl] = 0;
					m->name = xstrdup(nm);
				}
				free(nm);
				m->offset += nl;
				m->size -= nl;
			}
			if (!m->name)
				m->name = trimmed(h, 16);
		} else {
			size_t n = 16;
			while (n && (h[n - 1] == ' '))
				n--;
			if (n && h[n - 1] == '/')
				n--;
			m->name = xstrndup((const char *)h, n);
		}
		if (!m->is_special)
			import_object(r, m);
		at = data + size + (size & 1); /* members are 2-aligned */
	}
	free(longnames);
	return 0;
}

void ar_close(ar_archive *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->m[i].name);
		free(a->m[i].import_dll);
		free(a->m[i].import_symbol);
	}
	free(a->m);
	free(a->warnings);
	memset(a, 0, sizeof *a);
}
