/* vmatlas image --json for PE images and COFF objects (docs/json.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

static void kdate(json_writer *w, const char *k, uint32_t t)
{
	char d[40];
	json_ku64(w, k, t);
	char key[64];
	snprintf(key, sizeof key, "%s_utc", k);
	json_kstr(w, key, image_date(t, d, sizeof d));
}

static void sections(pe_image *pe, json_writer *w)
{
	char f[512];
	json_key(w, "sections");
	json_arr_begin(w);
	for (size_t i = 0; i < pe->nsec; i++) {
		const pe_section *s = &pe->sec[i];
		json_obj_begin(w);
		json_kstr(w, "name", pe_section_name(s));
		json_kaddr(w, "va", s->rva);
		json_ku64(w, "vsize", s->vsize);
		json_ku64(w, "raw_offset", s->raw_offset);
		json_ku64(w, "raw_size", s->raw_size);
		json_ku64(w, "flags", s->flags);
		json_kstr(w, "flags_decoded", pe_section_flags(s->flags, f, sizeof f));
		if (pe->is_object || s->nrelocs)
			json_ku64(w, "relocations", s->nrelocs);
		if (s->nlines)
			json_ku64(w, "line_numbers", s->nlines);
		if (pe->is_object && s->nrelocs) {
			pe_coff_reloc *r;
			size_t n;
			if (pe_read_section_relocs(pe, s, &r, &n) == 0) {
				json_key(w, "relocs");
				json_arr_begin(w);
				for (size_t k = 0; k < n; k++) {
					json_obj_begin(w);
					json_kaddr(w, "va", r[k].vaddr);
					json_ku64(w, "symbol", r[k].symbol);
					json_kstr(w, "type", pe_coff_reloc_name(pe->machine, r[k].type));
					json_obj_end(w);
				}
				json_arr_end(w);
				free(r);
			}
		}
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void headers(pe_image *pe, json_writer *w)
{
	char f[512];
	json_kstr(w, "machine", pe_machine_name(pe->machine));
	json_ku64(w, "machine_id", pe->machine);
	kdate(w, "timestamp", pe->timestamp);
	json_ku64(w, "characteristics", pe->characteristics);
	json_kstr(w, "characteristics_decoded", pe_file_flags(pe->characteristics, f, sizeof f));
	json_ku64(w, "symbol_table_offset", pe->symtab_offset);
	json_ku64(w, "symbols_count", pe->nsymbols);
	if (pe->is_object)
		return;
	json_ku64(w, "pe_offset", pe->lfanew);
	json_key(w, "optional_header");
	json_obj_begin(w);
	json_ku64(w, "magic", pe->magic);
	json_kstr(w, "linker_version", (snprintf(f, sizeof f, "%u.%u", pe->linker_major, pe->linker_minor), f));
	json_ku64(w, "size_of_code", pe->size_code);
	json_ku64(w, "size_of_initialized_data", pe->size_idata);
	json_ku64(w, "size_of_uninitialized_data", pe->size_udata);
	json_kaddr(w, "base_of_code", pe->base_code);
	if (pe->bits == 32)
		json_kaddr(w, "base_of_data", pe->base_data);
	json_ku64(w, "section_alignment", pe->section_align);
	json_ku64(w, "file_alignment", pe->file_align);
	json_kstr(w, "os_version", (snprintf(f, sizeof f, "%u.%u", pe->os_major, pe->os_minor), f));
	json_kstr(w, "image_version", (snprintf(f, sizeof f, "%u.%u", pe->image_major, pe->image_minor), f));
	json_kstr(w, "subsystem_version", (snprintf(f, sizeof f, "%u.%u", pe->subsys_major, pe->subsys_minor), f));
	json_ku64(w, "win32_version", pe->win32_version);
	json_ku64(w, "size_of_image", pe->size_image);
	json_ku64(w, "size_of_headers", pe->size_headers);
	json_ku64(w, "checksum", pe->checksum);
	json_ku64(w, "dll_characteristics", pe->dll_characteristics);
	json_kstr(w, "dll_characteristics_decoded", pe_dll_flags(pe->dll_characteristics, f, sizeof f));
	json_ku64(w, "stack_reserve", pe->stack_reserve);
	json_ku64(w, "stack_commit", pe->stack_commit);
	json_ku64(w, "heap_reserve", pe->heap_reserve);
	json_ku64(w, "heap_commit", pe->heap_commit);
	json_ku64(w, "loader_flags", pe->loader_flags);
	json_ku64(w, "number_of_rva_and_sizes", pe->ndirs);
	json_obj_end(w);
}

static void directories(pe_image *pe, json_writer *w)
{
	json_key(w, "directories");
	json_arr_begin(w);
	for (int i = 0; i < PE_NUM_DIRS; i++) {
		json_obj_begin(w);
		json_kstr(w, "name", pe_dir_name(i));
		json_kaddr(w, "rva", pe->dirs[i].rva);
		json_ku64(w, "size", pe->dirs[i].size);
		/* the security directory holds a file offset, not an RVA */
		const pe_section *s = i == PE_DIR_SECURITY || !pe->dirs[i].rva ? NULL : pe_section_of_rva(pe, pe->dirs[i].rva);
		json_kstr(w, "section", s ? pe_section_name(s) : NULL);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void import_list(const pe_imports *im, json_writer *w)
{
	json_arr_begin(w);
	for (size_t i = 0; i < im->n; i++) {
		const pe_import_dll *d = &im->dll[i];
		json_obj_begin(w);
		json_kstr(w, "dll", d->dll);
		json_kaddr(w, "int_rva", d->int_rva);
		json_kaddr(w, "iat_rva", d->iat_rva);
		json_ku64(w, "timestamp", d->timestamp);
		json_key(w, "functions");
		json_arr_begin(w);
		for (size_t k = 0; k < d->nfn; k++) {
			const pe_import_fn *f = &d->fn[k];
			json_obj_begin(w);
			json_kstr(w, "name", f->name);
			if (f->by_ordinal) {
				json_ku64(w, "ordinal", f->ordinal);
				json_key(w, "hint");
				json_null(w);
			} else {
				json_key(w, "ordinal");
				json_null(w);
				json_ku64(w, "hint", f->hint);
			}
			json_kaddr(w, "iat", f->thunk_rva);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void imports(pe_image *pe, json_writer *w)
{
	pe_imports im;
	pe_read_imports(pe, &im);
	json_key(w, "imports");
	import_list(&im, w);
	pe_imports_free(&im);
	pe_read_delay_imports(pe, &im);
	json_key(w, "delay_imports");
	import_list(&im, w);
	pe_imports_free(&im);
	pe_bound *b;
	size_t nb;
	pe_read_bound_imports(pe, &b, &nb);
	json_key(w, "bound_imports");
	json_arr_begin(w);
	for (size_t i = 0; i < nb; i++) {
		json_obj_begin(w);
		json_kstr(w, "dll", b[i].dll);
		json_ku64(w, "timestamp", b[i].timestamp);
		json_kbool(w, "forwarder", b[i].forwarder);
		json_obj_end(w);
	}
	json_arr_end(w);
	pe_bound_free(b, nb);
}

static void exports(pe_image *pe, json_writer *w)
{
	pe_exports ex;
	pe_read_exports(pe, &ex);
	json_key(w, "exports");
	json_obj_begin(w);
	json_kstr(w, "dll_name", ex.dll_name);
	json_ku64(w, "base", ex.base);
	json_ku64(w, "timestamp", ex.timestamp);
	json_ku64(w, "functions_count", ex.nfunctions);
	json_ku64(w, "names_count", ex.nnames);
	json_key(w, "entries");
	json_arr_begin(w);
	for (size_t i = 0; i < ex.n; i++) {
		json_obj_begin(w);
		json_kstr(w, "name", ex.e[i].name);
		json_ku64(w, "ordinal", ex.e[i].ordinal);
		json_kaddr(w, "rva", ex.e[i].rva);
		json_kstr(w, "forwarder", ex.e[i].forwarder);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
	pe_exports_free(&ex);
}

static void relocs(pe_image *pe, json_writer *w)
{
	pe_reloc_block *b;
	size_t n;
	pe_read_relocs(pe, &b, &n);
	uint64_t total[16] = { 0 }, all = 0;
	json_key(w, "relocations");
	json_obj_begin(w);
	json_key(w, "blocks");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(w);
		json_kaddr(w, "page_rva", b[i].page_rva);
		json_ku64(w, "size", b[i].size);
		json_ku64(w, "entries", b[i].n);
		json_obj_end(w);
		for (int t = 0; t < 16; t++)
			total[t] += b[i].count[t];
		all += b[i].n;
	}
	json_arr_end(w);
	json_ku64(w, "entries", all);
	json_key(w, "by_type");
	json_obj_begin(w);
	for (int t = 0; t < 16; t++)
		if (total[t]) {
			char k[32];
			snprintf(k, sizeof k, "%s", pe_reloc_type_name(pe->machine, t));
			json_ku64(w, k, total[t]);
		}
	json_obj_end(w);
	json_obj_end(w);
	free(b);
}

static void resources(pe_image *pe, json_writer *w)
{
	pe_resource *r;
	size_t n;
	pe_read_resources(pe, &r, &n);
	json_key(w, "resources");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(w);
		const char *tn = r[i].type_name ? r[i].type_name : pe_resource_type_name(r[i].type);
		json_kstr(w, "type", tn);
		if (!r[i].type_name)
			json_ku64(w, "type_id", r[i].type);
		if (r[i].name)
			json_kstr(w, "name", r[i].name);
		else
			json_ku64(w, "id", r[i].id);
		json_ku64(w, "lang", r[i].lang);
		json_kaddr(w, "rva", r[i].data_rva);
		json_ku64(w, "size", r[i].size);
		json_ku64(w, "codepage", r[i].codepage);
		json_obj_end(w);
	}
	json_arr_end(w);
	pe_resources_free(r, n);
}

static void debug(pe_image *pe, json_writer *w)
{
	pe_debug *d;
	size_t n;
	pe_read_debug(pe, &d, &n);
	json_key(w, "debug");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(w);
		json_kstr(w, "type", pe_debug_type_name(d[i].type));
		json_ku64(w, "type_id", d[i].type);
		json_ku64(w, "timestamp", d[i].timestamp);
		json_ku64(w, "size", d[i].size);
		json_kaddr(w, "rva", d[i].rva);
		json_ku64(w, "offset", d[i].offset);
		if (d[i].cv_sig[0]) {
			json_kstr(w, "codeview", d[i].cv_sig);
			if (!strcmp(d[i].cv_sig, "RSDS")) {
				char g[39];
				pe_guid_format(d[i].guid, g);
				json_kstr(w, "guid", g);
			}
			json_ku64(w, "age", d[i].age);
			json_kstr(w, "pdb", d[i].pdb);
		}
		if (d[i].pogo)
			json_kstr(w, "pogo", d[i].pogo);
		if (d[i].repro)
			json_kstr(w, "repro_hash", d[i].repro);
		json_obj_end(w);
	}
	json_arr_end(w);
	pe_debug_free(d, n);
}

/* "key": null when the part could not be read (rc != 0), else "key": { */
static bool part_begin(json_writer *w, const char *key, int rc)
{
	json_key(w, key);
	if (rc != 0) {
		json_null(w);
		return false;
	}
	json_obj_begin(w);
	return true;
}

static void tls(pe_image *pe, json_writer *w)
{
	pe_tls t;
	if (!part_begin(w, "tls", pe_read_tls(pe, &t)))
		return;
	json_kaddr(w, "start", t.start);
	json_kaddr(w, "end", t.end);
	json_kaddr(w, "index", t.index);
	json_kaddr(w, "callbacks_table", t.callbacks);
	json_ku64(w, "zero_fill", t.zero_fill);
	json_ku64(w, "characteristics", t.characteristics);
	json_key(w, "callbacks");
	json_arr_begin(w);
	for (size_t i = 0; i < t.ncb; i++)
		json_addr(w, t.cb[i]);
	json_arr_end(w);
	json_obj_end(w);
	free(t.cb);
}

static void load_config(pe_image *pe, json_writer *w)
{
	pe_load_config c;
	if (!part_begin(w, "load_config", pe_read_load_config(pe, &c)))
		return;
	json_ku64(w, "size", c.size);
	json_ku64(w, "timestamp", c.timestamp);
	if (c.have[0])
		json_kaddr(w, "security_cookie", c.security_cookie);
	if (c.have[1]) {
		json_kaddr(w, "se_handler_table", c.se_handler_table);
		json_ku64(w, "se_handler_count", c.se_handler_count);
	}
	if (c.have[2]) {
		json_kaddr(w, "guard_cf_check_function", c.guard_check);
		json_kaddr(w, "guard_cf_dispatch_function", c.guard_dispatch);
		json_kaddr(w, "guard_cf_function_table", c.guard_table);
		json_ku64(w, "guard_cf_function_count", c.guard_count);
		json_ku64(w, "guard_flags", c.guard_flags);
	}
	json_obj_end(w);
}

static void exceptions(pe_image *pe, json_writer *w)
{
	pe_exceptions x;
	if (!part_begin(w, "exceptions", pe_read_exceptions(pe, &x)))
		return;
	json_ku64(w, "functions", x.nfunctions);
	if (pe->machine == 0x8664) {
		json_ku64(w, "unwind_infos", x.nunwind);
		json_ku64(w, "unwind_codes", x.ncodes);
		json_ku64(w, "with_exception_handler", x.flags[0]);
		json_ku64(w, "with_termination_handler", x.flags[1]);
		json_ku64(w, "chained", x.flags[2]);
		json_ku64(w, "unreadable", x.bad);
	}
	json_obj_end(w);
}

static void symbols(pe_image *pe, json_writer *w)
{
	pe_symbol *s;
	size_t n;
	pe_read_symbols(pe, &s, &n);
	json_key(w, "symbols");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(w);
		json_ku64(w, "index", s[i].index);
		json_kstr(w, "name", s[i].name);
		json_ku64(w, "value", s[i].value);
		json_ki64(w, "section", s[i].section);
		json_ku64(w, "type", s[i].type);
		json_kstr(w, "storage_class", pe_storage_class_name(s[i].storage_class));
		json_ku64(w, "aux", s[i].naux);
		if (s[i].aux_file)
			json_kstr(w, "file", s[i].aux_file);
		if (s[i].aux_section) {
			json_key(w, "section_definition");
			json_obj_begin(w);
			json_ku64(w, "length", s[i].sec_length);
			json_ku64(w, "relocations", s[i].sec_nrelocs);
			json_ku64(w, "line_numbers", s[i].sec_nlines);
			json_ku64(w, "checksum", s[i].sec_checksum);
			json_ku64(w, "comdat_number", s[i].sec_number);
			json_ku64(w, "comdat_selection", s[i].sec_selection);
			json_obj_end(w);
		}
		json_obj_end(w);
	}
	json_arr_end(w);
	pe_symbols_free(s, n);
}

static void rich(pe_image *pe, json_writer *w)
{
	pe_rich r;
	if (!part_begin(w, "rich", pe_read_rich(pe, &r)))
		return;
	json_ku64(w, "key", r.key);
	json_ku64(w, "offset", r.offset);
	json_kbool(w, "checksum_valid", r.checksum_ok);
	json_key(w, "entries");
	json_arr_begin(w);
	for (size_t i = 0; i < r.n; i++) {
		json_obj_begin(w);
		json_ku64(w, "product", r.e[i].product);
		json_ku64(w, "build", r.e[i].build);
		json_ku64(w, "count", r.e[i].count);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
	free(r.e);
}

void image_pe_json(pe_image *pe, unsigned parts, json_writer *w)
{
	char f[64];
	json_obj_begin(w);
	json_kstr(w, "format", pe->is_object ? "coff" : "pe");
	if (!pe->is_object) {
		json_ku64(w, "bits", (uint64_t)pe->bits);
		json_kstr(w, "machine", pe_machine_name(pe->machine));
		json_ku64(w, "timestamp", pe->timestamp);
		json_kaddr(w, "entry_rva", pe->entry_rva);
		json_kaddr(w, "image_base", pe->image_base);
		json_kstr(w, "subsystem", pe_subsystem_name(pe->subsystem));
		json_kbool(w, "dll", pe->characteristics & 0x2000);
	} else {
		json_kstr(w, "machine", pe_machine_name(pe->machine));
	}
	(void)f;
	if (parts & PART_HEADERS) {
		json_key(w, "headers");
		json_obj_begin(w);
		headers(pe, w);
		json_obj_end(w);
	}
	if (parts & PART_SECTIONS)
		sections(pe, w);
	if (!pe->is_object) {
		if (parts & PART_DIRS)
			directories(pe, w);
		if (parts & PART_IMPORTS)
			imports(pe, w);
		if (parts & PART_EXPORTS)
			exports(pe, w);
		if (parts & PART_RELOCS)
			relocs(pe, w);
		if (parts & PART_RESOURCES)
			resources(pe, w);
		if (parts & PART_DEBUG)
			debug(pe, w);
		if (parts & PART_TLS)
			tls(pe, w);
		if (parts & PART_LOADCONFIG)
			load_config(pe, w);
		if (parts & PART_EXCEPTIONS)
			exceptions(pe, w);
		if (parts & PART_RICH)
			rich(pe, w);
		if (parts & PART_OVERLAY) {
			uint64_t off, size;
			json_key(w, "overlay");
			if (pe_overlay(pe, &off, &size)) {
				json_obj_begin(w);
				json_ku64(w, "offset", off);
				json_ku64(w, "size", size);
				json_obj_end(w);
			} else {
				json_null(w);
			}
		}
	}
	if ((parts & PART_SYMBOLS) || (pe->is_object && (parts & PART_SECTIONS)))
		symbols(pe, w);
	json_kstr(w, "warnings", pe->warnings);
	json_obj_end(w);
}
