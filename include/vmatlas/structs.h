/* Structures decoded field by field from target memory, by the tables
 * of layout.h. One decoder serves them all. */
#ifndef VMATLAS_STRUCTS_H
#define VMATLAS_STRUCTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "target.h"

typedef struct vm_decoded_field {
	const char *name;
	int index;       /* array element, -1 for scalars */
	uint64_t offset;
	vm_ftype type;
	uint64_t value;
	char *text;      /* a string read through a pointer, or the bytes */
} vm_decoded_field;

typedef struct vm_decoded {
	const char *name;  /* the structure's name */
	uint64_t addr, size;
	vm_decoded_field *f;
	size_t n, cap;
} vm_decoded;

/* a name --as accepts: a layout's (layout.h), or auxv */
bool vm_struct_known(const char *name);
/* decode `count` consecutive structures at addr; glibc_version like
 * "2.36" or NULL (newest layouts); -1 with an error if unreadable */
int vm_struct_decode(vm_target *t, int bits, const char *glibc_version, const char *name,
		     uint64_t addr, unsigned count, vm_decoded *out);
void vm_decoded_free(vm_decoded *d);

#endif
