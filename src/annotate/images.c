/* Executable images: an ELF header at the start of an allocation, read
 * from memory. The program headers give the image's extent (its
 * mappings and the anonymous .bss tail) and load bias; the section
 * headers, usually only in the file, place every section on the region
 * it lies in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "annotate.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "formats/elf_defs.h"
#include "vmatlas/elf.h"
#include "vmatlas/error.h"

/* the same file: the same inode where the target knows inodes, else
 * (core files) the same path */
static bool same_file(const vm_region *a, const vm_region *b)
{
	if (a->lx.inode || b->lx.inode)
		return a->lx.inode == b->lx.inode && a->lx.dev_major == b->lx.dev_major &&
		       a->lx.dev_minor == b->lx.dev_minor;
	return a->path && b->path && a->path[0] == '/' && strcmp(a->path, b->path) == 0;
}

/* A region start where an image header may sit: offset 0 of a file, the
 * vdso, or anonymous memory next to executable anonymous memory (an
 * image loaded by hand, the way injected code is). */
static bool candidate(const vm_map *m, size_t i)
{
	const vm_region *r = &m->regions[i];
	if (r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_READ))
		return false;
	if (r->path && r->path[0] == '/')
		return r->offset == 0;
	if (r->type == VM_TYPE_SPECIAL)
		return r->path && strcmp(r->path, "[vdso]") == 0;
	if (r->path && !(r->flags & VM_RF_ANON_NAME))
		return false; /* [heap], [stack] */
	if (r->prot & VM_PROT_EXEC)
		return true;
	return i + 1 < m->nregions && (m->regions[i + 1].prot & VM_PROT_EXEC) &&
	       !m->regions[i + 1].path && r->base + r->size == m->regions[i + 1].base;
}

/* Did the loader map this image? Every PT_LOAD with file data must sit
 * where the program headers say, backed by the same file at the same
 * offset. An ELF file mapped as plain data fails this. */
static bool loaded_as_image(const map_builder *b, const elf_image *e, size_t hi)
{
	const vm_map *m = b->m;
	const vm_region *h = &m->regions[hi];
	uint64_t pg = m->info.page_size;
	size_t nload = 0;
	if (e->bias % pg)
		return false;
	for (size_t k = 0; k < e->nph; k++) {
		const elf_phdr *ph = &e->ph[k];
		if (ph->type != PT_LOAD)
			continue;
		nload++;
		uint64_t at;
		if (add_overflow_u64(ph->vaddr, e->bias, &at))
			return false;
		size_t ri = mb_find(b, at);
		if (ri == (size_t)-1)
			return false;
		const vm_region *r = &m->regions[ri];
		/* the loader gives code its own executable mapping; a file
		 * mapped as data has none */
		if ((ph->flags & PF_X) && !(r->prot & VM_PROT_EXEC))
			return false;
		if (ph->filesz == 0 || !h->path || h->path[0] != '/')
			continue;
		uint64_t want = ph->offset - ph->offset % pg;
		uint64_t have = r->offset + ((at - at % pg) - r->base);
		if (!same_file(r, h) || have != want)
			return false;
	}
	return nload > 0;
}

static void flags_string(uint64_t f, char out[8])
{
	size_t n = 0;
	if (f & SHF_WRITE)
		out[n++] = 'W';
	if (f & SHF_ALLOC)
		out[n++] = 'A';
	if (f & SHF_EXECINSTR)
		out[n++] = 'X';
	if (f & SHF_TLS)
		out[n++] = 'T';
	out[n] = 0;
}

/* place one item on every region of the image it overlaps */
void mb_place(map_builder *b, uint64_t lo, uint64_t hi, vm_content_kind kind,
		  uint64_t addr, uint64_t size, const char *name, const char *detail, int mod)
{
	vm_map *m = b->m;
	size_t i = mb_find(b, addr);
	if (i == (size_t)-1 || !range_contains(lo, hi - lo, addr))
		return;
	if (size > hi - addr) /* what the image claims cannot leave the image */
		size = hi - addr;
	/* a NOBITS or empty item still gets a row where it starts */
	uint64_t span = size ? size : 1;
	for (; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if (r->state == VM_STATE_FREE || !ranges_overlap(r->base, r->size, addr, span))
			break;
		if (!ranges_overlap(lo, hi - lo, r->base, r->size))
			break;
		vm_content *c = vm_region_add_content(r, kind, addr, size, name, detail);
		c->module = mod;
	}
}

static bool same_headers(const elf_image *a, const elf_image *b)
{
	if (a->nph != b->nph || a->entry != b->entry || a->type != b->type)
		return false;
	for (size_t i = 0; i < a->nph; i++)
		if (a->ph[i].type != b->ph[i].type || a->ph[i].vaddr != b->ph[i].vaddr ||
		    a->ph[i].memsz != b->ph[i].memsz || a->ph[i].offset != b->ph[i].offset)
			return false;
	return true;
}

/* Section headers: from memory when they were loaded (the vdso), else
 * from the mapped file once it is shown to be the same image. */
static void place_sections(map_builder *b, elf_image *mem, size_t hi, vm_module *mod, int modi,
			   uint64_t lo, uint64_t hiaddr)
{
	elf_image file, *src = NULL;
	int fd = -1;
	bool have_file = false;
	if (elf_load_sections(mem) == 0 && mem->nsh > 1) {
		src = mem;
	} else if ((vm_target_caps(b->t) & VM_CAP_BACKING) && b->m->regions[hi].path &&
		   b->m->regions[hi].path[0] == '/') {
		fd = vm_target_open_backing(b->t, &b->m->regions[hi]);
		struct stat sb;
		if (fd >= 0 && fstat(fd, &sb) == 0) {
			vm_reader r = vm_reader_fd(fd, (uint64_t)sb.st_size);
			if (elf_open(&file, &r, false, 0, b->m->info.page_size) == 0) {
				have_file = true;
				uint8_t id[64];
				size_t idlen = 0;
				bool match = mod->build_id_len
						     ? elf_build_id(&file, id, sizeof id, &idlen) &&
							       idlen == mod->build_id_len &&
							       memcmp(id, mod->build_id, idlen) == 0
						     : same_headers(mem, &file);
				if (!match)
					vm_map_warn(b->m, "%s: the file differs from the image in memory "
							  "(replaced since it was loaded); sections not shown",
						    mod->path);
				else if (elf_load_sections(&file) == 0)
					src = &file;
			}
		}
	}
	if (src) {
		for (size_t k = 0; k < src->nsh; k++) {
			const elf_shdr *sh = &src->sh[k];
			if (!(sh->flags & SHF_ALLOC) || sh->addr == 0 || !sh->namestr[0])
				continue;
			if ((sh->flags & SHF_TLS) && sh->type == SHT_NOBITS)
				continue; /* .tbss occupies no address of the image */
			uint64_t at;
			if (add_overflow_u64(sh->addr, mem->bias, &at) || !range_contains(lo, hiaddr - lo, at))
				continue;
			char fl[8];
			flags_string(sh->flags, fl);
			char detail[48];
			snprintf(detail, sizeof detail, "%s %s", elf_shdr_type_name(sh->type), fl);
			mb_place(b, lo, hiaddr, VM_CK_SECTION, at, sh->size, sh->namestr, detail, modi);
		}
	} else {
		/* no section headers: the segments say at least what is where */
		for (size_t k = 0; k < mem->nph; k++) {
			const elf_phdr *ph = &mem->ph[k];
			if (ph->type != PT_LOAD)
				continue;
			char name[32], detail[16];
			snprintf(name, sizeof name, "LOAD[%zu]", k);
			snprintf(detail, sizeof detail, "%c%c%c", (ph->flags & PF_R) ? 'r' : '-',
				 (ph->flags & PF_W) ? 'w' : '-', (ph->flags & PF_X) ? 'x' : '-');
			mb_place(b, lo, hiaddr, VM_CK_SEGMENT, ph->vaddr + mem->bias, ph->memsz, name,
			      detail, modi);
		}
	}
	if (have_file)
		elf_close(&file);
	if (fd >= 0)
		close(fd);
}

/* The directories of an image: segments with a job of their own and the
 * tables its dynamic section points at. */
static void place_directories(map_builder *b, elf_image *e, uint64_t lo, uint64_t top, int modi)
{
	static const struct {
		uint32_t type;
		const char *name, *what;
	} segs[] = {
		{ PT_PHDR, "PHDR", "program headers" },
		{ PT_INTERP, "INTERP", "path of the program interpreter" },
		{ PT_DYNAMIC, "DYNAMIC", "dynamic section" },
		{ PT_NOTE, "NOTE", "notes" },
		{ PT_TLS, "TLS", "TLS template (.tdata image; .tbss is zeroed)" },
		{ PT_GNU_EH_FRAME, "GNU_EH_FRAME", "unwind table index (.eh_frame_hdr)" },
		{ PT_GNU_RELRO, "GNU_RELRO", "made read-only after relocation" },
	};
	for (size_t k = 0; k < e->nph; k++) {
		const elf_phdr *ph = &e->ph[k];
		for (size_t j = 0; j < ARRAY_LEN(segs); j++) {
			if (ph->type != segs[j].type)
				continue;
			uint64_t at;
			if (add_overflow_u64(ph->vaddr, e->bias, &at))
				continue;
			char detail[160];
			if (ph->type == PT_TLS)
				snprintf(detail, sizeof detail, "%s: %llu bytes initialised, %llu in all",
					 segs[j].what, (unsigned long long)ph->filesz,
					 (unsigned long long)ph->memsz);
			else
				snprintf(detail, sizeof detail, "%s", segs[j].what);
			mb_place(b, lo, top, VM_CK_DIRECTORY, at, ph->memsz, segs[j].name, detail, modi);
		}
	}

	elf_dyn *d;
	size_t nd;
	if (elf_read_dynamic(e, &d, &nd) < 0)
		return;
	uint64_t nsyms = 0, hash_bytes = 0, v, size;
	elf_dynsym_count(e, d, nd, &nsyms, &hash_bytes);
	size_t w = e->bits == 64 ? 24 : 16;
	static const struct {
		int64_t tag, size_tag; /* size_tag -1: computed, 0: unknown */
		const char *name, *what;
	} tabs[] = {
		{ DT_SYMTAB, -1, "DT_SYMTAB", "dynamic symbols (.dynsym)" },
		{ DT_STRTAB, DT_STRSZ, "DT_STRTAB", "dynamic strings (.dynstr)" },
		{ DT_GNU_HASH, -1, "DT_GNU_HASH", "GNU symbol hash table" },
		{ DT_HASH, -1, "DT_HASH", "SysV symbol hash table" },
		{ DT_VERSYM, -1, "DT_VERSYM", "symbol versions (.gnu.version)" },
		{ DT_VERNEED, 0, "DT_VERNEED", "versions needed (.gnu.version_r)" },
		{ DT_VERDEF, 0, "DT_VERDEF", "versions defined (.gnu.version_d)" },
		{ DT_RELA, DT_RELASZ, "DT_RELA", "relocations (.rela.dyn)" },
		{ DT_REL, DT_RELSZ, "DT_REL", "relocations (.rel.dyn)" },
		{ DT_RELR, DT_RELRSZ, "DT_RELR", "relative relocations (.relr.dyn)" },
		{ DT_JMPREL, DT_PLTRELSZ, "DT_JMPREL", "PLT relocations (.rela.plt)" },
		{ DT_PLTGOT, 0, "DT_PLTGOT", "the GOT the PLT uses (.got.plt)" },
		{ DT_INIT_ARRAY, DT_INIT_ARRAYSZ, "DT_INIT_ARRAY", "constructors (.init_array)" },
		{ DT_FINI_ARRAY, DT_FINI_ARRAYSZ, "DT_FINI_ARRAY", "destructors (.fini_array)" },
		{ DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ, "DT_PREINIT_ARRAY", "pre-constructors" },
		{ DT_INIT, 0, "DT_INIT", "initialisation function (.init)" },
		{ DT_FINI, 0, "DT_FINI", "termination function (.fini)" },
	};
	for (size_t j = 0; j < ARRAY_LEN(tabs); j++) {
		if (!elf_dyn_find(d, nd, tabs[j].tag, &v) || v == 0)
			continue;
		size = 0;
		if (tabs[j].size_tag > 0)
			elf_dyn_find(d, nd, tabs[j].size_tag, &size);
		else if (tabs[j].size_tag < 0)
			size = tabs[j].tag == DT_SYMTAB	  ? nsyms * w
			       : tabs[j].tag == DT_VERSYM ? nsyms * 2
							  : hash_bytes;
		uint64_t at, link = elf_dyn_ptr(e, v);
		if (add_overflow_u64(link, e->bias, &at) || !range_contains(lo, top - lo, at))
			continue;
		if (tabs[j].tag == DT_HASH && elf_dyn_find(d, nd, DT_GNU_HASH, &v))
			size = 0; /* hash_bytes measured the GNU table */
		mb_place(b, lo, top, VM_CK_DIRECTORY, at, size, tabs[j].name, tabs[j].what, modi);
	}
	free(d);
}

static void add_image(map_builder *b, size_t hi, elf_image *e)
{
	vm_map *m = b->m;
	vm_region *h = &m->regions[hi];
	uint64_t lo, top;
	if (!elf_load_extent(e, &lo, &top))
		return;
	if (add_overflow_u64(lo, e->bias, &lo) || add_overflow_u64(top, e->bias, &top) || top <= lo)
		return;

	bool vdso = h->type == VM_TYPE_SPECIAL;
	const char *path = h->path && h->path[0] == '/' ? h->path : NULL;
	vm_module *mod = mb_module_add(b);
	int modi = (int)(m->nmodules - 1);
	mod->path = path ? xstrdup(path) : NULL;
	mod->name = xstrdup(vdso ? "linux-vdso.so.1" : path ? path_tail(path) : "[anonymous image]");
	mod->base = lo;
	mod->size = top - lo;
	mod->load_bias = e->bias;
	mod->format = "elf";
	mod->bits = e->bits;
	mod->sources = VM_SRC_REGIONS;
	mod->deleted = (h->flags & VM_RF_DELETED) != 0;
	mod->elf_type = e->type;
	if (e->entry)
		mod->entry = e->entry + (e->type == ET_DYN ? e->bias : 0);
	for (size_t k = 0; k < e->nph; k++)
		if (e->ph[k].type == PT_DYNAMIC)
			mod->dynamic = e->ph[k].vaddr + e->bias;
	elf_build_id(e, mod->build_id, sizeof mod->build_id, &mod->build_id_len);

	/* claim the extent: this file's mappings and anonymous memory (the
	 * .bss tail) inside it */
	int gid = -1;
	if (!vdso) {
		/* "(deleted)" as /proc/PID/maps says it: the file is gone */
		char *what = xasprintf("%s%s", mod->path ? mod->path : mod->name, mod->deleted ? " (deleted)" : "");
		gid = mb_group_new(b, VM_USAGE_IMAGE, what);
		free(what);
		for (size_t i = hi; i < m->nregions && m->regions[i].base < top; i++) {
			vm_region *r = &m->regions[i];
			if (r->state == VM_STATE_FREE)
				continue;
			bool mine = (path && same_file(r, h)) || (!r->path && !(r->prot & VM_PROT_SHARED)) ||
				    (!path && i == hi);
			if (!mine || !mb_claim(b, i, gid))
				continue;
			r->type = VM_TYPE_IMAGE;
		}
	}

	char detail[64];
	snprintf(detail, sizeof detail, "ELF%d %s %s", e->bits, elf_type_name(e->type),
		 elf_machine_name(e->machine));
	vm_content *c = vm_region_add_content(h, VM_CK_HEADER, h->base, e->ehsize, "ELF header", detail);
	c->module = modi;
	place_sections(b, e, hi, mod, modi, lo, top);
	place_directories(b, e, lo, top, modi);
	if (e->warnings)
		vm_map_warn(m, "%s: %s", mod->name, e->warnings);
}

/* Reading a page of a file mapping that is not in memory would fault it
 * in (and its neighbours, with fault-around): mapping a process must not
 * change its RSS. Such pages hold exactly the file's bytes, so they are
 * read from the file; pages in memory from the target, as always. */
typedef struct quiet_src {
	vm_target *t;
	uint64_t base, size, page;
	int fd;
} quiet_src;

static ssize_t quiet_read(const vm_reader *rd, uint64_t addr, void *buf, size_t len)
{
	const quiet_src *q = rd->ctx;
	size_t done = 0;
	while (done < len) {
		uint64_t at = addr + done, page_end = (at / q->page + 1) * q->page;
		size_t n = len - done;
		if (page_end - at < n)
			n = (size_t)(page_end - at);
		int8_t present = 1;
		if (at >= q->base && at - q->base < q->size && (vm_target_caps(q->t) & VM_CAP_PRESENT))
			vm_target_pages_present(q->t, &at, 1, &present);
		ssize_t got;
		if (present == 0)
			got = at - q->base <= (uint64_t)INT64_MAX ? pread(q->fd, (uint8_t *)buf + done, n, (off_t)(at - q->base)) : -1;
		else
			got = vm_read(q->t, at, (uint8_t *)buf + done, n);
		if (got <= 0)
			break;
		done += (size_t)got;
		if ((size_t)got < n)
			break;
	}
	return (ssize_t)done;
}

/* the first bytes of candidate i when its first page is not in memory:
 * zeros for anonymous memory (nothing to read), the file's otherwise;
 * fd is the open file or -1 */
static bool quiet_head(map_builder *b, size_t i, uint8_t head[16], int *fd)
{
	const vm_region *r = &b->m->regions[i];
	*fd = -1;
	int8_t present = -1;
	vm_target_pages_present(b->t, &r->base, 1, &present);
	if (present != 0)
		return false;
	memset(head, 0, 16);
	if (r->type == VM_TYPE_PRIVATE || !r->path || r->path[0] != '/' || !(vm_target_caps(b->t) & VM_CAP_BACKING))
		return true;
	*fd = vm_target_open_backing(b->t, r);
	if (*fd >= 0 && pread(*fd, head, 16, (off_t)r->offset) != 16)
		memset(head, 0, 16);
	return true;
}

void ann_images(map_builder *b)
{
	vm_map *m = b->m;
	/* read the first bytes of every candidate at once */
	size_t *idx = NULL, nidx = 0, cap = 0;
	for (size_t i = 0; i < m->nregions; i++)
		if (candidate(m, i))
			*ARRAY_PUSH(idx, nidx, cap) = i;
	uint8_t(*heads)[16] = xcalloc(nidx ? nidx : 1, 16);
	vm_read_req *reqs = xcalloc(nidx ? nidx : 1, sizeof *reqs);
	int *fds = xcalloc(nidx ? nidx : 1, sizeof *fds);
	size_t nreq = 0;
	for (size_t k = 0; k < nidx; k++) {
		if (quiet_head(b, idx[k], heads[k], &fds[k]))
			continue;
		reqs[nreq].addr = m->regions[idx[k]].base;
		reqs[nreq].buf = heads[k];
		reqs[nreq].len = 16;
		nreq++;
	}
	vm_read_many(b->t, reqs, nreq);
	for (size_t k = 0; k < nreq; k++)
		if (reqs[k].got < 16)
			memset(reqs[k].buf, 0, 16);

	vm_reader target_rd = vm_reader_target(b->t);
	for (size_t k = 0; k < nidx; k++) {
		size_t i = idx[k];
		if (!elf_is_magic(heads[k], 16))
			continue;
		/* the vdso is claimed as system memory but is an image too */
		if (mb_claimed(b, i) && m->regions[i].type != VM_TYPE_SPECIAL)
			continue;
		quiet_src q = { b->t, m->regions[i].base, m->regions[i].size, m->info.page_size, fds[k] };
		vm_reader quiet = { quiet_read, &q, UINT64_MAX };
		vm_reader rd = fds[k] >= 0 ? quiet : target_rd;
		elf_image e;
		if (elf_open(&e, &rd, true, m->regions[i].base, m->info.page_size) < 0)
			continue;
		if (m->regions[i].type == VM_TYPE_SPECIAL)
			e.linear = m->regions[i].size; /* the kernel maps the vdso whole */
		if (loaded_as_image(b, &e, i))
			add_image(b, i, &e);
		else if (m->regions[i].path)
			vm_region_add_content(&m->regions[i], VM_CK_HEADER, m->regions[i].base,
					      e.ehsize, "ELF header",
					      "an ELF file mapped as data, not loaded as an image");
		elf_close(&e);
	}
	for (size_t k = 0; k < nidx; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	free(fds);
	free(heads);
	free(reqs);
	free(idx);

	/* executable memory no image accounts for: JIT code, trampolines,
	 * or injected code */
	for (size_t i = 0; i < m->nregions; i++) {
		vm_region *r = &m->regions[i];
		if ((r->prot & VM_PROT_EXEC) && r->state == VM_STATE_COMMIT && r->type != VM_TYPE_IMAGE &&
		    r->type != VM_TYPE_SPECIAL && !mb_claimed(b, i) && (!r->path || r->path[0] != '/'))
			vm_region_add_content(r, VM_CK_CODE, r->base, r->size,
					      "anonymous executable memory (JIT?)",
					      "anonymous executable memory (JIT?): no image behind it");
	}
}
