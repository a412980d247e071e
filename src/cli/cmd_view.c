/* vmatlas view: memory as bytes, words, strings, pointers, or decoded as a
 * known structure, with every pointer named. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/expr.h"
#include "vmatlas/heap.h"
#include "vmatlas/structs.h"

typedef struct unit {
	const char *name;
	size_t size;
} unit;

static const unit units[] = {
	{ "u8", 1 }, { "u16", 2 }, { "u32", 4 }, { "u64", 8 }, { "i32", 4 }, { "f32", 4 },
	{ "f64", 8 }, { "ascii", 1 }, { "utf16", 2 }, { "ptr", 0 },
};

typedef struct view_args {
	const char *as;
	bool force;
	/* from the positionals */
	bool is_struct;
	const unit *un;
	uint64_t len;
} view_args;

static void view_init(void *p)
{
	((view_args *)p)->as = "u8";
}

/* "where it points": symbol, or region, or nothing */
static bool point_text(const vm_map *m, vm_symbolizer *s, uint64_t v, char *buf, size_t n)
{
	const vm_region *r = vm_map_region_at(m, v);
	if (!r || r->state == VM_STATE_FREE || v < 4096)
		return false;
	vm_symbol_info si;
	vm_symbolize(s, v, &si);
	vm_symbol_format(&si, v, buf, n);
	return true;
}

/* a short printable string at v, if there is one */
static bool string_at(vm_target *t, uint64_t v, char *buf, size_t n)
{
	char raw[48];
	ssize_t got = vm_read(t, v, raw, sizeof raw - 1);
	if (got < 4)
		return false;
	size_t k = 0;
	while (k < (size_t)got && raw[k] >= 0x20 && raw[k] < 0x7f)
		k++;
	if (k < 4 || (k < (size_t)got && raw[k] != 0 && k < sizeof raw - 1))
		return false;
	snprintf(buf, n, "\"%.*s\"%s", (int)k, raw, k == (size_t)got ? "..." : "");
	return true;
}

/* How many of len bytes from addr the target itself may read: committed,
 * readable regions in a row. Reading past them would show zeros the
 * kernel makes up and fault pages into the target. */
static uint64_t readable_span(const vm_map *m, uint64_t addr, uint64_t len)
{
	uint64_t got = 0;
	while (got < len) {
		const vm_region *r = vm_map_region_at(m, addr + got);
		if (!r || r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_READ))
			break;
		got = r->base + r->size - addr;
	}
	return got < len ? got : len;
}

/* say exactly why addr cannot be read */
static int unreadable(const vm_map *m, uint64_t addr)
{
	const vm_region *r = vm_map_region_at(m, addr);
	char prot[5];
	if (!r)
		return cli_error(EXIT_RUNTIME, "cannot read 0x%llx: it is outside the address space",
				 (unsigned long long)addr);
	if (r->state == VM_STATE_FREE && vm_map_gaps_unknown(m))
		return cli_error(EXIT_RUNTIME, "cannot read 0x%llx: the %s does not hold it (it holds only some "
				 "of the memory: whether anything is mapped there is unknown)", (unsigned long long)addr,
				 vm_target_kind_name(m->info.kind));
	if (r->state == VM_STATE_FREE)
		return cli_error(EXIT_RUNTIME, "cannot read 0x%llx: nothing is mapped there (a free gap "
				 "0x%llx-0x%llx)", (unsigned long long)addr, (unsigned long long)r->base,
				 (unsigned long long)(r->base + r->size));
	vm_region_prot_string(r, prot);
	if (r->flags & (VM_RF_NO_DATA | VM_RF_PART_DATA))
		return cli_error(EXIT_RUNTIME, "cannot read 0x%llx: the %s holds no bytes for it (region "
				 "0x%llx-0x%llx %s%s%s was not dumped%s)",
				 (unsigned long long)addr, vm_target_kind_name(m->info.kind), (unsigned long long)r->base,
				 (unsigned long long)(r->base + r->size), prot, r->path ? " " : "",
				 r->path ? r->path : "", r->held ? " whole" : "");
	return cli_error(EXIT_RUNTIME, "cannot read 0x%llx: region 0x%llx-0x%llx (%s %s %s%s%s) is not readable",
			 (unsigned long long)addr, (unsigned long long)r->base,
			 (unsigned long long)(r->base + r->size), vm_state_name(r->state), prot,
			 vm_usage_name(r->usage), r->path ? " " : "", r->path ? r->path : "");
}

/* ... and for KUSER_SHARED_DATA, that the dump left it out */
static int unreadable_as(const vm_map *m, vm_target *t, const char *as, uint64_t addr)
{
	if (as && !strcmp(as, "kuser_shared_data") && !(vm_target_caps(t) & VM_CAP_LIVE))
		return cli_error(EXIT_RUNTIME, "view: this %s does not hold KUSER_SHARED_DATA at 0x%llx (most "
					       "minidumps leave it out)",
				 vm_target_kind_name(m->info.kind), (unsigned long long)addr);
	return unreadable(m, addr);
}

static uint64_t get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	memcpy(&v, p, n);
	return v;
}

static void text_units(const vm_map *m, vm_target *t, vm_symbolizer *s, const char *u, size_t usize,
		       uint64_t addr, const uint8_t *buf, size_t len, size_t w)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	char sym[512], str[64];
	if (!strcmp(u, "ascii") || !strcmp(u, "utf16")) {
		printf("%0*llx  \"", aw, (unsigned long long)addr);
		for (size_t i = 0; i + usize <= len; i += usize) {
			uint32_t c = (uint32_t)get(buf + i, usize);
			if (!c)
				break;
			if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
				putchar((int)c);
			else if (c < 0x80)
				printf("\\x%02x", c);
			else if (usize == 2 && c < 0x800)
				printf("%c%c", 0xc0 | (c >> 6), 0x80 | (c & 0x3f));
			else if (usize == 2 && (c < 0xd800 || c > 0xdfff))
				printf("%c%c%c", 0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
			else
				printf("\\x%02x", c & 0xff);
		}
		printf("\"\n");
		return;
	}
	if (!strcmp(u, "ptr")) {
		for (size_t i = 0; i + w <= len; i += w) {
			uint64_t v = get(buf + i, w);
			printf("%0*llx  %0*llx", aw, (unsigned long long)(addr + i), (int)w * 2, (unsigned long long)v);
			if (point_text(m, s, v, sym, sizeof sym)) {
				printf("  %s", sym);
				if (string_at(t, v, str, sizeof str))
					printf("  %s", str);
			}
			putchar('\n');
		}
		return;
	}
	size_t per = 16;
	for (size_t off = 0; off < len; off += per) {
		size_t n = len - off < per ? len - off : per;
		printf("%0*llx ", aw, (unsigned long long)(addr + off));
		for (size_t i = 0; i + usize <= n; i += usize) {
			uint64_t v = get(buf + off + i, usize);
			if (!strcmp(u, "i32"))
				printf(" %11d", (int32_t)(uint32_t)v);
			else if (!strcmp(u, "f32")) {
				float f;
				memcpy(&f, buf + off + i, 4);
				printf(" %15.9g", (double)f);
			} else if (!strcmp(u, "f64")) {
				double d;
				memcpy(&d, buf + off + i, 8);
				printf(" %24.17g", d);
			} else {
				printf(" %0*llx", (int)usize * 2, (unsigned long long)v);
			}
		}
		if (usize == 1) {
			printf("%*s  |", (int)(per - n) * 3, "");
			for (size_t i = 0; i < n; i++) {
				uint8_t c = buf[off + i];
				putchar(c >= 0x20 && c < 0x7f ? c : '.');
			}
			putchar('|');
		}
		/* words the size of a pointer: name what they point at */
		if (usize == w && strcmp(u, "f64") && strcmp(u, "i32") && strcmp(u, "f32"))
			for (size_t i = 0; i + w <= n; i += w)
				if (point_text(m, s, get(buf + off + i, w), sym, sizeof sym))
					printf("  [%s]", sym);
		putchar('\n');
	}
}

static void json_units(json_writer *jw, const vm_map *m, vm_symbolizer *s, const char *u, size_t usize,
		       uint64_t addr, const uint8_t *buf, size_t len, size_t w)
{
	char sym[512];
	json_kaddr(jw, "addr", addr);
	json_ku64(jw, "len", len);
	json_kstr(jw, "unit", u);
	json_key(jw, "bytes");
	char *hex = xmalloc(2 * len + 1);
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	json_strn(jw, hex, 2 * len);
	free(hex);
	if (strcmp(u, "ptr") && usize != w)
		return;
	json_key(jw, "values");
	json_arr_begin(jw);
	for (size_t i = 0; i + w <= len; i += w) {
		uint64_t v = get(buf + i, w);
		json_obj_begin(jw);
		json_kaddr(jw, "addr", addr + i);
		json_kaddr(jw, "value", v);
		if (point_text(m, s, v, sym, sizeof sym))
			json_kstr(jw, "points_to", sym);
		json_obj_end(jw);
	}
	json_arr_end(jw);
}

static const char *type_name(vm_ftype t)
{
	static const char *n[] = { "u8", "u16", "u32", "u64", "i32", "word", "ptr", "cstr", "bytes", "wstr", "wchars", "pad" };
	return n[t];
}

/* LEN structures in JSON: a list, one object each, its fields split off
 * the decoded run by offset */
static void struct_out(const vm_map *m, vm_symbolizer *s, const vm_decoded *d, json_writer *jw);
static void structs_json(const vm_map *m, vm_symbolizer *s, const vm_decoded *d, unsigned count, json_writer *jw)
{
	uint64_t one = d->size / count;
	size_t i = 0;
	for (unsigned k = 0; k < count; k++) {
		vm_decoded part = { .name = d->name, .addr = d->addr + k * one, .size = one, .f = d->f + i };
		while (i < d->n && d->f[i].offset < part.addr + one) {
			i++;
			part.n++;
		}
		json_obj_begin(jw);
		struct_out(m, s, &part, jw);
		json_obj_end(jw);
	}
}

static void struct_out(const vm_map *m, vm_symbolizer *s, const vm_decoded *d, json_writer *jw)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	char sym[512];
	if (jw) {
		json_kaddr(jw, "addr", d->addr);
		json_kstr(jw, "struct", d->name);
		json_ku64(jw, "size", d->size);
		json_key(jw, "fields");
		json_arr_begin(jw);
	} else {
		printf("%s at %0*llx (%llu bytes)\n", d->name, aw, (unsigned long long)d->addr,
		       (unsigned long long)d->size);
	}
	/* the value column after the longest label (PEB and TEB names are long) */
	int lw = 24;
	for (size_t i = 0; i < d->n; i++) {
		size_t l = strlen(d->f[i].name) + (d->f[i].index >= 0 ? 5 : 0);
		if (l > (size_t)lw && l < 60)
			lw = (int)l;
	}
	for (size_t i = 0; i < d->n; i++) {
		const vm_decoded_field *f = &d->f[i];
		bool ptr = f->type == VM_F_PTR || f->type == VM_F_CSTR || f->type == VM_F_WSTR || f->type == VM_F_WORD;
		bool named = ptr && point_text(m, s, f->value, sym, sizeof sym);
		/* long arrays: only the elements that hold something */
		if (f->index >= 0 && f->value == 0 && !jw && strcmp(d->name, "auxv"))
			continue;
		if (jw) {
			json_obj_begin(jw);
			json_kaddr(jw, "addr", f->offset);
			json_ku64(jw, "offset", f->offset - d->addr);
			json_kstr(jw, "name", f->name);
			if (f->index >= 0)
				json_ki64(jw, "index", f->index);
			json_kstr(jw, "type", type_name(f->type));
			if (f->type == VM_F_CHARS || f->type == VM_F_WCHARS)
				json_kstr(jw, "value", f->text);
			else if (f->type == VM_F_I32)
				json_ki64(jw, "value", (int64_t)f->value);
			else
				json_kaddr(jw, "value", f->value);
			if (named)
				json_kstr(jw, "points_to", sym);
			if (f->text && f->type != VM_F_CHARS && f->type != VM_F_WCHARS)
				json_kstr(jw, "string", f->text);
			json_obj_end(jw);
			continue;
		}
		char label[96];
		if (f->index >= 0 && strcmp(d->name, "auxv"))
			snprintf(label, sizeof label, "%s[%d]", f->name, f->index);
		else
			snprintf(label, sizeof label, "%s", f->name);
		printf("  +0x%04llx  %-*s ", (unsigned long long)(f->offset - d->addr), lw, label);
		if (f->type == VM_F_CHARS || f->type == VM_F_WCHARS)
			printf("%s", f->text);
		else if (f->type == VM_F_I32)
			printf("%lld", (long long)(int64_t)f->value);
		else
			printf("0x%llx", (unsigned long long)f->value);
		if (named)
			printf("  %s", sym);
		if (f->text && f->type != VM_F_CHARS && f->type != VM_F_WCHARS)
			printf("  \"%s\"", f->text);
		putchar('\n');
	}
	if (jw)
		json_arr_end(jw);
}

static int view_check(cli_ctx *ctx)
{
	view_args *a = ctx->args;
	const char *len_text = ctx->argc > 1 ? ctx->argv[1] : NULL;
	a->is_struct = vm_struct_known(a->as);
	for (size_t i = 0; i < ARRAY_LEN(units); i++)
		if (!strcmp(units[i].name, a->as))
			a->un = &units[i];
	if (!a->is_struct && !a->un)
		return cli_usage_error("view", "unknown --as '%s'", a->as);
	a->len = a->is_struct ? 1 : 256;
	if (len_text && (!parse_u64(len_text, &a->len) || a->len == 0 || a->len > (64u << 20)))
		return cli_usage_error("view", "bad LEN '%s'", len_text);
	return 0;
}

static int view_run(cli_ctx *ctx)
{
	const view_args *a = ctx->args;
	const char *as = a->as, *addr_text = ctx->argv[0];
	bool force = a->force, is_struct = a->is_struct;
	const unit *un = a->un;
	uint64_t len = a->len;
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	int rc = 0;
	vm_symbolizer *s = ctx->sym;
	vm_expr_ctx ec = { m, t, s };
	uint64_t addr;
	size_t w = m->info.bits == 32 ? 4 : 8;
	json_writer *jw = NULL;
	/* LEN structures in JSON: a list of them (auxv is one vector) */
	bool list = ctx->json && is_struct && len > 1 && strcmp(as, "auxv");
	int er = vm_expr_eval(&ec, addr_text, &addr);
	if (er < 0)
		return cli_error(er == -2 ? EXIT_USAGE : EXIT_RUNTIME, "view: %s", vm_error());
	if (ctx->json) {
		jw = xmalloc(sizeof *jw);
		json_init(jw, stdout, true);
		if (list)
			json_arr_begin(jw);
		else
			json_obj_begin(jw);
	}
	uint64_t span = force ? len : readable_span(m, addr, len);
	if (span == 0 && !(is_struct && force)) {
		free(jw);
		return unreadable_as(m, t, is_struct ? as : NULL, addr);
	}
	if (is_struct) {
		vm_heap_report hr = { 0 };
		if ((strstr(as, "malloc") || strstr(as, "heap") || strstr(as, "tcache")) && m->info.os != VM_OS_WINDOWS)
			vm_heap_walk(m, t, s, 0, &hr); /* for the glibc version */
		vm_decoded d;
		if (vm_struct_decode(t, m->info.bits, hr.version[0] ? hr.version : NULL, as, addr,
				     (unsigned)len, &d) < 0) {
			uint8_t probe;
			if (vm_read(t, addr, &probe, 1) == 1)
				rc = cli_error(EXIT_RUNTIME, "view: %s", vm_error());
			else
				rc = unreadable_as(m, t, as, addr);
		} else if (list) {
			structs_json(m, s, &d, (unsigned)len, jw);
		} else {
			struct_out(m, s, &d, jw);
		}
		vm_decoded_free(&d);
		vm_heap_report_free(&hr);
	} else {
		uint8_t *buf = xmalloc((size_t)len);
		ssize_t got = vm_read(t, addr, buf, (size_t)span);
		if (got <= 0) {
			rc = unreadable(m, addr);
		} else {
			size_t usize = un->size ? un->size : w;
			if (jw)
				json_units(jw, m, s, as, usize, addr, buf, (size_t)got, w);
			else
				text_units(m, t, s, as, usize, addr, buf, (size_t)got, w);
			if ((uint64_t)got < len && !jw)
				printf("(only %zd of %llu bytes: 0x%llx is not readable)\n", got,
				       (unsigned long long)len, (unsigned long long)(addr + (uint64_t)got));
			if ((uint64_t)got < len && jw)
				json_kaddr(jw, "unreadable_from", addr + (uint64_t)got);
		}
		free(buf);
	}
	if (jw) {
		if (!rc) {
			if (list)
				json_arr_end(jw);
			else
				json_obj_end(jw);
			json_done(jw);
		}
		free(jw);
	}
	return rc;
}

static const cli_option view_opts[] = {
	{ .name = "as", .value = "UNIT", .kind = CLI_STRING, .off = CLI_OFF_(view_args, as, const char *),
	  .choices = "u8 u16 u32 u64 i32 f32 f64 ascii utf16 ptr",
	  .help = "u8 (hex and ASCII, default), u16, u32, u64, i32, f32,\n"
		  "f64, ascii, utf16, ptr (one word a line, telescoped)" },
	{ .name = "as", .value = "STRUCT", .kind = CLI_STRING, .off = CLI_OFF_(view_args, as, const char *),
	  .choices = cli_choices_structs,
	  .help = "auxv, link_map, r_debug, malloc_chunk, malloc_state,\n"
		  "heap_info, tcache_perthread_struct, ehdr, phdr, shdr,\n"
		  "dyn, sym; Windows (whole, as Windows 10 lays them\n"
		  "out): peb, teb, peb32 and teb32 (WoW64), process_parameters,\n"
		  "peb_ldr_data, ldr_data_table_entry, kuser_shared_data;\n"
		  "ADDR $peb, $teb, $teb@TID, $peb32, $teb32, $kuser" },
	CLI_OPT_FLAG("force", 0, view_args, force, "read even memory the target cannot read itself\n"
		     "(PROT_NONE, guard pages) through /proc/PID/mem"),
};

const cli_command cli_cmd_view = {
	.name = "view",
	.summary = "memory as bytes, words, strings, pointers or structures",
	.usage = "[OPTIONS] TARGET ADDR [LEN]\n[OPTIONS] ADDR [LEN] -- PROGRAM [ARGS...]",
	.about = "Memory at ADDR: LEN bytes (default 256) shown by --as UNIT, or LEN\n"
		 "structures (default 1) decoded field by field by --as STRUCT. Values\n"
		 "that point into the address space are named: module!symbol+offset, or\n"
		 "the region they point into.\n"
		 "\n"
		 "ADDR is an expression: 0x7f00 or 4096, + - *, [expr] for the word at\n"
		 "expr, module!symbol or symbol (a C++ one as it reads demangled:\n"
		 "ns::Class::method, Box<long>::area, or one overload in single\n"
		 "quotes: \"'ns::f(double, int)'\"), a register of a thread (rsp@TID,\n"
		 "or rsp for the main thread). Examples: 'libc.so.6!environ',\n"
		 "'[rsp@1234]+8'.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	.args = "ADDR [LEN]",
	.args_error = "ADDR [LEN] please",
	.min_args = 1,
	.max_args = 2,
	.mo = { .no_stats = true },
	CLI_OPTS(view_opts),
	CLI_ARGS(view_args),
	.init = view_init,
	.check = view_check,
	.run = view_run,
};
