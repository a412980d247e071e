/* vmatlas image: the parts a dump can show, and the renderers per format. */
#ifndef VMATLAS_CLI_IMAGE_H
#define VMATLAS_CLI_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/json.h"
#include "vmatlas/elf.h"
#include "vmatlas/pe.h"

enum {
	PART_HEADERS = 1u << 0,
	PART_SECTIONS = 1u << 1,
	PART_DIRS = 1u << 2,
	PART_IMPORTS = 1u << 3,
	PART_EXPORTS = 1u << 4,
	PART_RELOCS = 1u << 5,
	PART_RESOURCES = 1u << 6,
	PART_DEBUG = 1u << 7,
	PART_TLS = 1u << 8,
	PART_LOADCONFIG = 1u << 9,
	PART_EXCEPTIONS = 1u << 10,
	PART_SYMBOLS = 1u << 11,
	PART_RICH = 1u << 12,
	PART_OVERLAY = 1u << 13,
	PART_SEGMENTS = 1u << 14, /* ELF program headers */
	PART_DYNAMIC = 1u << 15,
	PART_NOTES = 1u << 16,
	PART_VERSIONS = 1u << 17,
	PART_ALL = (1u << 18) - 1,
};

/* what `vmatlas image` shows when no part is named */
#define PART_DEFAULT (PART_HEADERS | PART_SECTIONS | PART_DIRS | PART_IMPORTS | PART_EXPORTS | PART_DEBUG | \
		      PART_SEGMENTS | PART_DYNAMIC | PART_NOTES | PART_RICH | PART_OVERLAY)

void image_pe_text(pe_image *pe, unsigned parts);
void image_pe_json(pe_image *pe, unsigned parts, json_writer *w);
void image_elf_text(elf_image *e, unsigned parts);
void image_elf_json(elf_image *e, unsigned parts, json_writer *w);

/* "2024-01-31 12:00:00 UTC" */
const char *image_date(uint32_t t, char *buf, size_t n);

#endif
