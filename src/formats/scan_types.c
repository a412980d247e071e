/* The value types of a scan and what a scan owns: shared by the scan
 * (ops/scan.c) and its file (scan_file.c). */
#include "vmatlas/scan.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	size_t size;
} types[VM_SCAN_TYPE_COUNT] = {
	{ "u8", 1 }, { "u16", 2 }, { "u32", 4 }, { "u64", 8 }, { "i8", 1 }, { "i16", 2 },
	{ "i32", 4 }, { "i64", 8 }, { "f32", 4 }, { "f64", 8 },
};

int vm_scan_type_by_name(const char *name)
{
	for (int i = 0; i < VM_SCAN_TYPE_COUNT; i++)
		if (!strcmp(types[i].name, name))
			return i;
	return -1;
}

const char *vm_scan_type_name(vm_scan_type t)
{
	return (unsigned)t < VM_SCAN_TYPE_COUNT ? types[t].name : "?";
}

size_t vm_scan_type_size(vm_scan_type t)
{
	return (unsigned)t < VM_SCAN_TYPE_COUNT ? types[t].size : 0;
}

void vm_scan_free(vm_scan *s)
{
	free(s->addr);
	free(s->value);
	memset(s, 0, sizeof *s);
}
