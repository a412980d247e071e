/* The smaller PE directories: base relocations, debug (CodeView, POGO,
 * REPRO), TLS, load configuration, and the exception table. */
#include "pe_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"

int pe_read_relocs(pe_image *pe, pe_reloc_block **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_BASERELOC, &dir))
		return 0;
	size_t cap = 0;
	/* a block's entries are read a piece at a time: its size comes from
	 * the file and may claim gigabytes */
	enum { PIECE = 1u << 16 };
	uint8_t *buf = xmalloc(PIECE);
	for (uint32_t at = 0; at + 8 <= dir.size;) {
		uint8_t h[8];
		if (pe_read_rva(pe, dir.rva + at, h, 8) < 0) {
			pe_warn(pe, "the relocation directory runs off the image at RVA 0x%x", dir.rva + at);
			break;
		}
		uint32_t page = ld_le32(h), size = ld_le32(h + 4);
		if (size < 8 || size > dir.size - at) {
			if (size || page)
				pe_warn(pe, "relocation block at RVA 0x%x has size %u, outside the directory", dir.rva + at, size);
			break;
		}
		pe_reloc_block *b = ARRAY_PUSH(*out, *n, cap);
		memset(b, 0, sizeof *b);
		b->page_rva = page;
		b->size = size;
		b->n = (size - 8) / 2;
		for (uint32_t done = 0; done < 2 * b->n;) {
			uint32_t len = 2 * b->n - done < PIECE ? 2 * b->n - done : PIECE;
			if (pe_read_rva(pe, dir.rva + at + 8 + done, buf, len) < 0)
				break;
			for (uint32_t k = 0; k < len / 2; k++)
				b->count[ld_le16(buf + 2 * k) >> 12]++;
			done += len;
		}
		at += size;
	}
	free(buf);
	return 0;
}

/* ---- debug ---- */

static void codeview(pe_image *pe, pe_debug *d)
{
	uint8_t h[24];
	uint32_t size = d->size;
	if (size < 16)
		return;
	if (size > 24 + PE_MAX_NAME)
		size = 24 + PE_MAX_NAME; /* a header and a path: more is padding */
	uint8_t *b = xmalloc(size);
	int rc = d->rva ? pe_read_rva(pe, d->rva, b, size) : pe_read_off(pe, d->offset, b, size);
	if (rc < 0) {
		pe_warn(pe, "the CodeView record (%u bytes) cannot be read", size);
		free(b);
		return;
	}
	memcpy(h, b, size < 24 ? size : 24);
	memcpy(d->cv_sig, h, 4);
	d->cv_sig[4] = 0;
	size_t name_at = 0;
	if (!memcmp(h, "RSDS", 4) && size >= 24) {
		memcpy(d->guid, h + 4, 16);
		d->age = ld_le32(h + 20);
		name_at = 24;
	} else if (!memcmp(h, "NB10", 4) && size >= 16) {
		memcpy(d->guid, h + 8, 4); /* the signature (a timestamp) */
		d->age = ld_le32(h + 12);
		name_at = 16;
	}
	if (name_at) {
		char *nul = memchr(b + name_at, 0, size - name_at);
		if (nul)
			d->pdb = xstrndup((char *)b + name_at, (size_t)(nul - (char *)b - name_at));
		else
			pe_warn(pe, "the CodeView record's PDB path has no terminator");
	}
	free(b);
}

/* POGO: a signature, then entries {rva, size, name} padded to 4 bytes */
static void pogo(pe_image *pe, pe_debug *d)
{
	uint32_t size = d->size;
	if (size < 8 || !d->rva)
		return;
	if (size > (64u << 10))
		size = 64u << 10;
	uint8_t *b = xmalloc(size);
	if (pe_read_rva(pe, d->rva, b, size) < 0) {
		free(b);
		return;
	}
	strbuf sb = STRBUF_INIT;
	int count = 0;
	for (uint32_t at = 4; at + 9 <= size && count < 4096; count++) {
		const char *name = (const char *)b + at + 8;
		char *nul = memchr(name, 0, size - at - 8);
		if (!nul)
			break;
		if (sb.len)
			sb_puts(&sb, "; ");
		sb_add(&sb, name, (size_t)(nul - name));
		at = (uint32_t)((nul - (char *)b) + 1);
		at = (at + 3) & ~3u;
	}
	d->pogo = sb_detach(&sb);
	free(b);
}

static void repro(pe_image *pe, pe_debug *d)
{
	uint32_t size = d->size;
	if (size < 4 || size > 4096 || !d->rva)
		return;
	uint8_t *b = xmalloc(size);
	if (pe_read_rva(pe, d->rva, b, size) == 0) {
		uint32_t n = ld_le32(b);
		if (n <= size - 4) {
			char *hex = xmalloc(2 * (size_t)n + 1);
			for (uint32_t i = 0; i < n; i++)
				snprintf(hex + 2 * i, 3, "%02x", b[4 + i]);
			hex[2 * n] = 0;
			d->repro = hex;
		}
	}
	free(b);
}

int pe_read_debug(pe_image *pe, pe_debug **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_DEBUG, &dir))
		return 0;
	uint32_t count = dir.size / 28;
	if (count > 256) {
		pe_warn(pe, "the debug directory claims %u entries; 256 read", count);
		count = 256;
	}
	*out = xcalloc(count ? count : 1, sizeof **out);
	for (uint32_t i = 0; i < count; i++) {
		uint8_t e[28];
		if (pe_read_rva(pe, dir.rva + 28 * i, e, 28) < 0) {
			pe_warn(pe, "the debug directory runs off the image");
			break;
		}
		pe_debug *d = &(*out)[(*n)++];
		d->characteristics = ld_le32(e);
		d->timestamp = ld_le32(e + 4);
		d->major = ld_le16(e + 8);
		d->minor = ld_le16(e + 10);
		d->type = ld_le32(e + 12);
		d->size = ld_le32(e + 16);
		d->rva = ld_le32(e + 20);
		d->offset = ld_le32(e + 24);
		if (d->type == 2)
			codeview(pe, d);
		else if (d->type == 13)
			pogo(pe, d);
		else if (d->type == 16)
			repro(pe, d);
	}
	return 0;
}

void pe_debug_free(pe_debug *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].pdb);
		free(d[i].pogo);
		free(d[i].repro);
	}
	free(d);
}

/* ---- TLS ---- */

static bool va_to_rva(const pe_image *pe, uint64_t va, uint32_t *rva)
{
	if (va < pe->image_base || va - pe->image_base > UINT32_MAX)
		return false;
	*rva = (uint32_t)(va - pe->image_base);
	return true;
}

int pe_read_tls(pe_image *pe, pe_tls *out)
{
	memset(out, 0, sizeof *out);
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_TLS, &dir))
		return 1;
	size_t w = pe->bits == 64 ? 8 : 4;
	uint8_t t[48];
	if (pe_read_rva(pe, dir.rva, t, 4 * w + 8) < 0) {
		pe_warn(pe, "the TLS directory (RVA 0x%x) cannot be read", dir.rva);
		return -1;
	}
	uint64_t f[4];
	for (int i = 0; i < 4; i++)
		f[i] = ld_word(t + w * i, w);
	out->start = f[0];
	out->end = f[1];
	out->index = f[2];
	out->callbacks = f[3];
	out->zero_fill = ld_le32(t + 4 * w);
	out->characteristics = ld_le32(t + 4 * w + 4);
	uint32_t rva;
	if (!out->callbacks)
		return 0;
	if (!va_to_rva(pe, out->callbacks, &rva)) {
		pe_warn(pe, "the TLS callback list (0x%llx) lies outside the image", (unsigned long long)out->callbacks);
		return 0;
	}
	size_t cap = 0;
	for (size_t i = 0; i < 1024; i++) {
		uint8_t v[8];
		if (pe_read_rva(pe, rva + (uint32_t)(i * w), v, w) < 0)
			break;
		uint64_t cb = ld_word(v, w);
		if (!cb)
			break;
		*ARRAY_PUSH(out->cb, out->ncb, cap) = cb;
	}
	return 0;
}

/* ---- load configuration ---- */

int pe_read_load_config(pe_image *pe, pe_load_config *out)
{
	memset(out, 0, sizeof *out);
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_LOAD_CONFIG, &dir))
		return 1;
	uint8_t c[256] = { 0 };
	uint8_t sz[4];
	if (pe_read_rva(pe, dir.rva, sz, 4) < 0) {
		pe_warn(pe, "the load configuration (RVA 0x%x) cannot be read", dir.rva);
		return -1;
	}
	out->size = ld_le32(sz);
	size_t n = out->size < sizeof c ? out->size : sizeof c;
	if (n > 4 && pe_read_rva(pe, dir.rva, c, n) < 0) {
		pe_warn(pe, "the load configuration (%u bytes) runs off the image", out->size);
		n = 4;
	}
	out->timestamp = ld_le32(c + 4);
	out->major = ld_le16(c + 8);
	out->minor = ld_le16(c + 10);
	if (pe->bits == 64) {
		/* IMAGE_LOAD_CONFIG_DIRECTORY64 offsets */
		if (n >= 0x60) out->have[0] = true, out->security_cookie = ld_le64(c + 0x58);
		if (n >= 0x70) out->have[1] = true, out->se_handler_table = ld_le64(c + 0x60),
				out->se_handler_count = ld_le64(c + 0x68);
		if (n >= 0x94) {
			out->have[2] = true;
			out->guard_check = ld_le64(c + 0x70);
			out->guard_dispatch = ld_le64(c + 0x78);
			out->guard_table = ld_le64(c + 0x80);
			out->guard_count = ld_le64(c + 0x88);
			out->guard_flags = ld_le32(c + 0x90);
		}
	} else {
		if (n >= 0x40) out->have[0] = true, out->security_cookie = ld_le32(c + 0x3c);
		if (n >= 0x48) out->have[1] = true, out->se_handler_table = ld_le32(c + 0x40),
				out->se_handler_count = ld_le32(c + 0x44);
		if (n >= 0x5c) {
			out->have[2] = true;
			out->guard_check = ld_le32(c + 0x48);
			out->guard_dispatch = ld_le32(c + 0x4c);
			out->guard_table = ld_le32(c + 0x50);
			out->guard_count = ld_le32(c + 0x54);
			out->guard_flags = ld_le32(c + 0x58);
		}
	}
	return 0;
}

/* ---- exceptions (x64 / ARM64 .pdata) ---- */

int pe_read_exceptions(pe_image *pe, pe_exceptions *out)
{
	memset(out, 0, sizeof *out);
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_EXCEPTION, &dir))
		return 1;
	bool x64 = pe->machine == 0x8664;
	uint32_t esize = x64 ? 12 : 8; /* ARM64 / ARM: {begin, unwind data} */
	out->nfunctions = dir.size / esize;
	if (out->nfunctions > (1u << 20)) {
		pe_warn(pe, "the exception directory claims %u entries; the first %u read", out->nfunctions, 1u << 20);
		out->nfunctions = 1u << 20;
	}
	if (!x64)
		return 0;
	uint8_t buf[12 * 256];
	for (uint32_t i = 0; i < out->nfunctions; i += 256) {
		uint32_t batch = out->nfunctions - i < 256 ? out->nfunctions - i : 256;
		if (pe_read_rva(pe, dir.rva + i * 12, buf, batch * 12) < 0) {
			pe_warn(pe, "the exception directory runs off the image");
			out->nfunctions = i;
			break;
		}
		for (uint32_t k = 0; k < batch; k++) {
			uint32_t unwind = ld_le32(buf + 12 * k + 8);
			uint8_t u[4];
			if (!unwind || pe_read_rva(pe, unwind & ~1u, u, 4) < 0) {
				out->bad++;
				continue;
			}
			out->nunwind++;
			out->version[u[0] & 7]++;
			for (int b = 0; b < 5; b++)
				if (u[0] >> 3 & (1u << b))
					out->flags[b]++;
			out->ncodes += u[2];
		}
	}
	return 0;
}
