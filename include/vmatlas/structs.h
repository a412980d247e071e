/* Structures decoded field by field from target memory. Each structure is
 * a table of fields (name, type, count); offsets follow the target's
 * word size and C alignment, and glibc's structures follow its version.
 * One decoder serves them all. */
#ifndef VMATLAS_STRUCTS_H
#define VMATLAS_STRUCTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target.h"

typedef enum vm_ftype {
	VM_F_U8, VM_F_U16, VM_F_U32, VM_F_U64, VM_F_I32,
	VM_F_WORD,  /* an unsigned word of the target (size_t) */
	VM_F_PTR,   /* a pointer: shown with what it points to */
	VM_F_CSTR,  /* a pointer to a C string: shown with the string */
	VM_F_CHARS, /* bytes in place (count of them) */
	VM_F_WSTR,  /* a pointer to a UTF-16 string (Windows): shown with the string */
	VM_F_WCHARS, /* UTF-16 characters in place (count of them) */
	VM_F_PAD4,  /* 4 bytes of padding (Windows aligns 8-byte members to 8 on x86) */
} vm_ftype;

typedef struct vm_field_desc {
	const char *name;
	vm_ftype type;
	unsigned count; /* 0 or 1: one; more: an array */
} vm_field_desc;

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

/* the names --as accepts (NULL-terminated) */
const char *const *vm_struct_names(void);
bool vm_struct_known(const char *name);
/* decode `count` consecutive structures at addr; glibc_version like
 * "2.36" or NULL (newest layouts); -1 with an error if unreadable */
int vm_struct_decode(vm_target *t, int bits, const char *glibc_version, const char *name,
		     uint64_t addr, unsigned count, vm_decoded *out);
void vm_decoded_free(vm_decoded *d);

#endif
