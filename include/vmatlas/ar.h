/* Archives of object files (GNU/BSD .a, MSVC .lib). */
#ifndef VMATLAS_AR_H
#define VMATLAS_AR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reader.h"

typedef struct ar_member {
	char *name;
	uint64_t header_offset, offset, size, date;
	bool is_special;         /* the symbol index ("/") or long-name table ("//") */
	bool is_import;          /* an MSVC short import object */
	char *import_dll, *import_symbol;
	uint16_t import_ordinal_hint;
	uint8_t import_type;     /* 0 code, 1 data, 2 const */
} ar_member;

typedef struct ar_archive {
	ar_member *m;
	size_t n;
	char *warnings;
} ar_archive;

bool ar_is_magic(const void *buf, size_t len);
int ar_open(ar_archive *a, const vm_reader *r);
void ar_close(ar_archive *a);

#endif
