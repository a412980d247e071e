/* The map as text: header, summary by usage, then the allocation tree. */
#include <inttypes.h>
#include <string.h>

#include "base/format.h"
#include "base/strbuf.h"
#include "map_render.h"

static const char *usage_color(vm_usage u)
{
	switch (u) {
	case VM_USAGE_IMAGE: return "\033[35m";
	case VM_USAGE_MAPPED: return "\033[34m";
	case VM_USAGE_SHAREABLE: return "\033[36m";
	case VM_USAGE_HEAP: return "\033[31m";
	case VM_USAGE_STACK: return "\033[33m";
	case VM_USAGE_PRIVATE: return "\033[32m";
	case VM_USAGE_SYSTEM: return "\033[1m";
	default: return "\033[2m";
	}
}

bool map_alloc_shown(const vm_alloc *a, const map_render_options *o)
{
	if (a->usage == VM_USAGE_FREE && !o->all)
		return false;
	return (o->usage_mask >> a->usage) & 1u;
}

/* a workstation's release by its version, as people name it */
static const char *win_release(uint32_t major, uint32_t minor, uint32_t build)
{
	if (major == 10 && minor == 0)
		return build >= 22000 ? "Windows 11" : "Windows 10";
	static const struct { uint32_t major, minor; const char *name; } rel[] = {
		{ 5, 0, "Windows 2000" }, { 5, 1, "Windows XP" }, { 5, 2, "Windows XP x64" }, { 6, 0, "Windows Vista" },
		{ 6, 1, "Windows 7" }, { 6, 2, "Windows 8" }, { 6, 3, "Windows 8.1" },
	};
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
		if (rel[i].major == major && rel[i].minor == minor)
			return rel[i].name;
	return NULL;
}

static void header(const vm_map *m, FILE *f)
{
	const vm_target_info *in = &m->info;
	fprintf(f, "pid %lld (%s)  %s\n", (long long)in->pid, in->name ? in->name : "?",
		in->exe ? in->exe : "");
	if (in->lx.signal) {
		const char *name = sigabbrev_np(in->lx.signal);
		fprintf(f, "signal %d (SIG%s), code %d", in->lx.signal, name ? name : "?", in->lx.signal_code);
		/* a fault has an address; a signal sent by a process, its sender */
		if (in->lx.signal_code > 0)
			fprintf(f, ", address 0x%llx\n", (unsigned long long)in->lx.signal_addr);
		else
			fprintf(f, ", sent by pid %u\n", (unsigned)(in->lx.signal_addr & 0xffffffffu));
	}
	if (in->win.have_version) {
		const char *pt = in->win.product_type == 1 ? "workstation" : in->win.product_type == 2 ? "domain controller"
				 : in->win.product_type == 3 ? "server" : NULL;
		const char *rel = in->win.product_type == 1 ? win_release(in->win.os_major, in->win.os_minor, in->win.os_build)
				  : NULL;
		fprintf(f, "Windows %u.%u build %u", in->win.os_major, in->win.os_minor, in->win.os_build);
		if (in->win.csd)
			fprintf(f, ", %s", in->win.csd);
		if (pt)
			fprintf(f, ", %s", pt);
		if (rel)
			fprintf(f, " (%s)", rel);
		/* the stream is where a dump keeps it; say when it came from elsewhere */
		if (in->win.version_source && strcmp(in->win.version_source, "systeminfo"))
			fprintf(f, " [from %s]", strcmp(in->win.version_source, "peb") ? "KUSER_SHARED_DATA" : "the PEB");
		fputc('\n', f);
	}
	if (in->win.exception)
		fprintf(f, "exception 0x%08x at 0x%llx in thread %lld\n", in->win.exception_code,
			(unsigned long long)in->win.exception_addr, (long long)in->win.exception_tid);
	size_t nreg = 0;
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].state != VM_STATE_FREE)
			nreg++;
	size_t nalloc = 0;
	for (size_t i = 0; i < m->nallocs; i++)
		if (m->allocs[i].usage != VM_USAGE_FREE)
			nalloc++;
	bool live = in->caps & VM_CAP_LIVE;
	fprintf(f, "%s%s%s %s %d-bit, %zu thread%s, %zu module%s, %zu regions in %zu allocations%s\n\n",
		live ? "" : vm_target_kind_name(in->kind), live ? "" : ", ", vm_os_name(in->os), vm_arch_name(in->arch), in->bits, m->nthreads, m->nthreads == 1 ? "" : "s", m->nmodules,
		m->nmodules == 1 ? "" : "s", nreg, nalloc, m->frozen ? ", frozen while read" : "");
}

static void summary_row(FILE *f, const char *name, const vm_summary_row *r, bool color,
			const char *col)
{
	char a[16], b[16], c[16], d[16], e[16], g[16];
	if (color)
		fputs(col, f);
	/* unknown is not zero: a dash (the en dash is 3 bytes, 1 column) */
	const char *unknown = "\u2013";
	int uw = 9 + 2;
	if (r->stats_unknown)
		fprintf(f, "%-10s %9s %10s %*s %*s %*s %7zu %9s", name, fmt_size(r->size, a, sizeof a),
			fmt_size(r->committed, b, sizeof b), uw, unknown, uw, unknown, uw, unknown, r->blocks,
			fmt_size(r->largest, g, sizeof g));
	else
		fprintf(f, "%-10s %9s %10s %9s %9s %9s %7zu %9s", name, fmt_size(r->size, a, sizeof a),
			fmt_size(r->committed, b, sizeof b), fmt_size(r->rss, c, sizeof c),
			fmt_size(r->private_bytes, d, sizeof d), fmt_size(r->shared_bytes, e, sizeof e),
			r->blocks, fmt_size(r->largest, g, sizeof g));
	if (color)
		fputs("\033[0m", f);
	fputc('\n', f);
}

static void summary(const vm_map *m, const map_render_options *o, FILE *f)
{
	vm_summary_row rows[VM_USAGE_COUNT], total;
	vm_map_summary(m, rows, &total);
	fprintf(f, "%-10s %9s %10s %9s %9s %9s %7s %9s\n", "Usage", "Size", "Committed", "RSS",
		"Private", "Shared", "Blocks", "Largest");
	for (int u = 0; u < VM_USAGE_COUNT; u++) {
		if (u == VM_USAGE_FREE)
			continue;
		summary_row(f, vm_usage_name((vm_usage)u), &rows[u], o->color, usage_color((vm_usage)u));
	}
	summary_row(f, "total", &total, o->color, "\033[1m");
	summary_row(f, "free", &rows[VM_USAGE_FREE], o->color, usage_color(VM_USAGE_FREE));
	fputc('\n', f);
}

static int addr_width(const vm_map *m)
{
	return m->info.bits == 32 && m->info.user_top <= 0xffffffffull ? 8 : 16;
}

static const char *module_name(const vm_map *m, int i)
{
	return i >= 0 && (size_t)i < m->nmodules ? m->modules[i].name : NULL;
}

/* an ELF segment type or dynamic tag, which says again what the
 * sections say: shown with -c only */
static bool is_segment_or_tag(const vm_content *c)
{
	static const char *const pt[] = { "PHDR", "INTERP", "NOTE", "DYNAMIC", "TLS", "LOAD", "GNU_RELRO",
					  "GNU_EH_FRAME", "GNU_STACK", "GNU_PROPERTY", "SHLIB" };
	if (c->kind != VM_CK_DIRECTORY || !c->name)
		return false;
	if (!strncmp(c->name, "DT_", 3))
		return true;
	for (size_t i = 0; i < sizeof pt / sizeof pt[0]; i++)
		if (!strcmp(c->name, pt[i]))
			return true;
	return false;
}

static const char *inline_name(const vm_content *c)
{
	if (c->kind == VM_CK_STACK || c->kind == VM_CK_TLS || c->kind == VM_CK_GUARD ||
	    c->kind == VM_CK_HEAP || c->kind == VM_CK_SYSDATA || c->kind == VM_CK_CODE)
		return c->detail && c->kind != VM_CK_SYSDATA ? c->detail : c->name;
	return c->name;
}

/* the contents of a region, in one line: sections (segments and tags
 * where there are no sections), each name once ("13 link_map entries") */
static void contents_inline(const vm_region *r, strbuf *sb)
{
	bool sections = false;
	for (size_t k = 0; k < r->ncontents; k++)
		sections |= r->contents[k].kind == VM_CK_SECTION;
	for (size_t k = 0; k < r->ncontents; k++) {
		const vm_content *c = &r->contents[k];
		if (sections && is_segment_or_tag(c))
			continue;
		const char *name = inline_name(c);
		if (!name)
			continue;
		/* said already (a repeat counted at its first place) */
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++) {
			const vm_content *p = &r->contents[j];
			seen = !(sections && is_segment_or_tag(p)) && inline_name(p) && !strcmp(inline_name(p), name);
		}
		if (seen)
			continue;
		size_t times = 1;
		for (size_t j = k + 1; j < r->ncontents; j++) {
			const vm_content *p = &r->contents[j];
			times += !(sections && is_segment_or_tag(p)) && inline_name(p) && !strcmp(inline_name(p), name);
		}
		if (sb->len)
			sb_puts(sb, ", ");
		if (times > 1)
			sb_printf(sb, "%zu %s entries", times, name);
		else
			sb_puts(sb, name);
	}
}

static void page_runs(const vm_map *m, const vm_region *r, FILE *f, int aw)
{
	for (size_t k = 0; k < r->nruns; k++) {
		const vm_page_run *p = &r->runs[k];
		strbuf sb = STRBUF_INIT;
		/* Windows: a page out of the working set may be in the pagefile */
		sb_puts(&sb, (p->flags & VM_PAGE_PRESENT)   ? "present"
			     : (p->flags & VM_PAGE_SWAPPED) ? "swapped"
			     : r->pages.swap_unknown	    ? "not in the working set"
							    : "not present");
		if (p->flags & VM_PAGE_EXCLUSIVE)
			sb_puts(&sb, " exclusive");
		if (p->flags & VM_PAGE_FILE)
			sb_puts(&sb, " file/shared");
		if (p->flags & VM_PAGE_SOFTDIRTY)
			sb_puts(&sb, " soft-dirty");
		if (p->mapcount >= 0)
			sb_printf(&sb, "  mapcount %d", p->mapcount);
		if (p->win.prot) /* Windows: the page's own protection */
			sb_printf(&sb, "  %c%c%c%s%s", p->win.prot & VM_PROT_READ ? 'r' : '-',
				  p->win.prot & VM_PROT_WRITE ? 'w' : '-', p->win.prot & VM_PROT_EXEC ? 'x' : '-',
				  p->win.prot & VM_PROT_COPY ? " copy-on-write" : "", p->win.prot & VM_PROT_GUARD ? " guard" : "");
		static const struct { int bit; const char *name; } kf[] = {
			{ 4, "dirty" }, { 11, "mmap" }, { 12, "anon" }, { 17, "huge" },
			{ 21, "ksm" }, { 22, "thp" }, { 24, "zero-page" },
		};
		for (size_t b = 0; b < sizeof kf / sizeof kf[0]; b++)
			if (p->lx.kflags & (1ull << kf[b].bit))
				sb_printf(&sb, " %s", kf[b].name);
		fprintf(f, "      %0*" PRIx64 "  %6" PRIu64 " page%s  %s\n", aw, p->addr, p->count,
			p->count == 1 ? " " : "s", sb_str(&sb));
		sb_free(&sb);
	}
	(void)m;
}

/* Windows: the protection's modifiers, and the allocation's protection
 * (AllocationProtect) where it differs from the region's: "[guard;
 * allocated rwxc]" (c: copy-on-write, as the JSON spells it) */
static void win_prot_tag(const vm_region *r, strbuf *det)
{
	const uint32_t rwxc = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC | VM_PROT_COPY;
	bool alloc = r->win.alloc_base && r->state != VM_STATE_FREE && (r->win.alloc_prot & rwxc) != (r->prot & rwxc);
	if (!(r->prot & (VM_PROT_GUARD | VM_PROT_NOCACHE | VM_PROT_WRITECOMBINE | VM_PROT_COPY)) && !alloc)
		return;
	if (det->len)
		sb_puts(det, " ");
	sb_puts(det, "[");
	const char *sep = "";
	static const struct { uint32_t bit; const char *name; } mods[] = {
		{ VM_PROT_GUARD, "guard" }, { VM_PROT_NOCACHE, "nocache" },
		{ VM_PROT_WRITECOMBINE, "writecombine" }, { VM_PROT_COPY, "writecopy" },
	};
	for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
		if (r->prot & mods[i].bit) {
			sb_printf(det, "%s%s", sep, mods[i].name);
			sep = " ";
		}
	if (alloc) {
		uint32_t a = r->win.alloc_prot;
		sb_printf(det, "%sallocated %c%c%c%c", *sep ? "; " : "", a & VM_PROT_READ ? 'r' : '-',
			  a & VM_PROT_WRITE ? 'w' : '-', a & VM_PROT_EXEC ? 'x' : '-', a & VM_PROT_COPY ? 'c' : '-');
		if (a & (VM_PROT_GUARD | VM_PROT_NOCACHE | VM_PROT_WRITECOMBINE))
			sb_printf(det, "%s%s%s", a & VM_PROT_GUARD ? " guard" : "", a & VM_PROT_NOCACHE ? " nocache" : "",
				  a & VM_PROT_WRITECOMBINE ? " writecombine" : "");
	}
	sb_puts(det, "]");
}

static void region_line(const vm_map *m, const vm_region *r, const map_render_options *o,
			FILE *f, int indent, bool flat)
{
	char sz[16], rss[16], priv[16], prot[5];
	int aw = addr_width(m);
	vm_region_prot_string(r, prot);
	strbuf det = STRBUF_INIT;
	const char *alloc_det = NULL;
	if (flat) {
		const vm_alloc *a = vm_map_alloc_of(m, r);
		if (a && a->details)
			sb_puts(&det, alloc_det = a->details);
	} else if (r->path && r->state != VM_STATE_FREE && !(r->flags & VM_RF_PSEUDO) &&
		   r->type != VM_TYPE_IMAGE && r->type != VM_TYPE_MAPPED) {
		sb_puts(&det, r->path);
		if (r->flags & VM_RF_DELETED)
			sb_puts(&det, " (deleted)");
	}
	win_prot_tag(r, &det);
	if ((r->flags & (VM_RF_NO_DATA | VM_RF_PART_DATA)) && r->state == VM_STATE_COMMIT) {
		char held[16];
		if (det.len)
			sb_puts(&det, " ");
		if (r->flags & VM_RF_NO_DATA)
			sb_puts(&det, "(not dumped");
		else
			sb_printf(&det, "(first %s dumped", fmt_size(r->held, held, sizeof held));
		sb_puts(&det, r->flags & VM_RF_FROM_FILE ? "; read from the file)" : ")");
	}
	if (r->lx.bpm_pid) {
		if (det.len)
			sb_puts(&det, " ");
		sb_printf(&det, "(original protection; vmatlas debugger PID %d has bpm on this page)", (int)r->lx.bpm_pid);
	}
	if (!o->contents) {
		strbuf cs = STRBUF_INIT;
		contents_inline(r, &cs);
		const char *c = sb_str(&cs);
		size_t alen = alloc_det ? strlen(alloc_det) : 0;
		/* the allocation's details are often its first region's first
		 * item ("stack of thread 12"): said once */
		if (alen && strncmp(c, alloc_det, alen) == 0 && (c[alen] == 0 || c[alen] == ','))
			c += alen;
		if (*c == ',' || !*c) {
			sb_puts(&det, c);
		} else {
			if (det.len)
				sb_puts(&det, ": ");
			sb_puts(&det, c);
		}
		sb_free(&cs);
	}
	bool is_free = r->state == VM_STATE_FREE;
	fprintf(f, "%*s%0*" PRIx64 " %9s  %-9s  %-7s %-4s  %-9s", indent, "", aw, r->base,
		fmt_size(r->size, sz, sizeof sz), flat ? vm_usage_name(r->usage) : "",
		vm_state_name(r->state), is_free ? "" : prot, is_free ? "" : vm_type_name(r->type));
	if (is_free || !r->stats.valid)
		fprintf(f, " %9s %9s", "", "");
	else
		fprintf(f, " %9s %9s", fmt_size(r->stats.rss, rss, sizeof rss),
			fmt_size(r->stats.private_clean + r->stats.private_dirty, priv, sizeof priv));
	if (o->pages) {
		if (r->pages.valid)
			fprintf(f, " %7" PRIu64 "/%-7" PRIu64, r->pages.present, r->pages.shared);
		else
			fprintf(f, " %15s", "");
	}
	fprintf(f, "  %s\n", sb_str(&det));
	sb_free(&det);

	if (o->contents) {
		for (size_t k = 0; k < r->ncontents; k++) {
			const vm_content *c = &r->contents[k];
			const char *mod = module_name(m, c->module);
			fprintf(f, "%*s%0*" PRIx64 " %9s  %-9s %s", indent + 4, "", aw, c->addr,
				fmt_size(c->size, sz, sizeof sz), vm_content_kind_name(c->kind), c->name);
			if (c->detail)
				fprintf(f, "  %s", c->detail);
			if (mod && c->kind != VM_CK_HEADER)
				fprintf(f, "  [%s]", mod);
			if (c->tid && !(c->detail && c->kind != VM_CK_HEADER))
				fprintf(f, "  tid %lld", (long long)c->tid);
			fputc('\n', f);
		}
	}
	if (o->pages && r->nruns)
		page_runs(m, r, f, aw);
}

static void alloc_line(const vm_map *m, const vm_alloc *a, const map_render_options *o, FILE *f)
{
	char sz[16], rss[16], priv[16];
	uint64_t trss = 0, tpriv = 0;
	bool stats = false;
	for (size_t k = a->first; k < a->first + a->count; k++) {
		const vm_region *r = &m->regions[k];
		trss += r->stats.rss;
		tpriv += r->stats.private_clean + r->stats.private_dirty;
		stats |= r->stats.valid;
	}
	if (o->color)
		fputs(usage_color(a->usage), f);
	fprintf(f, "%0*" PRIx64 " %9s  %-9s  %-7s %-4s  %-9s", addr_width(m), a->base,
		fmt_size(a->size, sz, sizeof sz), vm_usage_name(a->usage), "", "", "");
	if (stats)
		fprintf(f, " %9s %9s", fmt_size(trss, rss, sizeof rss), fmt_size(tpriv, priv, sizeof priv));
	else
		fprintf(f, " %9s %9s", "", "");
	if (o->pages)
		fprintf(f, " %15s", "");
	fprintf(f, "  %s", a->details ? a->details : "");
	if (o->color)
		fputs("\033[0m", f);
	fputc('\n', f);
}

void map_render_text(const vm_map *m, const map_render_options *o, FILE *f)
{
	header(m, f);
	summary(m, o, f);
	int aw = addr_width(m);
	fprintf(f, "%-*s %9s  %-9s  %-7s %-4s  %-9s %9s %9s", aw + (o->flat ? 0 : 0), "Address",
		"Size", "Usage", "State", "Prot", "Type", "RSS", "Private");
	if (o->pages)
		fprintf(f, " %15s", "Present/Shared");
	fputs("  Details\n", f);
	for (size_t i = 0; i < m->nallocs; i++) {
		const vm_alloc *a = &m->allocs[i];
		if (!map_alloc_shown(a, o))
			continue;
		if (o->flat) {
			for (size_t k = a->first; k < a->first + a->count; k++)
				region_line(m, &m->regions[k], o, f, 0, true);
			continue;
		}
		if (a->usage == VM_USAGE_FREE) {
			region_line(m, &m->regions[a->first], o, f, 0, false);
			continue;
		}
		alloc_line(m, a, o, f);
		for (size_t k = a->first; k < a->first + a->count; k++)
			region_line(m, &m->regions[k], o, f, 2, false);
	}
}
