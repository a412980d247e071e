/* vmatlas sym: symbols for addresses. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/expr.h"

typedef struct sym_args {
	bool from_stdin, no_lines;
	uint64_t *addrs;
	bool *is_expr; /* evaluated once the map is built (libc.so.6!epoll_wait) */
	size_t naddr;
} sym_args;

static void emit_text(vm_symbolizer *s, uint64_t addr)
{
	vm_symbol_info si;
	char text[1024];
	vm_symbolize(s, addr, &si);
	vm_symbol_format(&si, addr, text, sizeof text);
	printf("0x%llx  %s", (unsigned long long)addr, text);
	if (si.file)
		printf("  %s:%d", si.file, si.line);
	if (si.alias_of)
		printf("  (a second mapping of its file: 0x%llx in the module)", (unsigned long long)si.alias_of);
	else if (!si.file && !si.module && (!si.region || si.region->state == VM_STATE_FREE))
		printf("  (in no mapping)");
	else if (!si.file && !si.module)
		printf("  (in no module: %s region)", vm_usage_name(si.region->usage));
	putchar('\n');
}

static void emit_json(json_writer *w, vm_symbolizer *s, uint64_t addr)
{
	vm_symbol_info si;
	char text[1024];
	vm_symbolize(s, addr, &si);
	vm_symbol_format(&si, addr, text, sizeof text);
	json_obj_begin(w);
	json_kaddr(w, "addr", addr);
	json_kstr(w, "module", si.module ? si.module->name : NULL);
	json_kstr(w, "symbol", si.symbol);
	if (si.mangled)
		json_kstr(w, "mangled", si.mangled);
	json_ku64(w, "offset", si.module ? si.offset : (si.region ? addr - si.region->base : 0));
	json_kstr(w, "text", text);
	if (si.file) {
		json_kstr(w, "file", si.file);
		json_ki64(w, "line", si.line);
	}
	if (si.alias_of)
		json_kaddr(w, "alias_of", si.alias_of);
	if (!si.module) {
		json_key(w, "region");
		if (si.region && si.region->state != VM_STATE_FREE) {
			json_obj_begin(w);
			json_kaddr(w, "base", si.region->base);
			json_ku64(w, "size", si.region->size);
			json_kstr(w, "usage", vm_usage_name(si.region->usage));
			json_kstr(w, "path", si.region->path);
			json_obj_end(w);
		} else {
			json_null(w);
		}
	}
	json_obj_end(w);
}

static int sym_check(cli_ctx *ctx)
{
	sym_args *a = ctx->args;
	a->naddr = (size_t)ctx->argc;
	a->addrs = xcalloc(a->naddr ? a->naddr : 1, sizeof *a->addrs);
	a->is_expr = xcalloc(a->naddr ? a->naddr : 1, sizeof *a->is_expr);
	for (size_t i = 0; i < a->naddr; i++)
		a->is_expr[i] = !cli_parse_addr(ctx->argv[i], &a->addrs[i]);
	if (!a->naddr && !a->from_stdin)
		return cli_usage_error("sym", "no ADDR given");
	ctx->sym_flags = a->no_lines ? 0 : VM_SYM_LINES;
	return 0;
}

static int sym_run(cli_ctx *ctx)
{
	sym_args *a = ctx->args;
	vm_symbolizer *s = ctx->sym;
	int rc = 0;
	json_writer *w = NULL;
	vm_expr_ctx ec = { ctx->m, ctx->t, s };
	for (size_t i = 0; i < a->naddr; i++) {
		int er = a->is_expr[i] ? vm_expr_eval(&ec, ctx->argv[i], &a->addrs[i]) : 0;
		if (er < 0)
			return cli_error(er == -2 ? EXIT_USAGE : EXIT_RUNTIME, "sym: '%s': %s", ctx->argv[i], vm_error());
	}
	if (ctx->json) {
		w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
		json_arr_begin(w);
	}
	for (size_t i = 0; i < a->naddr; i++)
		ctx->json ? emit_json(w, s, a->addrs[i]) : emit_text(s, a->addrs[i]);
	size_t bad = 0;
	if (a->from_stdin) {
		char line[256];
		while (fgets(line, sizeof line, stdin)) {
			line[strcspn(line, " \t\r\n")] = 0;
			if (!line[0])
				continue;
			uint64_t addr;
			if (!cli_parse_addr(line, &addr)) {
				/* as addr2line: "??" for the line, and on to the next */
				if (ctx->json) {
					json_obj_begin(w);
					json_kstr(w, "input", line);
					json_kstr(w, "error", "not an address");
					json_kstr(w, "text", "??");
					json_obj_end(w);
				} else {
					printf("%s  ??\n", line);
				}
				bad++;
				continue;
			}
			ctx->json ? emit_json(w, s, addr) : emit_text(s, addr);
		}
	}
	if (w) {
		json_arr_end(w);
		json_done(w);
		free(w);
	}
	if (bad)
		fprintf(stderr, "vmatlas: warning: sym: %zu line%s on standard input %s not an address (shown as ?\?)\n",
			bad, bad == 1 ? "" : "s", bad == 1 ? "was" : "were");
	return rc;
}

static void sym_done(void *p)
{
	free(((sym_args *)p)->addrs);
	free(((sym_args *)p)->is_expr);
}

static const cli_option sym_opts[] = {
	CLI_OPT_FLAG("stdin", 0, sym_args, from_stdin, "read addresses from standard input"),
	CLI_OPT_FLAG("no-lines", 0, sym_args, no_lines, "skip file:line (faster)"),
};

const cli_command cli_cmd_sym = {
	.name = "sym",
	.summary = "symbols for addresses: module!symbol+offset, file:line",
	.usage = "[OPTIONS] TARGET ADDR...\n[OPTIONS] TARGET --stdin      (addresses one per line)",
	.about = "Each address as module!symbol+offset and, where DWARF line information\n"
		 "exists, file:line. Symbols come from .symtab, .dynsym, MiniDebugInfo,\n"
		 "debug files by build id (/usr/lib/debug/.build-id, or $VMATLAS_DEBUG_DIR)\n"
		 "and .gnu_debuglink, and from the dynamic symbols in memory when the file\n"
		 "is gone. An address in no module is named by the region it is in.\n"
		 "ADDR is hexadecimal with 0x, decimal, or an expression as for view\n"
		 "(libc.so.6!epoll_wait, main+0x10, $rsp); lines on standard input are\n"
		 "addresses only, as for addr2line.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	.args = "ADDR",
	.max_args = -1,
	.mo = { .no_stats = true },
	CLI_OPTS(sym_opts),
	CLI_ARGS(sym_args),
	.check = sym_check,
	.run = sym_run,
	.done = sym_done,
};
