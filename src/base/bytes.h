/* Little-endian loads and stores, for file formats (ours, PE, minidump)
 * that fix their byte order whatever the host's. */
#ifndef VMATLAS_CORE_BYTES_H
#define VMATLAS_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t ld_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t ld_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ld_le64(const uint8_t *p)
{
	return (uint64_t)ld_le32(p) | (uint64_t)ld_le32(p + 4) << 32;
}

/* a target's word: 4 bytes on a 32-bit target, else 8 */
static inline uint64_t ld_word(const uint8_t *p, size_t w)
{
	return w == 4 ? ld_le32(p) : ld_le64(p);
}

static inline void st_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void st_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void st_le64(uint8_t *p, uint64_t v)
{
	st_le32(p, (uint32_t)v);
	st_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
