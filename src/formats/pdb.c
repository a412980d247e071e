/* PDB files (MSF 7.00): the stream directory, the PDB info stream (GUID
 * and age, to match an image's CodeView record) and the public symbols
 * (S_PUB32 records of the symbol record stream the DBI stream names).
 * Every block number, stream size and record length is checked against
 * the file; a damaged file gives what could be read. */
#include "pdb.h"

#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"
#include "vmatlas/error.h"

#define MAX_STREAM (256u << 20)
#define MAX_PUBLICS (1u << 22)
#define S_PUB32 0x110e

static const char msf_magic[] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0\0";

typedef struct msf {
	const vm_reader *r;
	uint32_t bs, nblocks, nstreams;
	uint32_t *sizes;    /* per stream */
	uint32_t **blocks;  /* per stream, its block numbers */
} msf;

static void msf_free(msf *m)
{
	for (uint32_t i = 0; m->blocks && i < m->nstreams; i++)
		free(m->blocks[i]);
	free(m->blocks);
	free(m->sizes);
}

/* bytes of the blocks list (n blocks) into buf of len bytes */
static bool read_blocks(const msf *m, const uint32_t *list, size_t n, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < n && len; i++) {
		if (list[i] >= m->nblocks)
			return false;
		size_t k = len < m->bs ? len : m->bs;
		if (!vm_reader_full(m->r, (uint64_t)list[i] * m->bs, buf, k))
			return false;
		buf += k;
		len -= k;
	}
	return len == 0;
}

static int msf_open(msf *m, const vm_reader *r)
{
	memset(m, 0, sizeof *m);
	m->r = r;
	uint8_t h[56];
	if (!vm_reader_full(r, 0, h, sizeof h) || memcmp(h, msf_magic, 32) != 0) {
		vm_seterr("not a PDB (MSF 7.00) file");
		return -1;
	}
	m->bs = ld_le32(h + 32);
	m->nblocks = ld_le32(h + 40);
	uint32_t dir_bytes = ld_le32(h + 44), map_block = ld_le32(h + 52);
	if ((m->bs != 512 && m->bs != 1024 && m->bs != 2048 && m->bs != 4096) ||
	    (uint64_t)m->nblocks * m->bs > r->size || map_block >= m->nblocks || dir_bytes < 4 ||
	    dir_bytes > MAX_STREAM || dir_bytes > r->size) {
		vm_seterr("the PDB's MSF header is damaged");
		return -1;
	}
	size_t ndir = (dir_bytes + m->bs - 1) / m->bs;
	if (ndir > m->bs / 4) {
		vm_seterr("the PDB's stream directory is too large");
		return -1;
	}
	uint32_t *dirblocks = xcalloc(ndir, 4);
	uint8_t *raw = xmalloc(ndir * 4);
	uint8_t *dir = xmalloc(dir_bytes);
	bool ok = vm_reader_full(r, (uint64_t)map_block * m->bs, raw, ndir * 4);
	for (size_t i = 0; ok && i < ndir; i++)
		dirblocks[i] = ld_le32(raw + 4 * i);
	ok = ok && read_blocks(m, dirblocks, ndir, dir, dir_bytes);
	free(raw);
	free(dirblocks);
	if (!ok) {
		free(dir);
		vm_seterr("the PDB's stream directory is unreadable");
		return -1;
	}
	uint32_t n = ld_le32(dir);
	if (n > (dir_bytes - 4) / 4) {
		free(dir);
		vm_seterr("the PDB's stream directory claims %u streams", n);
		return -1;
	}
	m->nstreams = n;
	m->sizes = xcalloc(n ? n : 1, 4);
	m->blocks = xcalloc(n ? n : 1, sizeof *m->blocks);
	size_t at = 4 + 4 * (size_t)n;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t sz = ld_le32(dir + 4 + 4 * (size_t)i);
		if (sz == UINT32_MAX)
			sz = 0; /* a nil stream */
		size_t nb = (sz + (size_t)m->bs - 1) / m->bs;
		if (nb > (dir_bytes - at) / 4) { /* the directory ends first */
			m->nstreams = i;
			break;
		}
		m->sizes[i] = sz;
		m->blocks[i] = xcalloc(nb ? nb : 1, 4);
		for (size_t k = 0; k < nb; k++)
			m->blocks[i][k] = ld_le32(dir + at + 4 * k);
		at += 4 * nb;
	}
	free(dir);
	return 0;
}

/* a whole stream, or NULL */
static uint8_t *msf_stream(const msf *m, uint32_t i, uint32_t *len)
{
	/* no larger than the file: a hostile size allocates nothing big */
	if (i >= m->nstreams || !m->sizes[i] || m->sizes[i] > MAX_STREAM ||
	    m->sizes[i] > (uint64_t)m->nblocks * m->bs)
		return NULL;
	uint8_t *b = xmalloc(m->sizes[i]);
	if (!read_blocks(m, m->blocks[i], (m->sizes[i] + (size_t)m->bs - 1) / m->bs, b, m->sizes[i])) {
		free(b);
		return NULL;
	}
	*len = m->sizes[i];
	return b;
}

int pdb_read(const vm_reader *r, pdb_info *out)
{
	memset(out, 0, sizeof *out);
	msf m;
	if (msf_open(&m, r) < 0)
		return -1;
	uint32_t len;
	uint8_t *info = msf_stream(&m, 1, &len);
	if (info && len >= 28) { /* Version, Signature, Age, GUID */
		out->age = ld_le32(info + 8);
		memcpy(out->guid, info + 12, 16);
		out->have_guid = true;
	}
	free(info);
	uint8_t *dbi = msf_stream(&m, 3, &len);
	uint32_t symrec = UINT32_MAX;
	if (dbi && len >= 64) {
		out->dbi_age = ld_le32(dbi + 8);
		symrec = ld_le16(dbi + 20);
	}
	free(dbi);
	size_t cap = 0;
	uint8_t *s = symrec != UINT32_MAX ? msf_stream(&m, symrec, &len) : NULL;
	for (size_t at = 0; s && at + 4 <= len && out->n < MAX_PUBLICS;) {
		size_t reclen = ld_le16(s + at);
		if (reclen < 2 || reclen > len - at - 2)
			break; /* the stream is cut: keep what came before */
		uint16_t kind = ld_le16(s + at + 2);
		if (kind == S_PUB32 && reclen >= 2 + 4 + 4 + 2 + 1) {
			const uint8_t *p = s + at + 4;
			size_t room = reclen - 12;
			const char *name = (const char *)p + 10;
			size_t nl = strnlen(name, room);
			if (nl && nl < room) {
				pdb_public *x = ARRAY_PUSH(out->pub, out->n, cap);
				x->flags = ld_le32(p);
				x->offset = ld_le32(p + 4);
				x->segment = ld_le16(p + 8);
				x->name = xstrndup(name, nl);
			}
		}
		at += 2 + reclen;
	}
	free(s);
	msf_free(&m);
	return 0;
}

void pdb_info_free(pdb_info *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->pub[i].name);
	free(p->pub);
	memset(p, 0, sizeof *p);
}
