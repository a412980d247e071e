/* The options shared by commands: --json and --help for all, and those of
 * every command that reads a TARGET. Their values go into cli_ctx. */
#include "cli.h"

#include "base/atomic_file.h"
#include "base/util.h"

static int add_module(cli_ctx *ctx, const cli_option *o, const char *v)
{
	(void)o;
	if (!cli_parse_add_module(v, &ctx->manual))
		return cli_usage_error(ctx->name, "bad --add-module '%s' (NAME_OR_PATH=BASE[,SIZE])", v);
	return 0;
}

static int run_ms(cli_ctx *ctx, const cli_option *o, const char *v)
{
	uint64_t ms;
	(void)o;
	if (!parse_u64(v, &ms) || ms > 3600000)
		return cli_usage_error(ctx->name, "bad --run '%s' (milliseconds)", v);
	ctx->ta.run_ms = (unsigned)ms;
	return 0;
}

static int keep(cli_ctx *ctx, const cli_option *o, const char *v)
{
	(void)o, (void)v;
	ctx->ta.keep = true;
	return 0;
}

int cli_opt_color(cli_ctx *ctx, const cli_option *o, const char *v)
{
	(void)o;
	if (!cli_parse_color(v, &ctx->color))
		return cli_usage_error(ctx->name, "bad --color '%s'", v);
	return 0;
}

int cli_opt_force(cli_ctx *ctx, const cli_option *o, const char *v)
{
	(void)ctx, (void)o, (void)v;
	af_set_force(true);
	return 0;
}

const cli_option cli_base_opts[] = {
	{ .name = "json", .help = "machine-readable output (see docs/json.md)", .kind = CLI_FLAG,
	  .flags = CLI_F_CTX, .off = CLI_OFF_(cli_ctx, json, bool) },
	{ .name = "help", .short_name = 'h', .help = "this help", .kind = CLI_HELP },
};
const size_t cli_nbase_opts = ARRAY_LEN(cli_base_opts);

const cli_option cli_target_opts[] = {
	{ .name = "add-module", .value = "NAME_OR_PATH=BASE[,SIZE]", .help = "register a module by hand",
	  .kind = CLI_CALL, .flags = CLI_F_REPEAT, .call = add_module },
	{ .name = "freeze", .help = "stop all threads while reading (always resumed)", .kind = CLI_FLAG,
	  .flags = CLI_F_CTX, .off = CLI_OFF_(cli_ctx, freeze, bool) },
	{ .name = "run", .value = "MS", .help = "with '--': let the program run MS ms first", .kind = CLI_CALL,
	  .call = run_ms },
	{ .name = "keep", .help = "with '--': leave the program running on exit", .kind = CLI_CALL, .call = keep },
	{ .name = "no-demangle", .help = "C++ symbols as the tables spell them (mangled)", .kind = CLI_FLAG,
	  .flags = CLI_F_CTX, .off = CLI_OFF_(cli_ctx, no_demangle, bool) },
	{ .name = "sysroot", .value = "DIR", .help = "core files: look for the files they map under DIR",
	  .kind = CLI_STRING, .flags = CLI_F_CTX, .off = CLI_OFF_(cli_ctx, sysroot, const char *) },
	{ .name = "solib-path", .value = "DIRS", .help = "core files: look in DIRS (':'-separated) by file name",
	  .kind = CLI_STRING, .flags = CLI_F_CTX, .off = CLI_OFF_(cli_ctx, solib_path, const char *) },
	{ .name = "image-path", .value = "DIRS", .help = "minidumps: look for PE images (symbols, unwind\n"
	  "information) in DIRS (':'-separated) by file name",
	  .kind = CLI_STRING, .flags = CLI_F_CTX, .off = CLI_OFF_(cli_ctx, image_path, const char *) },
	{ .name = "symbol-path", .value = "DIRS", .help = "minidumps: look for PDB files (public symbols) in\n"
	  "DIRS (':'-separated) by the name the image gives",
	  .kind = CLI_STRING, .flags = CLI_F_CTX, .off = CLI_OFF_(cli_ctx, symbol_path, const char *) },
};
const size_t cli_ntarget_opts = ARRAY_LEN(cli_target_opts);
