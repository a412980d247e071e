/* The pieces of an ELF core file (vmatlas capture writes whole cores,
 * and adds its note to cores the kernel writes). */
#ifndef VMATLAS_OPS_CORE_WRITE_H
#define VMATLAS_OPS_CORE_WRITE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cw_buf {
	uint8_t *p;
	size_t n, cap;
} cw_buf;

void cw_put(cw_buf *b, const void *v, size_t n);
/* a word of the core's size (4 or 8 bytes) */
void cw_put_word(cw_buf *b, int bits, uint64_t v);
/* one note: header, owner, descriptor, each padded to 4 */
void cw_note(cw_buf *b, const char *owner, uint32_t type, const void *desc, size_t len);
/* ET_CORE header with nph program headers right after it; PN_XNUM and a
 * section header at shoff when nph does not fit */
void cw_put_ehdr(cw_buf *b, uint16_t machine, int bits, uint64_t nph, uint64_t shoff);
void cw_put_phdr(cw_buf *b, int bits, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
		 uint64_t filesz, uint64_t memsz, uint64_t align);
/* section header 0, whose sh_info holds the real count under PN_XNUM */
void cw_put_shdr0(cw_buf *b, int bits, uint64_t nph);

#endif
