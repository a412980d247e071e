/* Memory and code as the mem and disasm commands show them: units of
 * 1-10 bytes (integers in hex, floats, f80 decoded by vm_f80_format), text, and
 * pointers named; instructions with the pc and breakpoints marked. All
 * from the original bytes. */
#include "cmdi.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/utf16.h"
#include "base/util.h"
#include "vmatlas/error.h"

static const struct {
	const char *name;
	int size;
} units[] = {
	{ "u8", 1 }, { "u16", 2 }, { "u32", 4 }, { "u64", 8 }, { "f32", 4 }, { "f64", 8 },
	{ "f80", 10 }, { "ascii", 1 }, { "utf16", 2 }, { "ptr", 0 },
};

int show_unit_size(const char *unit)
{
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (!strcmp(units[i].name, unit))
			return units[i].size;
	return -1;
}

static double as_double(const uint8_t *p, int size)
{
	if (size == 4) {
		float f;
		memcpy(&f, p, 4);
		return f;
	}
	if (size == 8) {
		double f;
		memcpy(&f, p, 8);
		return f;
	}
	return 0; /* f80: vm_f80_format */
}

static int show_text(cmd_out *o, uint64_t addr, const uint8_t *buf, size_t got, bool utf16)
{
	char *s;
	if (utf16) {
		size_t units_n = got / 2, end = 0;
		while (end < units_n && (buf[2 * end] || buf[2 * end + 1]))
			end++;
		s = xcalloc(1, end * 3 + 1);
		size_t k = 0;
		for (size_t i = 0; i < end; i++) {
			uint16_t u = (uint16_t)(buf[2 * i] | buf[2 * i + 1] << 8);
			s[k++] = u >= 0x20 && u < 0x7f ? (char)u : '.';
		}
	} else {
		size_t end = 0;
		while (end < got && buf[end])
			end++;
		s = xcalloc(1, end + 1);
		for (size_t i = 0; i < end; i++)
			s[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '.';
	}
	if (o->json) {
		json_writer w;
		show_json_begin(o, &w, true);
		json_kaddr(&w, "addr", addr);
		json_kstr(&w, "unit", utf16 ? "utf16" : "ascii");
		json_kstr(&w, "text", s);
		show_json_end(&w);
	} else {
		fprintf(o->f, "0x%llx: \"%s\"\n", (unsigned long long)addr, s);
	}
	free(s);
	return 0;
}

int show_mem(cmd_out *o, uint64_t addr, uint64_t count, const char *unit)
{
	int size = show_unit_size(unit);
	bool ptr = size == 0, text = !strcmp(unit, "ascii") || !strcmp(unit, "utf16");
	if (ptr)
		size = o->d->bits / 8;
	if (!count)
		count = text ? 256 : ptr ? 8 : (uint64_t)(64 / size > 0 ? 64 / size : 4);
	if (count > (1u << 20) / (unsigned)size) {
		vm_seterr("mem: at most %u bytes at a time", 1u << 20);
		return -1;
	}
	size_t len = (size_t)count * (size_t)size;
	uint8_t *buf = xmalloc(len);
	ssize_t got = vm_dbg_read(o->d, addr, buf, len);
	if (got <= 0) {
		free(buf);
		vm_seterr("cannot read 0x%llx: not mapped", (unsigned long long)addr);
		return -1;
	}
	if (text) {
		int rc = show_text(o, addr, buf, (size_t)got, unit[0] == 'u');
		free(buf);
		return rc;
	}
	size_t n = (size_t)got / (size_t)size;
	bool fl = unit[0] == 'f';
	json_writer w;
	if (o->json) {
		show_json_begin(o, &w, true);
		json_kaddr(&w, "addr", addr);
		json_kstr(&w, "unit", unit);
		json_key(&w, "values");
		json_arr_begin(&w);
	}
	int per_line = ptr ? 1 : fl ? 4 : 16 / size;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + i * (size_t)size;
		uint64_t v = 0;
		if (!fl)
			memcpy(&v, p, (size_t)size);
		char where[256] = "";
		if (ptr) {
			vm_symbol_info si;
			vm_symbolizer *s = vm_dbg_symbols(o->d);
			if (s && vm_symbolize(s, v, &si) && (si.symbol || si.module))
				vm_symbol_format(&si, v, where, sizeof where);
		}
		if (o->json) {
			if (fl && size == 10) {
				char f80[64];
				json_str(&w, vm_f80_format(p, f80, sizeof f80)); /* beyond a double */
			} else if (fl)
				json_double(&w, as_double(p, size));
			else if (size == 8 && !ptr)
				json_addr(&w, v);
			else if (ptr) {
				json_obj_begin(&w);
				json_kaddr(&w, "value", v);
				if (where[0])
					json_kstr(&w, "where", where);
				json_obj_end(&w);
			} else
				json_u64(&w, v);
			continue;
		}
		if (i % (size_t)per_line == 0)
			fprintf(o->f, "0x%llx:", (unsigned long long)(addr + i * (size_t)size));
		char f80[64];
		if (fl && size == 10)
			fprintf(o->f, " %s", vm_f80_format(p, f80, sizeof f80));
		else if (fl)
			fprintf(o->f, " %.17g", as_double(p, size));
		else
			fprintf(o->f, " %0*llx", size * 2, (unsigned long long)v);
		if (where[0])
			fprintf(o->f, " %s", where);
		if (i % (size_t)per_line == (size_t)per_line - 1 || i + 1 == n)
			fputc('\n', o->f);
	}
	if (o->json) {
		json_arr_end(&w);
		show_json_end(&w);
	}
	free(buf);
	return 0;
}

int show_disasm(cmd_out *o, uint64_t addr, uint64_t count)
{
	if (count == 0 || count > 10000) {
		vm_seterr("disasm: 1 to 10000 instructions");
		return -1;
	}
	vm_dbg_insn *v = xcalloc((size_t)count, sizeof *v);
	size_t n = vm_dbg_disasm(o->d, addr, (size_t)count, v);
	if (!n) {
		free(v);
		vm_seterr("cannot read code at 0x%llx", (unsigned long long)addr);
		return -1;
	}
	uint64_t pc = 0;
	vm_dbg_reg_get(o->d, "rip", &pc);
	json_writer w;
	if (o->json) {
		show_json_begin(o, &w, true);
		json_key(&w, "insns");
		json_arr_begin(&w);
	}
	for (size_t i = 0; i < n; i++) {
		char where[256], hex[64] = "";
		vm_dbg_where(o->d, v[i].addr, where, sizeof where, NULL, NULL);
		for (int k = 0; k < v[i].len && k < 15; k++)
			snprintf(hex + 2 * k, sizeof hex - 2 * (size_t)k, "%02x", v[i].bytes[k]);
		bool bp = vm_dbg_has_break(o->d, v[i].addr);
		if (o->json) {
			json_obj_begin(&w);
			json_kaddr(&w, "addr", v[i].addr);
			json_kstr(&w, "where", where);
			json_kstr(&w, "bytes", hex);
			json_ki64(&w, "len", v[i].len);
			json_kstr(&w, "text", v[i].text);
			if (v[i].target)
				json_kaddr(&w, "target", v[i].target);
			json_kbool(&w, "pc", v[i].addr == pc);
			json_kbool(&w, "breakpoint", bp);
			json_obj_end(&w);
		} else {
			fprintf(o->f, "%s%s 0x%llx %-32s %-20s %s\n", v[i].addr == pc ? "=>" : "  ", bp ? "*" : " ",
				(unsigned long long)v[i].addr, where, hex, v[i].text);
		}
	}
	if (o->json) {
		json_arr_end(&w);
		show_json_end(&w);
	}
	free(v);
	return 0;
}
