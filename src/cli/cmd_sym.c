/* vmatlas sym: symbols for addresses. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/json.h"
#include "base/util.h"

static const char sym_help[] =
	"usage: vmatlas sym [OPTIONS] TARGET ADDR...\n"
	"       vmatlas sym [OPTIONS] TARGET --stdin      (addresses one per line)\n"
	"\n"
	"Each address as module!symbol+offset and, where DWARF line information\n"
	"exists, file:line. Symbols come from .symtab, .dynsym, MiniDebugInfo,\n"
	"debug files by build id (/usr/lib/debug/.build-id, or $VMATLAS_DEBUG_DIR)\n"
	"and .gnu_debuglink, and from the dynamic symbols in memory when the file\n"
	"is gone. An address in no module is named by the region it is in.\n"
	"ADDR is hexadecimal with 0x, or decimal.\n"
	"\n"
	"Options:\n"
	"  --stdin           read addresses from standard input\n"
	"  --no-lines        skip file:line (faster)\n"
	CLI_COMMON_HELP;

enum { OPT_STDIN = OPT_COMMAND, OPT_NOLINES };

static const struct option opts[] = {
	CLI_COMMON_OPTIONS,
	{ "stdin", no_argument, NULL, OPT_STDIN },
	{ "no-lines", no_argument, NULL, OPT_NOLINES },
	{ NULL, 0, NULL, 0 },
};

static void emit_text(vm_symbolizer *s, uint64_t addr)
{
	vm_symbol_info si;
	char text[1024];
	vm_symbolize(s, addr, &si);
	vm_symbol_format(&si, addr, text, sizeof text);
	printf("0x%llx  %s", (unsigned long long)addr, text);
	if (si.file)
		printf("  %s:%d", si.file, si.line);
	else if (!si.module && (!si.region || si.region->state == VM_STATE_FREE))
		printf("  (in no mapping)");
	else if (!si.module)
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
	json_ku64(w, "offset", si.module ? si.offset : (si.region ? addr - si.region->base : 0));
	json_kstr(w, "text", text);
	if (si.file) {
		json_kstr(w, "file", si.file);
		json_ki64(w, "line", si.line);
	}
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

int cmd_sym(int argc, char **argv)
{
	cli_common cc;
	bool from_stdin = false, lines = true;
	argc = cli_common_begin(&cc, "sym", argc, argv);
	int c, rc = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = cli_common_option(&cc, c, optarg);
		if (r < 0)
			return cli_common_end(&cc), EXIT_USAGE;
		if (r > 0)
			continue;
		if (c == OPT_STDIN)
			from_stdin = true;
		else if (c == OPT_NOLINES)
			lines = false;
		else if (c == 'h')
			return fputs(sym_help, stdout), cli_common_end(&cc), 0;
		else
			return cli_common_end(&cc),
			       cli_usage_error("sym", "unknown option '%s'", argv[optind - 1]);
	}
	if ((rc = cli_common_target(&cc, argc, argv)))
		return cli_common_end(&cc), rc;
	size_t naddr = (size_t)(argc - optind);
	uint64_t *addrs = xcalloc(naddr ? naddr : 1, sizeof *addrs);
	for (size_t i = 0; i < naddr; i++)
		if (!cli_parse_addr(argv[optind + (int)i], &addrs[i])) {
			rc = cli_usage_error("sym", "not an address: '%s'", argv[optind + (int)i]);
			goto out;
		}
	if (!naddr && !from_stdin) {
		rc = cli_usage_error("sym", "no ADDR given");
		goto out;
	}
	vm_map_options mo = { .no_stats = true };
	vm_target *t;
	vm_map *m;
	if ((rc = cli_common_map(&cc, &mo, &t, &m)))
		goto out;
	vm_symbolizer *s = vm_symbolizer_new(m, t, lines ? VM_SYM_LINES : 0);
	json_writer *w = NULL;
	if (cc.json) {
		w = xmalloc(sizeof *w);
		json_init(w, stdout, true);
		json_arr_begin(w);
	}
	for (size_t i = 0; i < naddr; i++)
		cc.json ? emit_json(w, s, addrs[i]) : emit_text(s, addrs[i]);
	if (from_stdin) {
		char line[256];
		while (fgets(line, sizeof line, stdin)) {
			line[strcspn(line, " \t\r\n")] = 0;
			if (!line[0])
				continue;
			uint64_t a;
			if (!cli_parse_addr(line, &a)) {
				rc = cli_error(EXIT_USAGE, "sym: not an address on stdin: '%s'", line);
				break;
			}
			cc.json ? emit_json(w, s, a) : emit_text(s, a);
		}
	}
	if (w) {
		json_arr_end(w);
		json_done(w);
		free(w);
	}
	fflush(stdout);
	cli_print_warnings(m);
	vm_symbolizer_free(s);
	vm_map_free(m);
	vm_target_close(t);
out:
	free(addrs);
	cli_common_end(&cc);
	return rc;
}
