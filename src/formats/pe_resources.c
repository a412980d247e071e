/* The resource tree (type / name / language / data), flattened to one
 * entry per data leaf. Directories are visited once each, so a tree whose
 * offsets loop back ends; depth and count are bounded. */
#include "pe_internal.h"
#include "base/utf16.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MAX_DEPTH 8
#define MAX_DIRS 65536

typedef struct walk {
	pe_image *pe;
	pe_dir dir;
	uint64_t *seen; /* open addressing: offset + 1, 0 empty */
	size_t nseen;
	pe_resource *out;
	size_t n, cap;
	bool cut;
} walk;

/* a name in the tree: a counted UTF-16 string at an offset in the directory */
static char *res_name(walk *w, uint32_t off)
{
	uint8_t len[2];
	if (off >= w->dir.size || pe_read_rva(w->pe, w->dir.rva + off, len, 2) < 0)
		return NULL;
	uint16_t units = ld_le16(len);
	uint8_t *b = xmalloc((size_t)units * 2 + 1);
	char *s = NULL;
	if (pe_read_rva(w->pe, w->dir.rva + off + 2, b, (size_t)units * 2) == 0)
		s = utf16le_to_utf8(b, units);
	free(b);
	return s;
}

#define SEEN_SLOTS (2 * MAX_DIRS)

static bool seen_before(walk *w, uint32_t off)
{
	if (!w->seen)
		w->seen = xcalloc(SEEN_SLOTS, sizeof *w->seen);
	size_t i = (off * 2654435761u) % SEEN_SLOTS;
	while (w->seen[i]) {
		if (w->seen[i] == (uint64_t)off + 1)
			return true;
		i = (i + 1) % SEEN_SLOTS;
	}
	w->seen[i] = (uint64_t)off + 1;
	w->nseen++;
	return false;
}

/* path: the ids (and names) of the levels above */
static void visit(walk *w, uint32_t off, int depth, uint32_t ids[3], char *names[3])
{
	if (depth >= MAX_DEPTH || w->nseen >= MAX_DIRS) {
		w->cut = true;
		return;
	}
	if (seen_before(w, off)) {
		pe_warn(w->pe, "the resource tree loops back to the directory at offset 0x%x", off);
		return;
	}
	uint8_t h[16];
	if (off > w->dir.size - 16 || w->dir.size < 16 || pe_read_rva(w->pe, w->dir.rva + off, h, 16) < 0) {
		pe_warn(w->pe, "a resource directory at offset 0x%x lies outside the resource section", off);
		return;
	}
	uint32_t count = (uint32_t)ld_le16(h + 12) + ld_le16(h + 14);
	for (uint32_t i = 0; i < count; i++) {
		if (w->n >= PE_MAX_RESOURCES) {
			w->cut = true;
			return;
		}
		uint8_t e[8];
		uint64_t at = (uint64_t)off + 16 + 8 * (uint64_t)i;
		if (at + 8 > w->dir.size || pe_read_rva(w->pe, w->dir.rva + (uint32_t)at, e, 8) < 0) {
			pe_warn(w->pe, "the resource directory at offset 0x%x has more entries than fit", off);
			return;
		}
		uint32_t name = ld_le32(e), target = ld_le32(e + 4);
		int level = depth < 3 ? depth : 2;
		char *saved = names[level];
		uint32_t saved_id = ids[level];
		names[level] = name >> 31 ? res_name(w, name & 0x7fffffffu) : NULL;
		ids[level] = name >> 31 ? 0 : name;
		if (target >> 31) {
			visit(w, target & 0x7fffffffu, depth + 1, ids, names);
		} else {
			uint8_t d[16];
			if (target > w->dir.size || w->dir.size - target < 16 ||
			    pe_read_rva(w->pe, w->dir.rva + target, d, 16) < 0) {
				pe_warn(w->pe, "a resource data entry at offset 0x%x lies outside the resource section", target);
			} else {
				pe_resource *r = ARRAY_PUSH(w->out, w->n, w->cap);
				memset(r, 0, sizeof *r);
				r->type = ids[0];
				r->id = depth >= 1 ? ids[1] : 0;
				r->lang = depth >= 2 ? ids[2] : 0;
				r->type_name = names[0] ? xstrdup(names[0]) : NULL;
				r->name = depth >= 1 && names[1] ? xstrdup(names[1]) : NULL;
				r->data_rva = ld_le32(d);
				r->size = ld_le32(d + 4);
				r->codepage = ld_le32(d + 8);
			}
		}
		free(names[level]);
		names[level] = saved;
		ids[level] = saved_id;
	}
}

int pe_read_resources(pe_image *pe, pe_resource **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	walk w = { .pe = pe };
	if (!pe_dir_get(pe, PE_DIR_RESOURCE, &w.dir))
		return 0;
	uint32_t ids[3] = { 0 };
	char *names[3] = { NULL };
	visit(&w, 0, 0, ids, names);
	if (w.cut)
		pe_warn(pe, "the resource tree is deeper or larger than vmatlas reads; the rest left out");
	free(w.seen);
	*out = w.out;
	*n = w.n;
	return 0;
}

void pe_resources_free(pe_resource *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].type_name);
		free(r[i].name);
	}
	free(r);
}
