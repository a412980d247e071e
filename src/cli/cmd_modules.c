/* vmatlas modules: the loaded images, from the loader's list and from the
 * region scan, with what each source says. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "map_render.h"

typedef struct modules_args {
	bool symbols;
} modules_args;

/* A process with no loader's list at all (a statically linked program:
 * no dynamic loader, no r_debug) lacks nothing: its images are not
 * "missing" from a list it never had. */
static bool have_loader_list(const vm_map *m)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (m->modules[i].sources & VM_SRC_LOADER)
			return true;
	return false;
}

/* peb: the PEB's loader list was read (Windows), so a module it lacks
 * is a difference worth saying */
static const char *flag_of(const vm_module *mod, bool have_list, bool peb)
{
	unsigned s = mod->sources;
	if (!have_list && !peb && !(s & VM_SRC_LOADER))
		return s == VM_SRC_MANUAL ? "registered by hand only" : NULL;
	if (peb && (s & (VM_SRC_LOADER | VM_SRC_REGIONS)) && !(s & VM_SRC_PEB))
		return "not in the PEB's loader list: unlinked, injected or mapped by hand";
	if (peb && (s & VM_SRC_PEB) && !(s & VM_SRC_REGIONS))
		return "in the PEB's loader list but no image header in memory";
	if ((s & VM_SRC_LOADER) && (s & VM_SRC_REGIONS))
		return NULL;
	if (s & VM_SRC_PEB)
		return NULL; /* no module list in the dump: PEB.Ldr and the scan agree */
	if (s == VM_SRC_MANUAL)
		return "registered by hand only";
	if (!(s & VM_SRC_LOADER) && (s & VM_SRC_REGIONS))
		return "not in the loader's list: unlinked, injected or mapped by hand";
	if ((s & VM_SRC_LOADER) && !(s & VM_SRC_REGIONS))
		return "in the loader's list but no image header in memory";
	return NULL;
}

static void sources_text(unsigned s, bool peb, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s", (s & VM_SRC_LOADER) ? "L" : "-", (s & VM_SRC_REGIONS) ? "R" : "-",
		 (s & VM_SRC_MANUAL) ? "M" : "-", !peb ? "" : (s & VM_SRC_PEB) ? "P" : "-");
}

static int modules_check(cli_ctx *ctx)
{
	ctx->symbols = ((modules_args *)ctx->args)->symbols;
	return 0;
}

static int modules_run(cli_ctx *ctx)
{
	vm_map *m = ctx->m;
	vm_symbolizer *sym = ctx->sym;
	if (ctx->json) {
		json_writer *w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
		json_obj_begin(w);
		json_key(w, "modules");
		json_arr_begin(w);
		for (size_t i = 0; i < m->nmodules; i++) {
			json_module(w, &m->modules[i]);
			if (sym)
				json_kstr(w, "symbols", vm_symbolizer_sources(sym, &m->modules[i]));
			json_obj_end(w);
		}
		json_arr_end(w);
		json_obj_end(w);
		json_done(w);
		free(w);
	} else {
		int aw = m->info.bits == 32 ? 8 : 16;
		bool peb = false;
		for (size_t i = 0; i < m->nmodules; i++)
			peb |= (m->modules[i].sources & VM_SRC_PEB) != 0;
		printf("%-*s %9s  %-*s  %-*s  %-40s  %s\n", aw, "Base", "Size", aw, "Load bias", peb ? 4 : 3, "Src",
		       "Build id", "Name");
		size_t flagged = 0;
		bool have_list = have_loader_list(m);
		for (size_t i = 0; i < m->nmodules; i++) {
			const vm_module *mod = &m->modules[i];
			char sz[16], src[8], id[129] = "-";
			sources_text(mod->sources, peb, src, sizeof src);
			for (size_t k = 0; k < mod->build_id_len && k < 20; k++)
				snprintf(id + 2 * k, 3, "%02x", mod->build_id[k]);
			printf("%0*llx %9s  %0*llx  %s  %-40s  %s", aw, (unsigned long long)mod->base,
			       fmt_size(mod->size, sz, sizeof sz), aw, (unsigned long long)mod->load_bias,
			       src, id, mod->name);
			if (mod->path && strcmp(mod->path, mod->name))
				printf("  %s%s", mod->path, mod->deleted ? " (deleted)" : "");
			putchar('\n');
			if (sym)
				printf("%*s symbols: %s\n", aw, "",
				       vm_symbolizer_sources(sym, mod) ? vm_symbolizer_sources(sym, mod)
									: "none found");
			flagged += flag_of(mod, have_list, peb) != NULL;
		}
		if (flagged) {
			printf("\n");
			for (size_t i = 0; i < m->nmodules; i++) {
				const char *f = flag_of(&m->modules[i], have_list, peb);
				if (f)
					printf("! %s at 0x%llx: %s\n", m->modules[i].name,
					       (unsigned long long)m->modules[i].base, f);
			}
		}
		if (!have_list && !peb && m->nmodules)
			printf("\n(no loader's list: a statically linked program, or one whose loader has not "
			       "run; the images come from the region scan)\n");
		printf("\nSrc: L = the loader's list%s, R = an image found in the region scan, "
		       "M = registered by hand%s\n",
		       !peb ? "" : m->info.kind == VM_TARGET_MINIDUMP ? " (the dump's module list)" : " (EnumProcessModules)",
		       peb ? ", P = the PEB's loader list" : "");
	}
	return 0;
}

static const cli_option modules_opts[] = {
	CLI_OPT_FLAG("symbols", 0, modules_args, symbols, "also load each module's symbols and say where they\n"
		     "came from (.symtab, .dynsym, MiniDebugInfo, debug file)"),
};

const cli_command cli_cmd_modules = {
	.name = "modules",
	.summary = "loaded images, from the loader's list and the region scan",
	.usage = "[OPTIONS] TARGET\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "Loaded images from two independent sources: the dynamic loader's list\n"
		 "(r_debug/link_map) and a scan of the memory map for image headers, plus\n"
		 "modules registered with --add-module. A module that only one source\n"
		 "knows is flagged: an unlinked or injected library, an ELF mapped by\n"
		 "hand, or a damaged loader list.\n",
	.needs = CLI_TARGET | CLI_MAP,
	.mo = { .no_stats = true },
	CLI_OPTS(modules_opts),
	CLI_ARGS(modules_args),
	.check = modules_check,
	.run = modules_run,
};
