/* PDB files: the GUID and age, and the public symbols (pdb.c). */
#ifndef VMATLAS_FORMATS_PDB_H
#define VMATLAS_FORMATS_PDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmatlas/reader.h"

typedef struct pdb_public {
	char *name;
	uint32_t flags;    /* CV_PUBSYMFLAGS: 2 function */
	uint32_t offset;
	uint16_t segment;  /* 1-based: the image's section */
} pdb_public;

typedef struct pdb_info {
	bool have_guid;
	uint8_t guid[16];
	uint32_t age, dbi_age;
	pdb_public *pub;
	size_t n;
} pdb_info;

/* -1 (error set) when it is not a PDB; a damaged one gives what could be read */
int pdb_read(const vm_reader *r, pdb_info *out);
void pdb_info_free(pdb_info *p);

#endif
