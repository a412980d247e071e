/* libFuzzer harness: the PE/COFF parser and the archive reader, every
 * table of each. The first byte picks: a PE image (as a file, or as if
 * mapped in memory), a COFF object, or an archive of them. */
#include <stdint.h>
#include <stdlib.h>

#include "vmatlas/ar.h"
#include "vmatlas/pe.h"

static void tables(pe_image *pe)
{
	pe_imports im;
	pe_read_imports(pe, &im);
	pe_imports_free(&im);
	pe_read_delay_imports(pe, &im);
	pe_imports_free(&im);
	pe_bound *b;
	size_t n;
	pe_read_bound_imports(pe, &b, &n);
	pe_bound_free(b, n);
	pe_exports ex;
	pe_read_exports(pe, &ex);
	pe_exports_free(&ex);
	pe_reloc_block *rb;
	pe_read_relocs(pe, &rb, &n);
	free(rb);
	pe_resource *rs;
	pe_read_resources(pe, &rs, &n);
	pe_resources_free(rs, n);
	pe_debug *d;
	pe_read_debug(pe, &d, &n);
	pe_debug_free(d, n);
	pe_tls t;
	if (pe_read_tls(pe, &t) == 0)
		free(t.cb);
	pe_load_config lc;
	pe_read_load_config(pe, &lc);
	pe_exceptions x;
	pe_read_exceptions(pe, &x);
	pe_symbol *s;
	pe_read_symbols(pe, &s, &n);
	pe_symbols_free(s, n);
	pe_rich r;
	if (pe_read_rich(pe, &r) == 0)
		free(r.e);
	uint64_t off, size;
	pe_overlay(pe, &off, &size);
	for (size_t i = 0; i < pe->nsec && i < 64; i++) {
		pe_coff_reloc *cr;
		if (pe_read_section_relocs(pe, &pe->sec[i], &cr, &n) == 0 && n)
			free(cr);
		uint64_t o;
		pe_rva_to_offset(pe, pe->sec[i].rva + 1, &o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	vm_reader r = vm_reader_mem(data + 1, size - 1);
	pe_image pe;
	switch (data[0] & 3) {
	case 0:
	case 1:
		if (pe_open(&pe, &r, data[0] & 1) == 0) {
			tables(&pe);
			pe_close(&pe);
		}
		break;
	case 2:
		if (coff_open(&pe, &r) == 0) {
			tables(&pe);
			pe_close(&pe);
		}
		break;
	default: {
		ar_archive a;
		if (ar_open(&a, &r) == 0) {
			for (size_t i = 0; i < a.n && i < 16; i++) {
				if (a.m[i].offset > r.size || a.m[i].size > r.size - a.m[i].offset)
					continue;
				vm_reader mr = vm_reader_mem(data + 1 + a.m[i].offset, a.m[i].size);
				if (coff_open(&pe, &mr) == 0) {
					tables(&pe);
					pe_close(&pe);
				}
			}
			ar_close(&a);
		}
	}
	}
	return 0;
}
