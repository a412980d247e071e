/* `view --as`: structures decoded field by field, by the layout tables
 * (formats/layouts.c). */
#include "vmatlas/structs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf16.h"
#include "base/util.h"
#include "vmatlas/env.h"
#include "vmatlas/error.h"
#include "vmatlas/layout.h"

/* auxv is no structure but a vector, decoded on its own */
static const char auxv_name[] = "auxv";

bool vm_struct_known(const char *name)
{
	vm_layout L;
	return !strcmp(name, auxv_name) || vm_layout_get(&L, name, 64, 0);
}

static int version_number(const char *v)
{
	int a = 0, b = 0;
	if (!v || sscanf(v, "%d.%d", &a, &b) != 2)
		return 0;
	return a * 100 + b;
}

static void push(vm_decoded *d, const char *name, int index, uint64_t off, vm_ftype type,
		 uint64_t value, char *text)
{
	vm_decoded_field *f = ARRAY_PUSH(d->f, d->n, d->cap);
	f->name = name;
	f->index = index;
	f->offset = off;
	f->type = type;
	f->value = value;
	f->text = text;
}

/* a NUL-terminated UTF-16 string at addr, bounded */
static char *read_wstr(vm_target *t, uint64_t addr)
{
	uint8_t buf[1024];
	if (!addr)
		return NULL;
	ssize_t n = vm_read(t, addr, buf, sizeof buf);
	if (n <= 1)
		return NULL;
	size_t units = 0;
	while (units < (size_t)n / 2 && (buf[2 * units] || buf[2 * units + 1]))
		units++;
	return utf16le_to_utf8(buf, units);
}

static char *read_cstr(vm_target *t, uint64_t addr)
{
	vm_reader r = vm_reader_target(t);
	return addr ? vm_reader_string(&r, addr, 511) : NULL;
}

/* decode one structure from buf (already read) */
static void decode_one(vm_target *t, const vm_layout *L, const uint8_t *buf, size_t len, uint64_t base,
		       vm_decoded *d)
{
	for (size_t k = 0; k < L->n; k++) {
		const vm_layout_field *fd = &L->f[k];
		size_t off = fd->off;
		unsigned count = fd->count;
		if (fd->type == VM_F_PAD4 || fd->type == VM_F_ALIGN || fd->type == VM_F_STRUCT)
			continue; /* padding, or a nested table `view` does not list */
		if (fd->type == VM_F_WCHARS) {
			size_t units = 0;
			while (units < count && off + 2 * units + 1 < len &&
			       (buf[off + 2 * units] || buf[off + 2 * units + 1]))
				units++;
			push(d, fd->name, -1, base + off, fd->type, 0, utf16le_to_utf8(buf + off, units));
			continue;
		}
		if (fd->type == VM_F_CHARS) {
			char *hex = xmalloc(2 * (size_t)count + 1);
			for (unsigned i = 0; i < count; i++)
				snprintf(hex + 2 * i, 3, "%02x", off + i < len ? buf[off + i] : 0);
			push(d, fd->name, -1, base + off, fd->type, 0, hex);
			continue;
		}
		for (unsigned i = 0; i < count; i++, off += fd->size) {
			uint64_t v = 0;
			if (off + fd->size <= len)
				memcpy(&v, buf + off, fd->size); /* the target's byte order is ours */
			if (fd->type == VM_F_I32)
				v = (uint64_t)(int64_t)(int32_t)(uint32_t)v;
			char *text = fd->type == VM_F_CSTR ? read_cstr(t, v) : fd->type == VM_F_WSTR ? read_wstr(t, v) : NULL;
			push(d, fd->name, count > 1 ? (int)i : -1, base + off, fd->type, v, text);
		}
	}
}

static int decode_auxv(vm_target *t, int bits, uint64_t addr, vm_decoded *d)
{
	size_t w = bits == 32 ? 4 : 8;
	vm_reader r = vm_reader_target(t);
	for (unsigned i = 0; i < 4096; i++) {
		uint64_t type = 0, val = 0;
		if (!vm_reader_word(&r, addr + 2 * w * i, w, &type) ||
		    !vm_reader_word(&r, addr + 2 * w * i + w, w, &val))
			return i ? 0 : -1;
		const char *nm = vm_auxv_name(type);
		push(d, nm ? nm : "AT_?", (int)type, addr + 2 * w * i, VM_F_WORD, val,
		     vm_auxv_is_string(type) ? read_cstr(t, val) : NULL);
		d->size += 2 * w;
		if (type == 0)
			break;
	}
	return 0;
}

int vm_struct_decode(vm_target *t, int bits, const char *glibc_version, const char *name,
		     uint64_t addr, unsigned count, vm_decoded *out)
{
	memset(out, 0, sizeof *out);
	out->addr = addr;
	if (!strcmp(name, auxv_name)) {
		out->name = auxv_name;
		if (decode_auxv(t, bits, addr, out) < 0) {
			vm_seterr("cannot read an auxiliary vector at 0x%llx", (unsigned long long)addr);
			return -1;
		}
		return 0;
	}
	if (!strcmp(name, "ehdr")) { /* the header says its own class */
		uint8_t ident[16] = { 0 };
		vm_read(t, addr, ident, sizeof ident);
		bits = ident[4] == 2 ? 64 : 32;
	}
	vm_layout L;
	if (!vm_layout_get(&L, name, bits, version_number(glibc_version))) {
		vm_seterr("unknown structure '%s'", name);
		return -1;
	}
	out->name = L.name;
	uint64_t one = L.size;
	if (count == 0)
		count = 1;
	if (count > 65536 || one * count > (16u << 20)) {
		vm_seterr("too many structures (%u)", count);
		return -1;
	}
	size_t len = (size_t)(one * count);
	uint8_t *buf = xmalloc(len);
	ssize_t got = vm_read(t, addr, buf, len);
	if (got < (ssize_t)one) {
		free(buf);
		vm_seterr("cannot read a %s (%llu bytes) at 0x%llx", name, (unsigned long long)one,
			  (unsigned long long)(addr + (uint64_t)(got > 0 ? got : 0)));
		return -1;
	}
	for (unsigned i = 0; i < count && (uint64_t)(i + 1) * one <= (uint64_t)got; i++)
		decode_one(t, &L, buf + i * one, (size_t)one, addr + i * one, out);
	out->size = one * count;
	free(buf);
	return 0;
}

void vm_decoded_free(vm_decoded *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->f[i].text);
	free(d->f);
	memset(d, 0, sizeof *d);
}
