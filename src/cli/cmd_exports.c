/* vmatlas exports: every exported or global symbol of every module with
 * its live address, searchable by name or by address. */
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/open_file.h"
#include "base/util.h"
#include "vmatlas/pe.h"

typedef struct exports_args {
	const char *find, *module;
	bool exported_only;
	bool image;	/* TARGET is a PE image file: its own export table */
} exports_args;

static bool name_matches(const char *pattern, bool glob, const char *name)
{
	if (!pattern)
		return true;
	return glob ? fnmatch(pattern, name, 0) == 0 : strstr(name, pattern) != NULL;
}

static void row_json(json_writer *w, const vm_export *x)
{
	json_obj_begin(w);
	json_kstr(w, "module", x->module->name);
	json_kstr(w, "name", x->name);
	json_kstr(w, "version", x->version ? x->version + strspn(x->version, "@") : NULL);
	if (x->version)
		json_kbool(w, "default_version", x->version[1] == '@');
	if (x->mangled)
		json_kstr(w, "mangled", x->mangled);
	if (x->forwarder) {
		json_key(w, "addr");
		json_null(w);
	} else {
		json_kaddr(w, "addr", x->addr);
	}
	json_ku64(w, "size", x->size);
	json_kstr(w, "kind", x->kind);
	json_kstr(w, "bind", x->bind);
	json_kbool(w, "exported", x->exported);
	json_kstr(w, "forwarder", x->forwarder);
	json_obj_end(w);
}

static void row_text(const vm_export *x, int aw)
{
	char sz[16];
	if (x->forwarder) { /* no address here: the name it stands for */
		printf("%-*s %9s  %-6s %-6s %c %s!%s -> %s\n", aw, "forwarder", "-", "fwd", x->bind,
		       x->exported ? 'E' : ' ', x->module->name, x->name, x->forwarder);
		return;
	}
	printf("%0*llx %9s  %-6s %-6s %c %s!%s%s\n", aw, (unsigned long long)x->addr,
	       fmt_size(x->size, sz, sizeof sz), x->kind, x->bind, x->exported ? 'E' : ' ',
	       x->module->name, x->name, x->version ? x->version : "");
}

/* fnmatch takes "[[[[" as a literal; the user meant a set and forgot
 * to close it */
static bool glob_sets_closed(const char *p)
{
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			const char *q = p + 1;
			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			if (!*q)
				return false;
			p = q;
		}
	}
	return true;
}

/* a TARGET that is a PE image file (MZ, not a dump): listed from its own
 * export table, with no target opened */
static bool is_pe_file(const char *path)
{
	uint8_t head[64];
	int fd = path ? open_regular(path) : -1;
	if (fd < 0)
		return false;
	ssize_t got = pread(fd, head, sizeof head, 0);
	close(fd);
	return got > 0 && pe_is_magic(head, (size_t)got);
}

static int exports_check(cli_ctx *ctx)
{
	exports_args *ea = ctx->args;
	uint64_t addr;
	if (ea->find && !cli_parse_addr(ea->find, &addr) && !glob_sets_closed(ea->find))
		return cli_usage_error("exports", "bad --find pattern '%s': a '[' set is not closed", ea->find);
	if (!ctx->ta.prog && is_pe_file(ctx->spec)) {
		ea->image = true;
		ctx->open = ctx->build = false;
	}
	return 0;
}

/* the export table of a PE file as rows of a module named by the file,
 * at its preferred base */
static int image_rows(const char *path, vm_module *mod, vm_export **out, size_t *np, int *bits)
{
	int fd = open_regular(path);
	pe_image pe;
	size_t n = 0, cap = 0;
	*out = NULL;
	*np = 0;
	if (fd < 0)
		return -1;
	off_t size = lseek(fd, 0, SEEK_END);
	vm_reader r = vm_reader_fd(fd, size > 0 ? (uint64_t)size : 0);
	pe_exports ex;
	if (pe_open(&pe, &r, false) < 0) {
		close(fd);
		return -1;
	}
	*bits = pe.bits;
	mod->base = pe.image_base;
	if (pe_read_exports(&pe, &ex) == 0) {
		for (size_t i = 0; i < ex.n; i++) {
			const pe_export *e = &ex.e[i];
			const pe_section *sec = pe_section_of_rva(&pe, e->rva);
			vm_export *x = ARRAY_PUSH(*out, n, cap);
			memset(x, 0, sizeof *x);
			x->module = mod;
			x->name = e->name ? xstrdup(e->name) : xasprintf("#%u", e->ordinal);
			x->forwarder = e->forwarder ? xstrdup(e->forwarder) : NULL;
			x->addr = e->forwarder ? 0 : pe.image_base + e->rva;
			x->kind = e->forwarder ? "forwarder" : !sec ? "notype"
				  : sec->flags & (0x20000000u /* MEM_EXECUTE */ | 0x20u /* CNT_CODE */) ? "func" : "object";
			x->bind = "global";
			x->exported = true;
		}
		pe_exports_free(&ex);
	}
	pe_close(&pe);
	close(fd);
	*np = n;
	return 0;
}

static int exports_run(cli_ctx *ctx)
{
	const exports_args *ea = ctx->args;
	const char *find = ea->find, *module = ea->module;
	bool exported_only = ea->exported_only;
	uint64_t find_addr = 0;
	bool by_addr = find && cli_parse_addr(find, &find_addr);
	bool glob = find && strpbrk(find, "*?[") != NULL;
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	vm_symbolizer *s = NULL;
	const vm_export *xs;
	vm_export *own = NULL;
	vm_module file_mod = { 0 };
	size_t n;
	int bits = 64;
	if (ea->image) {
		const char *slash = strrchr(ctx->spec, '/');
		file_mod.name = (char *)(slash ? slash + 1 : ctx->spec);
		if (image_rows(ctx->spec, &file_mod, &own, &n, &bits) < 0)
			return cli_error(EXIT_RUNTIME, "exports: %s", vm_error());
		if (module && strcmp(module, file_mod.name))
			return cli_error(EXIT_RUNTIME, "exports: no module named '%s'", module);
		xs = own;
	} else {
		if (module && !vm_map_module_by_name(m, module))
			return cli_error(EXIT_RUNTIME, "exports: no module named '%s'", module);
		s = vm_symbolizer_new(m, t, VM_SYM_VERSIONS | (ctx->no_demangle ? 0 : VM_SYM_DEMANGLE));
		n = vm_exports(s, &xs);
		bits = m->info.bits;
	}
	/* by address: the exports at or nearest below it in its module, every
	 * alias of that address */
	const vm_export *nearest = NULL;
	if (by_addr) {
		const vm_module *mod = ea->image ? &file_mod : vm_map_module_at(m, find_addr);
		for (size_t i = 0; i < n; i++)
			if (xs[i].module == mod && !xs[i].forwarder && xs[i].addr <= find_addr &&
			    (!nearest || xs[i].addr > nearest->addr ||
			     (xs[i].addr == nearest->addr && xs[i].exported && !nearest->exported)))
				nearest = &xs[i];
	}
	const vm_export **rows = xcalloc(n ? n : 1, sizeof *rows);
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		const vm_export *x = &xs[i];
		if (by_addr ? !nearest || x->module != nearest->module || x->addr != nearest->addr || x->forwarder
			    : !name_matches(find, glob, x->name) &&
				      !(x->mangled && name_matches(find, glob, x->mangled)))
			continue;
		if ((module && strcmp(x->module->name, module) && !(x->module->path &&
		     strcmp(x->module->path, module) == 0)) || (exported_only && !x->exported))
			continue;
		rows[shown++] = x;
	}
	int rc = 0;
	if (find && !shown) {
		/* nothing on stdout: no header for no rows */
		rc = cli_error(EXIT_RUNTIME, "exports: nothing matches '%s'", find);
		goto out;
	}
	int aw = bits == 32 ? 8 : 16;
	json_writer *w = NULL;
	if (ctx->json) {
		w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
		json_arr_begin(w);
	} else {
		printf("%-*s %9s  %-6s %-6s E Module!Name[@VERSION]\n", aw, "Address", "Size", "Kind", "Bind");
	}
	for (size_t i = 0; i < shown; i++)
		ctx->json ? row_json(w, rows[i]) : row_text(rows[i], aw);
	if (w) {
		json_arr_end(w);
		json_done(w);
		free(w);
	} else if (by_addr && nearest && find_addr != nearest->addr) {
		printf("(0x%llx is %s!%s+0x%llx)\n", (unsigned long long)find_addr, nearest->module->name,
		       nearest->name, (unsigned long long)(find_addr - nearest->addr));
	}
out:
	free(rows);
	vm_symbolizer_free(s);
	for (size_t i = 0; own && i < n; i++) {
		free((char *)own[i].name);
		free((char *)own[i].forwarder);
	}
	free(own);
	return rc;
}

static const cli_option exports_opts[] = {
	CLI_OPT_STRING("find", 0, "NAME|ADDR", exports_args, find,
		       "only symbols whose name contains NAME (or matches it\n"
		       "as a glob: 'mem*cpy'), or the symbol at or nearest\n"
		       "below ADDR (0x... or decimal)"),
	CLI_OPT_STRING("module", 0, "NAME", exports_args, module, "only this module"),
	CLI_OPT_FLAG("exported", 0, exports_args, exported_only, "only symbols in the dynamic symbol tables"),
};

const cli_command cli_cmd_exports = {
	.name = "exports",
	.summary = "every exported or global symbol of every module",
	.usage = "[OPTIONS] TARGET\n[OPTIONS] FILE.dll\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "Every exported (dynamic) or global symbol of every module, with its live\n"
		 "address, size and kind: one row per module, name, version and address,\n"
		 "aliases (names of one address) together. A version is shown as the\n"
		 "linker spells it: name@@VERSION the default one, name@VERSION a hidden\n"
		 "(older) one. --find ADDR gives every alias of the symbol there.\n"
		 "A PE export forwarded to another DLL is listed as such (-> DLL.name,\n"
		 "kind fwd), with no address. TARGET may also be a PE image file\n"
		 "(.dll, .exe): its export table at its preferred base.\n",
	.needs = CLI_TARGET | CLI_MAP,
	.mo = { .no_stats = true },
	CLI_OPTS(exports_opts),
	CLI_ARGS(exports_args),
	.check = exports_check,
	.run = exports_run,
};
