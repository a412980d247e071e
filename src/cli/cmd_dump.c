/* vmatlas dump: target memory to a file. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/format.h"
#include "base/atomic_file.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/dump.h"
#include "vmatlas/expr.h"

static const char dump_help[] =
	"usage: vmatlas dump [OPTIONS] TARGET ADDR|REGION -o FILE\n"
	"\n"
	"Writes the region holding ADDR (an expression, as for view), a region by\n"
	"name ([heap], [stack], a module's name for its whole image), or with\n"
	"--size exactly SIZE bytes from ADDR, to FILE. Pages that cannot be read\n"
	"are written as zeros and listed; the dump does not stop at them. FILE is\n"
	"created with mode 0600 (it holds the process's memory) and appears whole\n"
	"or not at all.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE  where to write\n"
	"  --size N           exactly N bytes from ADDR\n"
	"  --format raw|elf   raw bytes (default), or an ELF core-style file with a\n"
	"                     PT_LOAD per region (readelf, gdb can open it)\n"
	CLI_COMMON_HELP;

enum { OPT_SIZE = OPT_COMMAND, OPT_FORMAT };

static const struct option opts[] = {
	CLI_COMMON_OPTIONS,
	{ "output", required_argument, NULL, 'o' },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ NULL, 0, NULL, 0 },
};

int cmd_dump(int argc, char **argv)
{
	cli_common cc;
	const char *out = NULL, *format = "raw";
	uint64_t size = 0;
	argc = cli_common_begin(&cc, "dump", argc, argv);
	int c, rc;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		int r = cli_common_option(&cc, c, optarg);
		if (r < 0)
			return cli_common_end(&cc), EXIT_USAGE;
		if (r > 0)
			continue;
		if (c == 'o')
			out = optarg;
		else if (c == OPT_SIZE) {
			if (!parse_u64(optarg, &size) || size == 0)
				return cli_common_end(&cc), cli_usage_error("dump", "bad --size '%s'", optarg);
		} else if (c == OPT_FORMAT) {
			format = optarg;
			if (strcmp(format, "raw") && strcmp(format, "elf"))
				return cli_common_end(&cc), cli_usage_error("dump", "--format is raw or elf");
		} else if (c == 'h')
			return fputs(dump_help, stdout), cli_common_end(&cc), 0;
		else
			return cli_common_end(&cc), cli_usage_error("dump", "unknown option '%s'", argv[optind - 1]);
	}
	if ((rc = cli_common_target(&cc, argc, argv)))
		return cli_common_end(&cc), rc;
	if (optind + 1 != argc)
		return cli_common_end(&cc), cli_usage_error("dump", "one ADDR or REGION please");
	if (!out)
		return cli_common_end(&cc), cli_usage_error("dump", "no -o FILE given");
	const char *what = argv[optind];
	vm_map_options mo = { .no_stats = true };
	vm_target *t;
	vm_map *m;
	if ((rc = cli_common_map(&cc, &mo, &t, &m)))
		return cli_common_end(&cc), rc;
	vm_symbolizer *s = vm_symbolizer_new(m, t, 0);
	uint64_t addr = 0;
	bool found = false;
	const vm_module *mod = vm_map_module_by_name(m, what);
	if (mod && mod->size && !size) {
		addr = mod->base;
		size = mod->size;
		found = true;
	}
	for (size_t i = 0; i < m->nregions && !found; i++)
		if (m->regions[i].path && !strcmp(m->regions[i].path, what)) {
			addr = m->regions[i].base;
			found = true;
			if (!size)
				size = m->regions[i].size;
		}
	vm_expr_ctx ec = { m, t, s };
	if (!found && vm_expr_eval(&ec, what, &addr) < 0) {
		rc = cli_error(EXIT_USAGE, "dump: %s", vm_error());
		goto done;
	}
	if (!size) {
		const vm_region *r = vm_map_region_at(m, addr);
		if (!r || r->state == VM_STATE_FREE) {
			rc = cli_error(EXIT_RUNTIME, "dump: 0x%llx is in no region", (unsigned long long)addr);
			goto done;
		}
		addr = r->base;
		size = r->size;
	}
	if (addr + size < addr) {
		rc = cli_error(EXIT_USAGE, "dump: the range wraps around the address space");
		goto done;
	}
	vm_dump_result res;
	if (vm_dump(m, t, addr, size, !strcmp(format, "elf"), out, &res) < 0) {
		rc = cli_error(EXIT_RUNTIME, "dump: %s", vm_error());
		goto done;
	}
	char a[16];
	int aw = m->info.bits == 32 ? 8 : 16;
	/* the bytes went to standard output: the report goes to stderr */
	FILE *rep = af_names_stdout(out) ? stderr : stdout;
	if (cc.json) {
		json_writer *jw = xmalloc(sizeof *jw);
		json_init(jw, rep, true);
		json_obj_begin(jw);
		json_kstr(jw, "file", out);
		json_kstr(jw, "format", format);
		json_kaddr(jw, "addr", addr);
		json_ku64(jw, "size", size);
		json_ku64(jw, "written", res.written);
		cli_json_holes(jw, res.holes, res.nholes);
		json_obj_end(jw);
		json_done(jw);
		free(jw);
	} else {
		fprintf(rep, "%0*llx-%0*llx (%s) to %s, %s", aw, (unsigned long long)addr, aw,
		       (unsigned long long)(addr + size), fmt_size(size, a, sizeof a), out, format);
		if (res.loads)
			fprintf(rep, " with %u PT_LOAD", res.loads);
		fputc('\n', rep);
		for (size_t i = 0; i < res.nholes; i++)
			fprintf(rep, "  unreadable: %0*llx (%s)%s\n", aw, (unsigned long long)res.holes[i].addr,
			       fmt_size(res.holes[i].size, a, sizeof a),
			       strcmp(format, "raw") ? ", not in the file" : ", written as zeros");
	}
	vm_dump_result_free(&res);
done:
	fflush(stdout);
	vm_symbolizer_free(s);
	vm_map_free(m);
	vm_target_close(t);
	cli_common_end(&cc);
	return rc;
}
