/* vmatlas image for PE images and COFF objects, as text (PEDUMP's order). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image.h"

const char *image_date(uint32_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, n, "?");
	return buf;
}

static void title(const char *s)
{
	printf("\n%s\n", s);
}

static void headers(pe_image *pe)
{
	char f[512], d[40];
	if (!pe->is_object) {
		title("DOS header");
		static const char *const names[] = { "e_magic", "e_cblp", "e_cp", "e_crlc", "e_cparhdr", "e_minalloc",
						     "e_maxalloc", "e_ss", "e_sp", "e_csum", "e_ip", "e_cs",
						     "e_lfarlc", "e_ovno" };
		for (int i = 0; i < 14; i++)
			printf("  %-28s 0x%04x\n", names[i], pe->dos[i]);
		printf("  %-28s 0x%x\n", "e_lfanew", pe->lfanew);
		/* the stub between the header and the PE header: its message */
		uint8_t stub[448];
		size_t n = pe->lfanew > 0x40 ? pe->lfanew - 0x40 : 0;
		if (n > sizeof stub)
			n = sizeof stub;
		if (n && vm_reader_full(&pe->r, 0x40, stub, n)) {
			size_t best = 0, start = 0;
			for (size_t i = 0, run = 0; i <= n; i++) {
				if (i < n && stub[i] >= 0x20 && stub[i] < 0x7f) {
					run++;
					continue;
				}
				if (run > best) {
					best = run;
					start = i - run;
				}
				run = 0;
			}
			printf("  %-28s %zu bytes%s%.*s%s\n", "DOS stub", (size_t)(pe->lfanew - 0x40), best >= 16 ? ": \"" : "",
			       best >= 16 ? (int)best : 0, (const char *)stub + start, best >= 16 ? "\"" : "");
		}
	}
	title(pe->is_object ? "COFF file header" : "File header");
	printf("  %-28s 0x%04x %s\n", "Machine", pe->machine, pe_machine_name(pe->machine));
	printf("  %-28s %u\n", "NumberOfSections", pe->nsections);
	printf("  %-28s 0x%08x %s\n", "TimeDateStamp", pe->timestamp, image_date(pe->timestamp, d, sizeof d));
	printf("  %-28s 0x%x\n", "PointerToSymbolTable", pe->symtab_offset);
	printf("  %-28s %u\n", "NumberOfSymbols", pe->nsymbols);
	printf("  %-28s %u\n", "SizeOfOptionalHeader", pe->opt_size);
	printf("  %-28s 0x%04x %s\n", "Characteristics", pe->characteristics,
	       pe_file_flags(pe->characteristics, f, sizeof f));
	if (pe->is_object)
		return;
	title(pe->bits == 64 ? "Optional header (PE32+)" : "Optional header (PE32)");
	printf("  %-28s 0x%x\n", "Magic", pe->magic);
	printf("  %-28s %u.%u\n", "LinkerVersion", pe->linker_major, pe->linker_minor);
	printf("  %-28s 0x%x\n", "SizeOfCode", pe->size_code);
	printf("  %-28s 0x%x\n", "SizeOfInitializedData", pe->size_idata);
	printf("  %-28s 0x%x\n", "SizeOfUninitializedData", pe->size_udata);
	printf("  %-28s 0x%x\n", "AddressOfEntryPoint", pe->entry_rva);
	printf("  %-28s 0x%x\n", "BaseOfCode", pe->base_code);
	if (pe->bits == 32)
		printf("  %-28s 0x%x\n", "BaseOfData", pe->base_data);
	printf("  %-28s 0x%llx\n", "ImageBase", (unsigned long long)pe->image_base);
	printf("  %-28s 0x%x\n", "SectionAlignment", pe->section_align);
	printf("  %-28s 0x%x\n", "FileAlignment", pe->file_align);
	printf("  %-28s %u.%u\n", "OperatingSystemVersion", pe->os_major, pe->os_minor);
	printf("  %-28s %u.%u\n", "ImageVersion", pe->image_major, pe->image_minor);
	printf("  %-28s %u.%u\n", "SubsystemVersion", pe->subsys_major, pe->subsys_minor);
	printf("  %-28s %u\n", "Win32VersionValue", pe->win32_version);
	printf("  %-28s 0x%x\n", "SizeOfImage", pe->size_image);
	printf("  %-28s 0x%x\n", "SizeOfHeaders", pe->size_headers);
	printf("  %-28s 0x%x\n", "CheckSum", pe->checksum);
	printf("  %-28s %u %s\n", "Subsystem", pe->subsystem, pe_subsystem_name(pe->subsystem));
	printf("  %-28s 0x%04x %s\n", "DllCharacteristics", pe->dll_characteristics,
	       pe_dll_flags(pe->dll_characteristics, f, sizeof f));
	printf("  %-28s 0x%llx\n", "SizeOfStackReserve", (unsigned long long)pe->stack_reserve);
	printf("  %-28s 0x%llx\n", "SizeOfStackCommit", (unsigned long long)pe->stack_commit);
	printf("  %-28s 0x%llx\n", "SizeOfHeapReserve", (unsigned long long)pe->heap_reserve);
	printf("  %-28s 0x%llx\n", "SizeOfHeapCommit", (unsigned long long)pe->heap_commit);
	printf("  %-28s 0x%x\n", "LoaderFlags", pe->loader_flags);
	printf("  %-28s %u\n", "NumberOfRvaAndSizes", pe->ndirs);
}

static void directories(pe_image *pe)
{
	title("Data directories");
	printf("  %-16s %10s %10s  %s\n", "", "RVA", "Size", "Section");
	for (int i = 0; i < PE_NUM_DIRS; i++) {
		const pe_dir *d = &pe->dirs[i];
		const pe_section *s = i == PE_DIR_SECURITY || !d->rva ? NULL : pe_section_of_rva(pe, d->rva);
		printf("  %-16s 0x%08x 0x%08x  %s\n", pe_dir_name(i), d->rva, d->size,
		       i == PE_DIR_SECURITY && d->rva ? "(file offset)" : s ? pe_section_name(s) : "");
	}
}

static void sections(pe_image *pe)
{
	char f[512];
	title("Sections");
	printf("  %-3s %-14s %10s %10s %10s %10s %6s  %s\n", "#", "Name", "VirtAddr", "VirtSize", "RawOffset",
	       "RawSize", "Relocs", "Characteristics");
	for (size_t i = 0; i < pe->nsec; i++) {
		const pe_section *s = &pe->sec[i];
		printf("  %-3zu %-14s 0x%08x 0x%08x 0x%08x 0x%08x %6u  0x%08x %s\n", i + 1, pe_section_name(s), s->rva,
		       s->vsize, s->raw_offset, s->raw_size, s->nrelocs, s->flags, pe_section_flags(s->flags, f, sizeof f));
		if (pe->is_object && s->nrelocs) {
			pe_coff_reloc *r;
			size_t n;
			if (pe_read_section_relocs(pe, s, &r, &n) == 0)
				for (size_t k = 0; k < n; k++)
					printf("      reloc 0x%08x %-16s symbol %u\n", r[k].vaddr,
					       pe_coff_reloc_name(pe->machine, r[k].type), r[k].symbol);
			if (n)
				free(r);
		}
	}
}

static void import_list(const pe_imports *im, const char *what)
{
	title(what);
	for (size_t i = 0; i < im->n; i++) {
		const pe_import_dll *d = &im->dll[i];
		printf("  %s  (INT 0x%x, IAT 0x%x, %zu functions)\n", d->dll ? d->dll : "?", d->int_rva, d->iat_rva, d->nfn);
		for (size_t k = 0; k < d->nfn; k++) {
			const pe_import_fn *fn = &d->fn[k];
			if (fn->by_ordinal)
				printf("    0x%08x  ordinal %u\n", fn->thunk_rva, fn->ordinal);
			else
				printf("    0x%08x  %5u  %s\n", fn->thunk_rva, fn->hint, fn->name ? fn->name : "?");
		}
	}
	if (!im->n)
		printf("  (none)\n");
}

static void imports(pe_image *pe)
{
	pe_imports im;
	pe_read_imports(pe, &im);
	import_list(&im, "Imports");
	pe_imports_free(&im);
	pe_read_delay_imports(pe, &im);
	if (im.n)
		import_list(&im, "Delay imports");
	pe_imports_free(&im);
	pe_bound *b;
	size_t nb;
	pe_read_bound_imports(pe, &b, &nb);
	if (nb) {
		title("Bound imports");
		for (size_t i = 0; i < nb; i++)
			printf("  %s%s  0x%08x\n", b[i].forwarder ? "  -> " : "", b[i].dll ? b[i].dll : "?", b[i].timestamp);
	}
	pe_bound_free(b, nb);
}

static void exports(pe_image *pe)
{
	pe_exports ex;
	pe_read_exports(pe, &ex);
	title("Exports");
	if (ex.dll_name || ex.n) {
		printf("  %s: %u functions, %u names, ordinal base %u\n", ex.dll_name ? ex.dll_name : "?", ex.nfunctions,
		       ex.nnames, ex.base);
		printf("  %7s %10s  %s\n", "Ordinal", "RVA", "Name");
		for (size_t i = 0; i < ex.n; i++) {
			const pe_export *e = &ex.e[i];
			if (e->forwarder) /* no address: the name it stands for */
				printf("  %7u %10s  %s -> %s\n", e->ordinal, "forwarder",
				       e->name ? e->name : "(by ordinal)", e->forwarder);
			else
				printf("  %7u 0x%08x  %s\n", e->ordinal, e->rva, e->name ? e->name : "(by ordinal)");
		}
	} else {
		printf("  (none)\n");
	}
	pe_exports_free(&ex);
}

static void relocs(pe_image *pe)
{
	pe_reloc_block *b;
	size_t n;
	pe_read_relocs(pe, &b, &n);
	title("Base relocations");
	uint64_t total[16] = { 0 }, all = 0;
	for (size_t i = 0; i < n; i++) {
		for (int t = 0; t < 16; t++)
			total[t] += b[i].count[t];
		all += b[i].n;
	}
	printf("  %zu blocks, %llu entries:", n, (unsigned long long)all);
	for (int t = 0; t < 16; t++)
		if (total[t])
			printf(" %s %llu", pe_reloc_type_name(pe->machine, t), (unsigned long long)total[t]);
	putchar('\n');
	for (size_t i = 0; i < n; i++)
		printf("  page 0x%08x  %u entries\n", b[i].page_rva, b[i].n);
	free(b);
}

static void resources(pe_image *pe)
{
	pe_resource *r;
	size_t n;
	pe_read_resources(pe, &r, &n);
	title("Resources");
	for (size_t i = 0; i < n; i++) {
		char type[64], name[64];
		const char *tn = r[i].type_name ? r[i].type_name : pe_resource_type_name(r[i].type);
		if (tn)
			snprintf(type, sizeof type, "%s", tn);
		else
			snprintf(type, sizeof type, "#%u", r[i].type);
		if (r[i].name)
			snprintf(name, sizeof name, "%s", r[i].name);
		else
			snprintf(name, sizeof name, "#%u", r[i].id);
		printf("  %-14s %-24s lang 0x%04x  rva 0x%08x  %u bytes\n", type, name, r[i].lang, r[i].data_rva,
		       r[i].size);
	}
	if (!n)
		printf("  (none)\n");
	pe_resources_free(r, n);
}

static void debug(pe_image *pe)
{
	pe_debug *d;
	size_t n;
	pe_read_debug(pe, &d, &n);
	title("Debug directory");
	for (size_t i = 0; i < n; i++) {
		printf("  %-12s size %-6u rva 0x%08x offset 0x%08x\n", pe_debug_type_name(d[i].type), d[i].size,
		       d[i].rva, d[i].offset);
		if (d[i].cv_sig[0]) {
			char g[39];
			pe_guid_format(d[i].guid, g);
			printf("    CodeView %s %s age %u  %s\n", d[i].cv_sig, !strcmp(d[i].cv_sig, "RSDS") ? g : "", d[i].age,
			       d[i].pdb ? d[i].pdb : "");
		}
		if (d[i].pogo)
			printf("    POGO: %s\n", d[i].pogo);
		if (d[i].repro)
			printf("    REPRO hash: %s\n", d[i].repro);
	}
	if (!n)
		printf("  (none)\n");
	pe_debug_free(d, n);
}

static void tls(pe_image *pe)
{
	pe_tls t;
	if (pe_read_tls(pe, &t) != 0)
		return;
	title("TLS");
	printf("  raw data 0x%llx-0x%llx, index at 0x%llx, zero fill %u, callbacks at 0x%llx\n",
	       (unsigned long long)t.start, (unsigned long long)t.end, (unsigned long long)t.index, t.zero_fill,
	       (unsigned long long)t.callbacks);
	for (size_t i = 0; i < t.ncb; i++)
		printf("    callback 0x%llx\n", (unsigned long long)t.cb[i]);
	free(t.cb);
}

static void load_config(pe_image *pe)
{
	pe_load_config c;
	if (pe_read_load_config(pe, &c) != 0)
		return;
	title("Load configuration");
	printf("  size %u\n", c.size);
	if (c.have[0])
		printf("  security cookie at 0x%llx\n", (unsigned long long)c.security_cookie);
	if (c.have[1])
		printf("  SEH table 0x%llx, %llu handlers\n", (unsigned long long)c.se_handler_table,
		       (unsigned long long)c.se_handler_count);
	if (c.have[2])
		printf("  CFG: check 0x%llx, dispatch 0x%llx, table 0x%llx (%llu functions), flags 0x%x\n",
		       (unsigned long long)c.guard_check, (unsigned long long)c.guard_dispatch,
		       (unsigned long long)c.guard_table, (unsigned long long)c.guard_count, c.guard_flags);
}

static void exceptions(pe_image *pe)
{
	pe_exceptions x;
	if (pe_read_exceptions(pe, &x) != 0)
		return;
	title("Exception directory");
	printf("  %u functions", x.nfunctions);
	if (pe->machine == 0x8664)
		printf("; %u unwind infos, %u unwind codes; %u with an exception handler, %u with a termination "
		       "handler, %u chained, %u unreadable",
		       x.nunwind, x.ncodes, x.flags[0], x.flags[1], x.flags[2], x.bad);
	putchar('\n');
}

static void symbols(pe_image *pe)
{
	pe_symbol *s;
	size_t n;
	pe_read_symbols(pe, &s, &n);
	title("COFF symbols");
	for (size_t i = 0; i < n; i++)
	{
		printf("  [%4u] %08x sect %3d type %04x %-16s %s", s[i].index, s[i].value, s[i].section, s[i].type,
		       pe_storage_class_name(s[i].storage_class), s[i].name);
		if (s[i].aux_file)
			printf("  file %s", s[i].aux_file);
		if (s[i].aux_section)
			printf("  (length 0x%x, %u relocations, %u line numbers, checksum 0x%x%s)", s[i].sec_length,
			       s[i].sec_nrelocs, s[i].sec_nlines, s[i].sec_checksum, s[i].sec_selection ? ", COMDAT" : "");
		putchar('\n');
	}
	if (!n)
		printf("  (none)\n");
	pe_symbols_free(s, n);
}

static void rich(pe_image *pe)
{
	pe_rich r;
	if (pe_read_rich(pe, &r) != 0)
		return;
	title("Rich header");
	printf("  key 0x%08x at 0x%x, checksum %s\n", r.key, r.offset, r.checksum_ok ? "valid" : "INVALID");
	for (size_t i = 0; i < r.n; i++)
		printf("    product %3u build %5u  count %u\n", r.e[i].product, r.e[i].build, r.e[i].count);
	free(r.e);
}

void image_pe_text(pe_image *pe, unsigned parts)
{
	if (!parts)
		return; /* --hex, --rva or --offset alone */
	printf("%s, %s\n", pe->is_object ? "COFF object" : pe->bits == 64 ? "PE32+ image" : "PE32 image",
	       pe_machine_name(pe->machine));
	if (parts & PART_HEADERS)
		headers(pe);
	if (!pe->is_object && (parts & PART_DIRS))
		directories(pe);
	if (parts & PART_SECTIONS)
		sections(pe);
	if (!pe->is_object) {
		if (parts & PART_IMPORTS)
			imports(pe);
		if (parts & PART_EXPORTS)
			exports(pe);
		if (parts & PART_RELOCS)
			relocs(pe);
		if (parts & PART_RESOURCES)
			resources(pe);
		if (parts & PART_DEBUG)
			debug(pe);
		if (parts & PART_TLS)
			tls(pe);
		if (parts & PART_LOADCONFIG)
			load_config(pe);
		if (parts & PART_EXCEPTIONS)
			exceptions(pe);
		if (parts & PART_RICH)
			rich(pe);
		uint64_t off, size;
		if ((parts & PART_OVERLAY) && pe_overlay(pe, &off, &size))
			printf("\nOverlay: %llu bytes at file offset 0x%llx\n", (unsigned long long)size,
			       (unsigned long long)off);
	}
	if ((parts & PART_SYMBOLS) || (pe->is_object && (parts & PART_SECTIONS)))
		symbols(pe);
	if (pe->warnings)
		printf("\nwarnings: %s\n", pe->warnings);
}
