/* PLT stubs named as gdb and objdump name them ("puts@plt"): each stub of
 * .plt, .plt.sec and .plt.got jumps through a GOT slot, and the
 * relocation that fills the slot (JUMP_SLOT, or GLOB_DAT for .plt.got)
 * names the symbol. Stubs are recognised by their jump, x86-64 and i386:
 * [endbr] [bnd] jmp *slot(%rip) | jmp *slot | jmp *off(%ebx). */
#include "symtab.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "formats/elf_defs.h"

#define R_X86_GLOB_DAT 6 /* the same numbers on x86-64 and i386 */
#define R_X86_JUMP_SLOT 7
#define MAX_PLT_BYTES (4u << 20)

typedef struct slot_name {
	uint64_t slot;
	const char *name; /* into a symtab kept until the end */
} slot_name;

static int cmp_slot(const void *a, const void *b)
{
	const slot_name *x = a, *y = b;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

static const char *name_of_slot(const slot_name *v, size_t n, uint64_t slot)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].slot == slot ? v[lo].name : NULL;
}

/* the GOT slot a stub at addr (code[0..len)) jumps through; 0 none; *n
 * its length up to the end of the jump */
static uint64_t stub_slot(const elf_image *e, uint64_t gotplt, const uint8_t *code, size_t len, uint64_t addr,
			  size_t *n)
{
	size_t p = 0;
	if (len >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && (code[3] == 0xfa || code[3] == 0xfb))
		p = 4;
	if (p < len && code[p] == 0xf2)
		p++;
	if (p + 6 > len || code[p] != 0xff || (code[p + 1] != 0x25 && code[p + 1] != 0xa3))
		return 0;
	uint32_t u = (uint32_t)code[p + 2] | (uint32_t)code[p + 3] << 8 | (uint32_t)code[p + 4] << 16 |
		     (uint32_t)code[p + 5] << 24;
	*n = p + 6;
	if (e->bits == 64)
		return code[p + 1] == 0x25 ? addr + p + 6 + (uint64_t)(int64_t)(int32_t)u : 0;
	if (code[p + 1] == 0x25)
		return u; /* absolute */
	return gotplt ? (uint32_t)(gotplt + u) : 0; /* off(%ebx): ebx is .got.plt */
}

void symtab_add_plt(sym_table *t, const elf_image *e)
{
	slot_name *v = NULL;
	size_t n = 0, cap = 0;
	elf_symtab *tabs = NULL;
	size_t ntabs = 0, tcap = 0;
	uint64_t gotplt = 0;
	for (size_t i = 0; i < e->nsh; i++) {
		const elf_shdr *s = &e->sh[i];
		if (!strcmp(s->namestr, ".got.plt"))
			gotplt = s->addr;
		if ((s->type != SHT_RELA && s->type != SHT_REL) || s->link >= e->nsh ||
		    e->sh[s->link].type != SHT_DYNSYM)
			continue;
		elf_reloc *r;
		size_t nr;
		elf_symtab st;
		if (elf_read_relocs(e, s, &r, &nr) < 0)
			continue;
		if (elf_read_symtab(e, &e->sh[s->link], &st) < 0) {
			free(r);
			continue;
		}
		for (size_t k = 0; k < nr; k++) {
			if ((r[k].type != R_X86_JUMP_SLOT && r[k].type != R_X86_GLOB_DAT) || !r[k].sym ||
			    r[k].sym >= st.n || st.syms[r[k].sym].name >= st.strsz)
				continue;
			slot_name *sn = ARRAY_PUSH(v, n, cap);
			sn->slot = r[k].offset;
			sn->name = st.strtab + st.syms[r[k].sym].name;
		}
		free(r);
		*ARRAY_PUSH(tabs, ntabs, tcap) = st;
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_slot);
	for (size_t i = 0; i < e->nsh && n; i++) {
		const elf_shdr *s = &e->sh[i];
		bool got = !strcmp(s->namestr, ".plt.got");
		if ((!got && strcmp(s->namestr, ".plt") && strcmp(s->namestr, ".plt.sec")) || s->type != SHT_PROGBITS ||
		    !s->size || s->size > MAX_PLT_BYTES)
			continue;
		uint8_t *code = xmalloc(s->size);
		if (elf_read_offset(e, s->offset, code, s->size) == 0) {
			/* stubs start on 8 bytes (.plt.got) or 16 */
			for (uint64_t off = 0; off < s->size; off += 8) {
				size_t len;
				uint64_t slot = stub_slot(e, gotplt, code + off, s->size - off, s->addr + off, &len);
				const char *name = slot ? name_of_slot(v, n, slot) : NULL;
				if (!name || !*name)
					continue;
				uint64_t size = len > 8 || !got ? 16 : 8;
				if (size > s->size - off)
					size = s->size - off;
				char *pn = xasprintf("%s@plt", name);
				symtab_add_one(t, pn, s->addr + off, size, STT_FUNC, STB_LOCAL, false);
				free(pn);
				off += size - 8;
			}
		}
		free(code);
	}
	for (size_t i = 0; i < ntabs; i++)
		elf_symtab_free(&tabs[i]);
	free(tabs);
	free(v);
}
