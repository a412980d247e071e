/* Imports (regular, delay-load, bound) and exports of a PE image. Tables
 * end where their terminator is, where the file ends, or at a bound on
 * their size, whichever comes first; each cut is a warning. */
#include "pe_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* How many thunks all import tables together may list: what the image
 * can hold, as if each thunk had bytes of its own. A hostile file that
 * points thousands of DLLs at one long table would otherwise list it
 * thousands of times. */
static uint64_t thunk_budget(const pe_image *pe)
{
	uint64_t bytes = pe->in_memory || pe->file_size == UINT64_MAX ? pe->size_image : pe->file_size;
	return bytes / (pe->bits == 64 ? 8 : 4);
}

/* the thunks of one table, each 4 or 8 bytes, up to the zero one; *left
 * is what the budget still allows */
static uint64_t *read_thunks(pe_image *pe, uint32_t rva, size_t *n, const char *dll, uint64_t *left)
{
	size_t w = pe->bits == 64 ? 8 : 4, cap = 0;
	uint64_t *v = NULL;
	*n = 0;
	uint8_t buf[256 * 8];
	for (;;) {
		size_t batch = 256;
		if (pe_read_rva(pe, rva, buf, batch * w) < 0) {
			/* near the end of what is readable: one at a time */
			batch = 1;
			if (pe_read_rva(pe, rva, buf, w) < 0) {
				pe_warn(pe, "%s: its thunk table runs off the image at RVA 0x%x", dll, rva);
				return v;
			}
		}
		for (size_t i = 0; i < batch; i++) {
			uint64_t t = ld_word(buf + w * i, w);
			if (!t)
				return v;
			if (*n >= PE_MAX_FUNCS) {
				pe_warn(pe, "%s: more than %u imports; the rest left out", dll, PE_MAX_FUNCS);
				return v;
			}
			if (!*left) {
				pe_warn(pe, "%s: the import tables list more thunks than the image holds; the rest "
					    "left out", dll);
				return v;
			}
			--*left;
			*ARRAY_PUSH(v, *n, cap) = t;
		}
		if ((uint64_t)rva + batch * w > UINT32_MAX)
			return v;
		rva += (uint32_t)(batch * w);
	}
}

static void fill_functions(pe_image *pe, pe_import_dll *d, uint32_t lookup_rva, bool delay_va, uint64_t *left)
{
	size_t nint = 0, niat = 0;
	const char *dll = d->dll ? d->dll : "?";
	uint64_t *lookup = read_thunks(pe, lookup_rva ? lookup_rva : d->iat_rva, &nint, dll, left);
	uint64_t *iat = lookup_rva && d->iat_rva ? read_thunks(pe, d->iat_rva, &niat, dll, left) : NULL;
	uint64_t flag = pe->bits == 64 ? 1ull << 63 : 1ull << 31;
	d->fn = xcalloc(nint ? nint : 1, sizeof *d->fn);
	for (size_t i = 0; i < nint; i++) {
		pe_import_fn *f = &d->fn[d->nfn++];
		uint64_t t = lookup[i];
		f->int_value = t;
		f->iat_value = i < niat ? iat[i] : (lookup_rva ? 0 : t);
		f->thunk_rva = d->iat_rva + (uint32_t)(i * (pe->bits == 64 ? 8 : 4));
		if (t & flag) {
			f->by_ordinal = true;
			f->ordinal = (uint16_t)t;
			continue;
		}
		uint64_t hint_rva = t & 0x7fffffffu;
		if (delay_va)
			hint_rva = (t - pe->image_base) & 0xffffffffu;
		uint8_t h[2];
		if (pe_read_rva(pe, (uint32_t)hint_rva, h, 2) < 0) {
			/* the table is not what it claims: what follows is noise */
			pe_warn(pe, "%s: import %zu names RVA 0x%llx, outside the image; the rest of its table left out",
				dll, i, (unsigned long long)hint_rva);
			d->nfn--;
			break;
		}
		f->hint = ld_le16(h);
		f->name = pe_string_rva(pe, (uint32_t)hint_rva + 2, PE_MAX_NAME);
		if (!f->name)
			pe_warn(pe, "%s: import %zu has no readable, terminated name", dll, i);
	}
	free(lookup);
	free(iat);
}

int pe_read_imports(pe_image *pe, pe_imports *out)
{
	memset(out, 0, sizeof *out);
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_IMPORT, &dir))
		return 0;
	size_t cap = 0;
	uint64_t left = thunk_budget(pe);
	for (uint32_t at = dir.rva;; at += 20) {
		uint8_t d[20];
		if (pe_read_rva(pe, at, d, 20) < 0) {
			pe_warn(pe, "the import directory runs off the image at RVA 0x%x", at);
			break;
		}
		static const uint8_t zero[20];
		if (!memcmp(d, zero, 20))
			break;
		if (out->n >= PE_MAX_DLLS) {
			pe_warn(pe, "more than %u imported DLLs; the rest left out", PE_MAX_DLLS);
			break;
		}
		pe_import_dll *x = ARRAY_PUSH(out->dll, out->n, cap);
		memset(x, 0, sizeof *x);
		x->int_rva = ld_le32(d);
		x->timestamp = ld_le32(d + 4);
		x->forwarder_chain = ld_le32(d + 8);
		x->name_rva = ld_le32(d + 12);
		x->iat_rva = ld_le32(d + 16);
		x->dll = pe_string_rva(pe, x->name_rva, PE_MAX_NAME);
		if (!x->dll)
			pe_warn(pe, "import %zu: its DLL name (RVA 0x%x) cannot be read", out->n - 1, x->name_rva);
		fill_functions(pe, x, x->int_rva, false, &left);
		if (at > UINT32_MAX - 40)
			break;
	}
	return 0;
}

int pe_read_delay_imports(pe_image *pe, pe_imports *out)
{
	memset(out, 0, sizeof *out);
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_DELAY_IMPORT, &dir))
		return 0;
	size_t cap = 0;
	uint64_t left = thunk_budget(pe);
	for (uint32_t at = dir.rva;; at += 32) {
		uint8_t d[32];
		if (pe_read_rva(pe, at, d, 32) < 0) {
			pe_warn(pe, "the delay-import directory runs off the image at RVA 0x%x", at);
			break;
		}
		uint32_t attr = ld_le32(d), name = ld_le32(d + 4);
		if (!name)
			break;
		if (out->n >= PE_MAX_DLLS) {
			pe_warn(pe, "more than %u delay-loaded DLLs; the rest left out", PE_MAX_DLLS);
			break;
		}
		/* attribute bit 0 clear: an old descriptor holding addresses, not RVAs */
		bool va = !(attr & 1);
		uint32_t base = va ? (uint32_t)pe->image_base : 0;
		pe_import_dll *x = ARRAY_PUSH(out->dll, out->n, cap);
		memset(x, 0, sizeof *x);
		x->attributes = attr;
		x->name_rva = name - base;
		x->module_handle_rva = ld_le32(d + 8) - base;
		x->iat_rva = ld_le32(d + 12) - base;
		x->int_rva = ld_le32(d + 16) - base;
		x->timestamp = ld_le32(d + 28);
		x->dll = pe_string_rva(pe, x->name_rva, PE_MAX_NAME);
		if (!x->dll)
			pe_warn(pe, "delay import %zu: its DLL name cannot be read", out->n - 1);
		fill_functions(pe, x, x->int_rva, va, &left);
		if (at > UINT32_MAX - 64)
			break;
	}
	return 0;
}

void pe_imports_free(pe_imports *im)
{
	for (size_t i = 0; i < im->n; i++) {
		for (size_t k = 0; k < im->dll[i].nfn; k++)
			free(im->dll[i].fn[k].name);
		free(im->dll[i].fn);
		free(im->dll[i].dll);
	}
	free(im->dll);
	memset(im, 0, sizeof *im);
}

int pe_read_bound_imports(pe_image *pe, pe_bound **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_BOUND_IMPORT, &dir))
		return 0;
	size_t cap = 0;
	/* the directory lives in the headers: its RVA is a file offset */
	for (uint32_t at = 0; at + 8 <= dir.size && *n < PE_MAX_DLLS; at += 8) {
		uint8_t d[8];
		if (pe_read_rva(pe, dir.rva + at, d, 8) < 0) {
			pe_warn(pe, "the bound-import directory runs off the image");
			break;
		}
		uint32_t ts = ld_le32(d);
		uint16_t name = ld_le16(d + 4), nfwd = ld_le16(d + 6);
		if (!ts && !name)
			break;
		size_t before = *n;
		pe_bound *b = ARRAY_PUSH(*out, *n, cap);
		b->timestamp = ts;
		b->nforwarders = nfwd;
		b->forwarder = false;
		b->dll = pe_string_rva(pe, dir.rva + name, 256);
		/* its forwarder refs follow, of the same shape */
		for (uint16_t k = 0; k < nfwd && at + 16 <= dir.size && *n < PE_MAX_DLLS; k++) {
			at += 8;
			if (pe_read_rva(pe, dir.rva + at, d, 8) < 0)
				break;
			pe_bound *f = ARRAY_PUSH(*out, *n, cap);
			f->timestamp = ld_le32(d);
			f->nforwarders = 0;
			f->forwarder = true;
			f->dll = pe_string_rva(pe, dir.rva + ld_le16(d + 4), 256);
		}
		(void)before;
	}
	return 0;
}

void pe_bound_free(pe_bound *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].dll);
	free(b);
}

/* ---- exports ---- */

static uint32_t *read_u32s(pe_image *pe, uint32_t rva, uint32_t count, const char *what)
{
	if (!count)
		return NULL;
	uint8_t *raw = xmalloc((size_t)count * 4);
	if (pe_read_rva(pe, rva, raw, (size_t)count * 4) < 0) {
		pe_warn(pe, "the export %s table (%u entries at RVA 0x%x) runs off the image", what, count, rva);
		free(raw);
		return NULL;
	}
	uint32_t *v = xmalloc((size_t)count * 4);
	for (uint32_t i = 0; i < count; i++)
		v[i] = ld_le32(raw + 4 * i);
	free(raw);
	return v;
}

static uint16_t *read_u16s(pe_image *pe, uint32_t rva, uint32_t count)
{
	if (!count)
		return NULL;
	uint8_t *raw = xmalloc((size_t)count * 2);
	if (pe_read_rva(pe, rva, raw, (size_t)count * 2) < 0) {
		pe_warn(pe, "the export ordinal table (%u entries at RVA 0x%x) runs off the image", count, rva);
		free(raw);
		return NULL;
	}
	uint16_t *v = xmalloc((size_t)count * 2);
	for (uint32_t i = 0; i < count; i++)
		v[i] = ld_le16(raw + 2 * i);
	free(raw);
	return v;
}

int pe_read_exports(pe_image *pe, pe_exports *out)
{
	memset(out, 0, sizeof *out);
	pe_dir dir;
	if (!pe_dir_get(pe, PE_DIR_EXPORT, &dir))
		return 0;
	uint8_t d[40];
	if (pe_read_rva(pe, dir.rva, d, 40) < 0) {
		pe_warn(pe, "the export directory (RVA 0x%x) cannot be read", dir.rva);
		return 0;
	}
	out->characteristics = ld_le32(d);
	out->timestamp = ld_le32(d + 4);
	out->major = ld_le16(d + 8);
	out->minor = ld_le16(d + 10);
	out->dll_name = pe_string_rva(pe, ld_le32(d + 12), PE_MAX_NAME);
	out->base = ld_le32(d + 16);
	out->nfunctions = ld_le32(d + 20);
	out->nnames = ld_le32(d + 24);
	uint32_t nf = out->nfunctions, nn = out->nnames;
	if (nf > PE_MAX_FUNCS || nn > PE_MAX_FUNCS) {
		pe_warn(pe, "the export directory claims %u functions and %u names; at most %u are read", nf, nn,
			PE_MAX_FUNCS);
		nf = nf > PE_MAX_FUNCS ? PE_MAX_FUNCS : nf;
		nn = nn > PE_MAX_FUNCS ? PE_MAX_FUNCS : nn;
	}
	uint32_t *funcs = read_u32s(pe, ld_le32(d + 28), nf, "address");
	uint32_t *names = read_u32s(pe, ld_le32(d + 32), nn, "name");
	uint16_t *ords = names ? read_u16s(pe, ld_le32(d + 36), nn) : NULL;
	if (!funcs)
		nf = 0;
	if (!names || !ords)
		nn = 0;
	/* names per function index: a count, then a running fill */
	uint32_t *first = xcalloc((size_t)nf + 1, sizeof *first);
	for (uint32_t i = 0; i < nn; i++)
		if (ords[i] < nf)
			first[ords[i] + 1]++;
		else
			pe_warn(pe, "export name %u has ordinal index %u, past the %u functions", i, ords[i], nf);
	for (uint32_t i = 0; i < nf; i++)
		first[i + 1] += first[i];
	uint32_t *byfn = xcalloc((size_t)nn + 1, sizeof *byfn), *fill = xcalloc((size_t)nf + 1, sizeof *fill);
	for (uint32_t i = 0; i < nn; i++)
		if (ords[i] < nf)
			byfn[first[ords[i]] + fill[ords[i]]++] = names[i];
	size_t cap = 0;
	for (uint32_t i = 0; i < nf; i++) {
		if (!funcs[i])
			continue;
		uint32_t k0 = first[i], k1 = first[i + 1];
		for (uint32_t k = k0; k == k0 || k < k1; k++) {
			pe_export *e = ARRAY_PUSH(out->e, out->n, cap);
			memset(e, 0, sizeof *e);
			e->ordinal = out->base + i;
			e->rva = funcs[i];
			if (k < k1) {
				e->name = pe_string_rva(pe, byfn[k], PE_MAX_NAME);
				if (!e->name)
					pe_warn(pe, "export ordinal %u: its name cannot be read", e->ordinal);
			}
			/* an RVA inside the directory is a forwarder's "DLL.name",
			   never code: one that cannot be read is still one */
			if (e->rva >= dir.rva && e->rva - dir.rva < dir.size &&
			    !(e->forwarder = pe_string_rva(pe, e->rva, PE_MAX_NAME))) {
				pe_warn(pe, "export ordinal %u: its forwarder name cannot be read", e->ordinal);
				e->forwarder = xstrdup("?");
			}
		}
	}
	free(first);
	free(fill);
	free(byfn);
	free(funcs);
	free(names);
	free(ords);
	return 0;
}

void pe_exports_free(pe_exports *ex)
{
	for (size_t i = 0; i < ex->n; i++) {
		free(ex->e[i].name);
		free(ex->e[i].forwarder);
	}
	free(ex->e);
	free(ex->dll_name);
	memset(ex, 0, sizeof *ex);
}
