/* The layouts of the structures vmatlas reads from target memory: glibc's
 * (link_map, r_debug, malloc's), ELF's, and Windows' (PEB, TEB, ...), for
 * both word sizes. Each is one table of fields (name, type, count); the
 * offsets follow from the word size and C alignment, and glibc's from its
 * version. Everything that reads these structures (the loader list, the
 * heap walk, the PEB reader, `view --as`) takes its offsets from here. */
#ifndef VMATLAS_LAYOUT_H
#define VMATLAS_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum vm_ftype {
	VM_F_U8, VM_F_U16, VM_F_U32, VM_F_U64, VM_F_I32,
	VM_F_WORD,  /* an unsigned word of the target (size_t) */
	VM_F_PTR,   /* a pointer: shown with what it points to */
	VM_F_CSTR,  /* a pointer to a C string: shown with the string */
	VM_F_CHARS, /* bytes in place (count of them) */
	VM_F_WSTR,  /* a pointer to a UTF-16 string (Windows): shown with the string */
	VM_F_WCHARS, /* UTF-16 characters in place (count of them) */
	VM_F_PAD4,  /* 4 bytes of padding (Windows aligns 8-byte members to 8 on x86) */
	/* only in layouts, never decoded: */
	VM_F_ALIGN,  /* no bytes: the next field starts a word-aligned member */
	VM_F_STRUCT, /* `count` structures laid out by `sub`, in place */
} vm_ftype;

typedef struct vm_field_desc {
	const char *name;
	vm_ftype type;
	unsigned count; /* 0 or 1: one; more: an array */
	const struct vm_field_desc *sub; /* VM_F_STRUCT: its fields */
} vm_field_desc;

/* one field, placed */
typedef struct vm_layout_field {
	const char *name;
	vm_ftype type;
	unsigned count;   /* elements, at least 1 */
	uint32_t off;     /* from the structure's start */
	uint32_t size;    /* of one element */
} vm_layout_field;

#define VM_LAYOUT_MAX_FIELDS 192 /* the TEB has 150 */

/* A structure's layout for one word size (and glibc version). */
typedef struct vm_layout {
	const char *name;
	int bits;
	size_t n;
	uint64_t size;      /* the fields listed, padded to the structure's alignment */
	uint64_t full_size; /* sizeof the whole structure where the table lists only
			     * its first fields; otherwise size */
	vm_layout_field f[VM_LAYOUT_MAX_FIELDS];
} vm_layout;

/* the i-th structure with a layout; NULL past the last */
const char *vm_layout_name(size_t i);
/* the layout of `name` for a target of `bits` (32 or 64); glibc_version
 * as major * 100 + minor (236 for 2.36), 0 for the newest layouts;
 * false if there is no such structure */
bool vm_layout_get(vm_layout *out, const char *name, int bits, int glibc_version);
/* a field's offset; the name is a constant of the caller's, so a name the
 * layout lacks is a bug: it aborts */
uint64_t vm_layout_off(const vm_layout *L, const char *field);
/* the field, or NULL */
const vm_layout_field *vm_layout_field_get(const vm_layout *L, const char *field);

#endif
