/* The map as JSON; the schema is docs/json.md. */
#include <string.h>

#include "base/json.h"
#include "map_render.h"
#include "vmatlas/elf.h"


void json_hexbytes(json_writer *w, const uint8_t *p, size_t n)
{
	char buf[129];
	static const char hx[] = "0123456789abcdef";
	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = hx[p[i] >> 4];
		buf[2 * i + 1] = hx[p[i] & 15];
	}
	json_strn(w, buf, 2 * n);
}

static void target(json_writer *w, const vm_map *m)
{
	const vm_target_info *in = &m->info;
	json_key(w, "target");
	json_obj_begin(w);
	json_kstr(w, "kind", vm_target_kind_name(in->kind));
	json_ki64(w, "pid", in->pid);
	json_kstr(w, "name", in->name);
	json_kstr(w, "exe", in->exe);
	json_kstr(w, "os", vm_os_name(in->os));
	json_kstr(w, "arch", vm_arch_name(in->arch));
	json_ki64(w, "bits", in->bits);
	json_ku64(w, "page_size", in->page_size);
	json_kaddr(w, "user_top", in->user_top);
	if (in->win.have_version) {
		json_key(w, "os_version");
		json_obj_begin(w);
		json_ku64(w, "major", in->win.os_major);
		json_ku64(w, "minor", in->win.os_minor);
		json_ku64(w, "build", in->win.os_build);
		json_ku64(w, "platform_id", in->win.platform_id);
		json_ku64(w, "product_type", in->win.product_type);
		json_ku64(w, "suite_mask", in->win.suite_mask);
		json_kstr(w, "csd", in->win.csd);
		if (in->win.version_source)
			json_kstr(w, "source", in->win.version_source);
		json_obj_end(w);
	}
	if (in->win.exception) {
		json_key(w, "exception");
		json_obj_begin(w);
		char code[16];
		snprintf(code, sizeof code, "0x%08x", in->win.exception_code);
		json_kstr(w, "code", code);
		json_kaddr(w, "addr", in->win.exception_addr);
		json_ki64(w, "tid", in->win.exception_tid);
		json_obj_end(w);
	}
	if (in->lx.signal) {
		json_key(w, "signal");
		json_obj_begin(w);
		json_ki64(w, "number", in->lx.signal);
		json_kstr(w, "name", sigabbrev_np(in->lx.signal));
		json_ki64(w, "code", in->lx.signal_code);
		if (in->lx.signal_code > 0)
			json_kaddr(w, "addr", in->lx.signal_addr);
		else
			json_ki64(w, "sender_pid", (int64_t)(in->lx.signal_addr & 0xffffffffu));
		json_obj_end(w);
	}
	json_obj_end(w);
}

static void summary_row(json_writer *w, const char *usage, const vm_summary_row *r)
{
	json_obj_begin(w);
	if (usage)
		json_kstr(w, "usage", usage);
	json_ku64(w, "size", r->size);
	json_ku64(w, "committed", r->committed);
	if (r->stats_unknown) { /* unknown is not zero */
		json_key(w, "rss"), json_null(w);
		json_key(w, "private"), json_null(w);
		json_key(w, "shared"), json_null(w);
		json_key(w, "swap"), json_null(w);
	} else {
		json_ku64(w, "rss", r->rss);
		json_ku64(w, "private", r->private_bytes);
		json_ku64(w, "shared", r->shared_bytes);
		json_key(w, "swap");
		r->swap_unknown ? json_null(w) : json_u64(w, r->swap);
	}
	json_ku64(w, "blocks", r->blocks);
	json_ku64(w, "largest", r->largest);
	json_obj_end(w);
}

static void summary(json_writer *w, const vm_map *m)
{
	vm_summary_row rows[VM_USAGE_COUNT], total;
	vm_map_summary(m, rows, &total);
	json_key(w, "summary");
	json_arr_begin(w);
	for (int u = 0; u < VM_USAGE_COUNT; u++)
		summary_row(w, vm_usage_name((vm_usage)u), &rows[u]);
	json_arr_end(w);
	json_key(w, "total");
	summary_row(w, NULL, &total);
}

static void page_run_flags(json_writer *w, uint32_t f)
{
	json_arr_begin(w);
	if (f & VM_PAGE_PRESENT) json_str(w, "present");
	if (f & VM_PAGE_SWAPPED) json_str(w, "swapped");
	if (f & VM_PAGE_FILE) json_str(w, "file");
	if (f & VM_PAGE_EXCLUSIVE) json_str(w, "exclusive");
	if (f & VM_PAGE_SOFTDIRTY) json_str(w, "soft-dirty");
	if (f & VM_PAGE_UFFD_WP) json_str(w, "uffd-wp");
	json_arr_end(w);
}

/* Windows: a page's protection modifiers, as a region's */
static void page_prot_flags(json_writer *w, uint32_t prot)
{
	if (!(prot & (VM_PROT_GUARD | VM_PROT_NOCACHE | VM_PROT_WRITECOMBINE | VM_PROT_COPY)))
		return;
	json_key(w, "protect_flags");
	json_arr_begin(w);
	if (prot & VM_PROT_GUARD) json_str(w, "guard");
	if (prot & VM_PROT_NOCACHE) json_str(w, "nocache");
	if (prot & VM_PROT_WRITECOMBINE) json_str(w, "writecombine");
	if (prot & VM_PROT_COPY) json_str(w, "copy");
	json_arr_end(w);
}

static void pages(json_writer *w, const vm_region *r)
{
	json_key(w, "pages");
	json_obj_begin(w);
	json_ku64(w, "present", r->pages.present);
	json_key(w, "swapped");
	r->pages.swap_unknown ? json_null(w) : json_u64(w, r->pages.swapped);
	json_ku64(w, "exclusive", r->pages.exclusive);
	json_ku64(w, "shared", r->pages.shared);
	json_kbool(w, "mapcount_known", r->pages.have_mapcount);
	json_key(w, "runs");
	json_arr_begin(w);
	for (size_t k = 0; k < r->nruns; k++) {
		const vm_page_run *p = &r->runs[k];
		json_obj_begin(w);
		json_kaddr(w, "addr", p->addr);
		json_ku64(w, "count", p->count);
		json_key(w, "flags");
		page_run_flags(w, p->flags);
		if (p->mapcount >= 0)
			json_ki64(w, "mapcount", p->mapcount);
		json_kaddr(w, "kpageflags", p->lx.kflags);
		if (p->win.prot) {
			char s[4] = { p->win.prot & VM_PROT_READ ? 'r' : '-', p->win.prot & VM_PROT_WRITE ? 'w' : '-',
				      p->win.prot & VM_PROT_EXEC ? 'x' : '-', 0 };
			json_kstr(w, "prot", s);
			page_prot_flags(w, p->win.prot);
		}
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
}

static void region(json_writer *w, const vm_map *m, const vm_region *r)
{
	char prot[5];
	vm_region_prot_string(r, prot);
	json_obj_begin(w);
	json_kaddr(w, "base", r->base);
	json_ku64(w, "size", r->size);
	json_kstr(w, "state", vm_state_name(r->state));
	json_kstr(w, "prot", r->state == VM_STATE_FREE ? NULL : (r->flags & VM_RF_PROT_UNKNOWN) ? "unknown" : prot);
	json_kstr(w, "type", vm_type_name(r->type));
	json_kstr(w, "usage", vm_usage_name(r->usage));
	json_kstr(w, "path", r->path);
	if (r->flags & VM_RF_DELETED)
		json_kbool(w, "deleted", true);
	if (r->flags & VM_RF_SPLIT)
		json_kbool(w, "vma_continues", true);
	if (r->lx.bpm_pid)
		json_ki64(w, "bpm_debugger", r->lx.bpm_pid);
	if (r->prot & (VM_PROT_GUARD | VM_PROT_NOCACHE | VM_PROT_WRITECOMBINE | VM_PROT_COPY)) {
		/* Windows protection modifiers */
		json_key(w, "protect_flags");
		json_arr_begin(w);
		if (r->prot & VM_PROT_GUARD) json_str(w, "guard");
		if (r->prot & VM_PROT_NOCACHE) json_str(w, "nocache");
		if (r->prot & VM_PROT_WRITECOMBINE) json_str(w, "writecombine");
		if (r->prot & VM_PROT_COPY) json_str(w, "copy");
		json_arr_end(w);
	}
	if (r->win.alloc_base) {
		char ap[5] = { r->win.alloc_prot & VM_PROT_READ ? 'r' : '-', r->win.alloc_prot & VM_PROT_WRITE ? 'w' : '-',
			       r->win.alloc_prot & VM_PROT_EXEC ? 'x' : '-', r->win.alloc_prot & VM_PROT_COPY ? 'c' : '-', 0 };
		json_kaddr(w, "alloc_base", r->win.alloc_base);
		json_kstr(w, "alloc_protect", ap);
	}
	if (r->flags & (VM_RF_NO_DATA | VM_RF_PART_DATA)) {
		/* a file target (core, dump) without all of its bytes */
		json_ku64(w, "dumped", r->held);
		json_kbool(w, "from_file", (r->flags & VM_RF_FROM_FILE) != 0);
	}
	json_kaddr(w, "offset", r->offset);
	if (r->lx.inode) {
		json_ku64(w, "inode", r->lx.inode);
		char dev[32];
		snprintf(dev, sizeof dev, "%02x:%02x", r->lx.dev_major, r->lx.dev_minor);
		json_kstr(w, "dev", dev);
	}
	const vm_page_stats *s = &r->stats;
	if (s->valid && s->working_set) {
		/* Windows: what the working set says; the rest is unknown, not 0 */
		static const char *const none[] = { "pss", "shared_clean", "shared_dirty", "private_clean",
						     "private_dirty", "referenced", "anonymous", "swap",
						     "swap_pss", "thp", "thp_eligible" };
		json_ku64(w, "rss", s->rss);
		json_ku64(w, "private", s->private_clean);
		json_ku64(w, "shared", s->shared_clean);
		json_ku64(w, "locked", s->locked);
		for (size_t k = 0; k < sizeof none / sizeof *none; k++)
			json_key(w, none[k]), json_null(w);
	} else if (s->valid) {
		json_ku64(w, "rss", s->rss);
		json_ku64(w, "private", s->private_clean + s->private_dirty);
		json_ku64(w, "shared", s->shared_clean + s->shared_dirty);
		json_ku64(w, "pss", s->lx.pss);
		json_ku64(w, "shared_clean", s->shared_clean);
		json_ku64(w, "shared_dirty", s->shared_dirty);
		json_ku64(w, "private_clean", s->private_clean);
		json_ku64(w, "private_dirty", s->private_dirty);
		json_ku64(w, "referenced", s->lx.referenced);
		json_ku64(w, "anonymous", s->lx.anonymous);
		json_ku64(w, "swap", s->swap);
		json_ku64(w, "swap_pss", s->lx.swap_pss);
		json_ku64(w, "locked", s->locked);
		json_ku64(w, "thp", s->lx.anon_huge + s->lx.shmem_huge + s->lx.file_huge);
		json_kbool(w, "thp_eligible", s->lx.thp_eligible);
	}
	if (r->pages.valid)
		pages(w, r);
	json_key(w, "contents");
	json_arr_begin(w);
	for (size_t k = 0; k < r->ncontents; k++) {
		const vm_content *c = &r->contents[k];
		json_obj_begin(w);
		json_kstr(w, "kind", vm_content_kind_name(c->kind));
		json_kstr(w, "name", c->name);
		json_kaddr(w, "addr", c->addr);
		json_ku64(w, "size", c->size);
		if (c->tid)
			json_ki64(w, "tid", c->tid);
		if (c->module >= 0 && (size_t)c->module < m->nmodules)
			json_kstr(w, "module", m->modules[c->module].name);
		if (c->detail)
			json_kstr(w, "detail", c->detail);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
}

void json_module(json_writer *w, const vm_module *mod)
{
	json_obj_begin(w);
	json_kstr(w, "name", mod->name);
	json_kstr(w, "path", mod->path);
	if (mod->deleted)
		json_kbool(w, "deleted", true);
	json_kaddr(w, "base", mod->base);
	json_ku64(w, "size", mod->size);
	json_kstr(w, "format", mod->format);
	if (mod->elf_type)
		json_kstr(w, "type", elf_type_name((uint16_t)mod->elf_type));
	json_ki64(w, "bits", mod->bits);
	json_key(w, "build_id");
	if (mod->build_id_len)
		json_hexbytes(w, mod->build_id, mod->build_id_len);
	else
		json_null(w);
	json_key(w, "sources");
	json_arr_begin(w);
	if (mod->sources & VM_SRC_LOADER)
		json_str(w, "loader");
	if (mod->sources & VM_SRC_REGIONS)
		json_str(w, "regions");
	if (mod->sources & VM_SRC_MANUAL)
		json_str(w, "manual");
	if (mod->sources & VM_SRC_PEB)
		json_str(w, "peb_ldr");
	json_arr_end(w);
	json_kaddr(w, "load_bias", mod->load_bias);
	if (mod->entry)
		json_kaddr(w, "entry", mod->entry);
	if (mod->dynamic)
		json_kaddr(w, "dynamic", mod->dynamic);
	if (mod->loader_entry)
		json_kaddr(w, "link_map", mod->loader_entry);
	if (mod->loader_name)
		json_kstr(w, "loader_name", mod->loader_name);
}

static void modules(json_writer *w, const vm_map *m)
{
	json_key(w, "modules");
	json_arr_begin(w);
	for (size_t i = 0; i < m->nmodules; i++) {
		json_module(w, &m->modules[i]);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void threads(json_writer *w, const vm_map *m, vm_symbolizer *sym)
{
	json_key(w, "threads");
	json_arr_begin(w);
	for (size_t i = 0; i < m->nthreads; i++) {
		const vm_thread *t = &m->threads[i];
		char st[2] = { t->state, 0 };
		json_obj_begin(w);
		json_ki64(w, "tid", t->tid);
		json_kstr(w, "name", t->name);
		json_kstr(w, "state", st);
		json_kbool(w, "main", t->is_main);
		if (t->sp_valid) {
			json_kaddr(w, "pc", t->pc);
			json_kaddr(w, "sp", t->sp);
			if (sym) {
				vm_symbol_info si;
				char text[512];
				vm_symbolize(sym, t->pc, &si);
				vm_symbol_format(&si, t->pc, text, sizeof text);
				json_kstr(w, "pc_symbol", text);
			}
		} else {
			json_key(w, "pc");
			json_null(w);
			json_key(w, "sp");
			json_null(w);
		}
		if (t->regs_valid)
			json_kaddr(w, "tls", t->tp);
		json_key(w, "stack");
		if (t->stack_size) {
			json_obj_begin(w);
			json_kaddr(w, "base", t->stack_base);
			json_ku64(w, "size", t->stack_size);
			if (t->sp_valid && t->sp >= t->stack_base)
				json_ku64(w, "used", t->stack_base + t->stack_size - t->sp);
			if (t->guard_size) {
				json_kaddr(w, "guard", t->guard_base);
				json_ku64(w, "guard_size", t->guard_size);
			}
			json_obj_end(w);
		} else {
			json_null(w);
		}
		json_obj_end(w);
	}
	json_arr_end(w);
}

void map_render_json(const vm_map *m, const map_render_options *o, FILE *f)
{
	json_writer w;
	json_init(&w, f, true);
	json_obj_begin(&w);
	target(&w, m);
	json_kbool(&w, "frozen", m->frozen);
	json_kbool(&w, "incomplete", m->incomplete);
	json_key(&w, "warnings");
	json_arr_begin(&w);
	for (size_t i = 0; i < m->nwarnings; i++)
		json_str(&w, m->warnings[i]);
	json_arr_end(&w);
	summary(&w, m);
	json_key(&w, "allocations");
	json_arr_begin(&w);
	for (size_t i = 0; i < m->nallocs; i++) {
		const vm_alloc *a = &m->allocs[i];
		if (!map_alloc_shown(a, o))
			continue;
		json_obj_begin(&w);
		json_kaddr(&w, "base", a->base);
		json_ku64(&w, "size", a->size);
		json_kstr(&w, "usage", vm_usage_name(a->usage));
		json_kstr(&w, "details", a->details);
		if (a->usage != VM_USAGE_FREE)
			json_kstr(&w, "grouping", a->grouping == VM_GROUPING_EXACT       ? "exact"
						  : a->grouping == VM_GROUPING_HEURISTIC ? "heuristic"
											 : NULL);
		json_key(&w, "regions");
		json_arr_begin(&w);
		for (size_t k = a->first; k < a->first + a->count; k++)
			region(&w, m, &m->regions[k]);
		json_arr_end(&w);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	modules(&w, m);
	threads(&w, m, o->sym);
	json_obj_end(&w);
	json_done(&w);
}
