/* vmatlas dump: target memory to a file. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/atomic_file.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/dump.h"
#include "vmatlas/expr.h"

typedef struct dump_args {
	const char *out, *format;
	uint64_t size;
	bool fill;
} dump_args;

static void dump_init(void *p)
{
	((dump_args *)p)->format = "raw";
}

static int dump_check(cli_ctx *ctx)
{
	const dump_args *a = ctx->args;
	if (strcmp(a->format, "raw") && strcmp(a->format, "elf"))
		return cli_usage_error("dump", "--format is raw or elf");
	if (!a->out)
		return cli_usage_error("dump", "no -o FILE given");
	return 0;
}

static int dump_run(cli_ctx *ctx)
{
	const dump_args *da = ctx->args;
	const char *out = da->out, *format = da->format, *what = ctx->argv[0];
	uint64_t size = da->size;
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	vm_symbolizer *s = ctx->sym;
	int rc = 0;
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
	int er = found ? 0 : vm_expr_eval(&ec, what, &addr);
	if (er < 0) {
		rc = cli_error(er == -2 ? EXIT_USAGE : EXIT_RUNTIME, "dump: %s", vm_error());
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
	unsigned flags = (!strcmp(format, "elf") ? VM_DUMP_ELF : 0) | (da->fill ? VM_DUMP_FILL : 0);
	if (vm_dump(m, t, addr, size, flags, out, &res) < 0) {
		rc = cli_error(EXIT_RUNTIME, "dump: %s", vm_error());
		goto done;
	}
	char a[16];
	int aw = m->info.bits == 32 ? 8 : 16;
	/* the bytes went to standard output: the report goes to stderr */
	FILE *rep = af_names_stdout(out) ? stderr : stdout;
	if (ctx->json) {
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
	return rc;
}

static const cli_option dump_opts[] = {
	CLI_OPT_STRING("output", 'o', "FILE", dump_args, out, "where to write"),
	CLI_OPT_FORCE,
	CLI_OPT_U64("size", "N", dump_args, size, 1, UINT64_MAX, "exactly N bytes from ADDR"),
	CLI_OPT_FLAG("fill", 0, dump_args, fill, "raw: write zeros where nothing is mapped or the\n"
						 "target (a core, a dump) holds no bytes"),
	{ .name = "format", .value = "raw|elf", .kind = CLI_STRING, .off = CLI_OFF_(dump_args, format, const char *),
	  .choices = "raw elf",
	  .help = "raw bytes (default), or an ELF core-style file with a\n"
		  "PT_LOAD per region (readelf, gdb can open it)" },
};

const cli_command cli_cmd_dump = {
	.name = "dump",
	.summary = "memory to a file, raw or as ELF",
	.usage = "[OPTIONS] TARGET ADDR|REGION -o FILE\n[OPTIONS] ADDR|REGION -o FILE -- PROGRAM [ARGS...]",
	.about = "Writes the region holding ADDR (an expression, as for view), a region by\n"
		 "name ([heap], [stack], a module's name for its whole image), or with\n"
		 "--size exactly SIZE bytes from ADDR, to FILE. Mapped pages that cannot be\n"
		 "read are written as zeros and listed; the dump does not stop at them.\n"
		 "Space that is not mapped, or that a core or dump holds no bytes for, is\n"
		 "an error unless --fill (raw) writes zeros there. FILE is\n"
		 "created with mode 0600 (it holds the process's memory) and appears whole\n"
		 "or not at all.\n",
	.needs = CLI_TARGET | CLI_MAP | CLI_SYMBOLS,
	.args = "ADDR",
	.args_error = "one ADDR or REGION please",
	.min_args = 1,
	.max_args = 1,
	.mo = { .no_stats = true },
	CLI_OPTS(dump_opts),
	CLI_ARGS(dump_args),
	.init = dump_init,
	.check = dump_check,
	.run = dump_run,
};
