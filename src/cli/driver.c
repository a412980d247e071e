/* The one driver of every command: argv parsed from the command's table,
 * then the target opened, the map built, the command run, the map's
 * warnings printed and everything freed. */
#include "cli.h"

#include "base/util.h"
#include "vmatlas/expr.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* the tables a command's options are looked up in, in order */
typedef struct opt_sets {
	const cli_option *v[3];
	size_t n[3];
} opt_sets;

static bool takes_target_opts(const cli_command *cmd, const cli_command *mode)
{
	return ((cmd->needs | mode->needs) & (CLI_TARGET | CLI_TARGET_OPTS)) != 0;
}

static opt_sets sets_of(const cli_command *cmd, const cli_command *mode)
{
	opt_sets s = { { cmd->opts, cli_base_opts, NULL }, { cmd->nopts, cli_nbase_opts, 0 } };
	if (takes_target_opts(cmd, mode)) {
		s.v[2] = cli_target_opts;
		s.n[2] = cli_ntarget_opts;
	}
	return s;
}

/* by long name: exact, else a unique prefix (as getopt_long allowed) */
static const cli_option *find_long(const opt_sets *s, const char *name, size_t len)
{
	const cli_option *prefix = NULL;
	int nprefix = 0;
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < s->n[k]; i++) {
			const cli_option *o = &s->v[k][i];
			if (!o->name || strncmp(o->name, name, len))
				continue;
			if (!o->name[len])
				return o;
			prefix = o;
			nprefix++;
		}
	return nprefix == 1 ? prefix : NULL;
}

static const cli_option *find_short(const opt_sets *s, char c)
{
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < s->n[k]; i++)
			if (s->v[k][i].name && s->v[k][i].short_name == c)
				return &s->v[k][i];
	return NULL;
}

static bool takes_value(const cli_option *o)
{
	return o->value && !(o->flags & CLI_F_OPTIONAL);
}

/* the positionals in argv[from, end), skipping option values */
static int count_positionals(const opt_sets *s, char **argv, int from, int end)
{
	int n = 0;
	for (int i = from; i < end; i++) {
		const char *a = argv[i];
		const cli_option *o = NULL;
		if (a[0] != '-' || !a[1]) {
			n++;
			continue;
		}
		if (a[1] == '-') {
			if (!strchr(a, '='))
				o = find_long(s, a + 2, strlen(a + 2));
		} else {
			/* "-co FILE" takes the next word; "-oFILE" does not */
			for (const char *p = a + 1; *p; p++)
				if ((o = find_short(s, *p)) && takes_value(o)) {
					if (p[1])
						o = NULL;
					break;
				}
		}
		if (o && takes_value(o))
			i++;
	}
	return n;
}

static int apply(cli_ctx *ctx, const cli_option *o, const char *val)
{
	char *base = (o->flags & CLI_F_CTX) ? (char *)ctx : (char *)ctx->args;
	void *dest = base + o->off;
	uint64_t v;
	switch (o->kind) {
	case CLI_FLAG:
		*(bool *)dest = true;
		return 0;
	case CLI_STRING:
		*(const char **)dest = val;
		return 0;
	case CLI_U64:
		if (!parse_u64(val, &v) || v < o->min || v > o->max)
			return cli_usage_error(ctx->name, "bad --%s '%s'", o->name, val);
		*(uint64_t *)dest = v;
		return 0;
	case CLI_EXPR:
		((cli_expr *)dest)->text = val;
		return 0;
	case CLI_CALL:
		return o->call(ctx, o, val);
	case CLI_HELP:
		ctx->help = true;
		return -1;
	case CLI_HEADING:
		break;
	}
	return 0;
}

/* the positionals a command needs after the options: its TARGET and ADDRs */
static int needed_positionals(const cli_ctx *ctx)
{
	return ((ctx->mode->needs & CLI_TARGET) && !ctx->ta.prog) + ctx->mode->min_args;
}

/* one "--name[=value]" at argv[*i]; 0, -1 (--help) or a status */
static int parse_long(cli_ctx *ctx, const opt_sets *s, char **argv, int *i, int end, int npos)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	const cli_option *o = find_long(s, a, eq ? (size_t)(eq - a) : strlen(a));
	if (!o)
		return cli_usage_error(ctx->name, "unknown option '%s'", argv[*i]);
	const char *val = eq ? eq + 1 : NULL;
	if (val && !o->value)
		return cli_usage_error(ctx->name, "--%s takes no value", o->name);
	if (!val && takes_value(o)) {
		if (*i + 1 >= end)
			return cli_usage_error(ctx->name, "--%s needs a value (%s)", o->name, o->value);
		val = argv[++*i];
	}
	/* "--pages ADDR TARGET": the word after an optional value is the value
	 * when enough positionals are left without it */
	if (!val && o->value && *i + 1 < end && argv[*i + 1][0] != '-' &&
	    npos + count_positionals(s, argv, *i + 2, end) >= needed_positionals(ctx))
		val = argv[++*i];
	return apply(ctx, o, val);
}

/* "-abc" or "-oFILE" or "-o FILE" */
static int parse_short(cli_ctx *ctx, const opt_sets *s, char **argv, int *i, int end)
{
	for (const char *p = argv[*i] + 1; *p; p++) {
		const cli_option *o = find_short(s, *p);
		if (!o)
			return cli_usage_error(ctx->name, "unknown option '-%c'", *p);
		const char *val = NULL;
		if (takes_value(o)) {
			if (p[1])
				val = p + 1;
			else if (*i + 1 < end)
				val = argv[++*i];
			else
				return cli_usage_error(ctx->name, "-%c needs a value (%s)", *p, o->value);
		}
		int rc = apply(ctx, o, val);
		if (rc || val)
			return rc;
	}
	return 0;
}

/* TARGET and the count of the other positionals */
static int take_positionals(cli_ctx *ctx, int npos)
{
	const cli_command *m = ctx->mode;
	int taken = 0;
	if (m->needs & CLI_TARGET) {
		if (ctx->ta.prog) {
			if (!ctx->ta.prog[0])
				return cli_usage_error(ctx->name, "no PROGRAM after '--'");
		} else {
			if (npos < 1)
				return cli_usage_error(ctx->name, "no TARGET given");
			ctx->spec = ctx->pos_[taken++];
		}
		if ((ctx->ta.run_ms || ctx->ta.keep) && !ctx->ta.prog)
			return cli_usage_error(ctx->name, "--run and --keep go with '-- PROGRAM'");
	}
	ctx->argv = ctx->pos_ + taken;
	ctx->argc = npos - taken;
	if (ctx->argc < m->min_args) {
		if (m->args_error || !m->args)
			return cli_usage_error(ctx->name, "%s", m->args_error ? m->args_error : "too few arguments");
		return cli_usage_error(ctx->name, "no %.*s given", (int)strcspn(m->args, " ["), m->args);
	}
	if (m->max_args >= 0 && ctx->argc > m->max_args) {
		if (m->args_error)
			return cli_usage_error(ctx->name, "%s", m->args_error);
		if (m->max_args == 0 && (m->needs & CLI_TARGET))
			return cli_usage_error(ctx->name, ctx->ta.prog ? "a TARGET and '-- PROGRAM' cannot both be given"
								  : "one TARGET please");
		return cli_usage_error(ctx->name, "unexpected '%s'", ctx->argv[m->max_args]);
	}
	return 0;
}

int cli_parse_opts(cli_ctx *ctx, const cli_command *cmd, const cli_command *mode, int argc, char **argv)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->cmd = cmd;
	ctx->mode = mode ? mode : cmd;
	ctx->name = cmd->name;
	ctx->color = COLOR_AUTO;
	ctx->args = xcalloc(1, cmd->args_size ? cmd->args_size : 1);
	if (cmd->init)
		cmd->init(ctx->args);
	unsigned needs = ctx->mode->needs;
	ctx->open = (needs & (CLI_OPEN | CLI_MAP | CLI_SYMBOLS)) != 0;
	ctx->build = (needs & (CLI_MAP | CLI_SYMBOLS)) != 0;
	ctx->symbols = (needs & CLI_SYMBOLS) != 0;
	ctx->mo = ctx->mode->mo;
	ctx->pos_ = xcalloc((size_t)argc + 1, sizeof *ctx->pos_);

	opt_sets s = sets_of(cmd, ctx->mode);
	int end = argc, rc = 0;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			end = i;
			break;
		}
	/* after "--": the program to start, or (no TARGET) more positionals */
	if (end < argc && takes_target_opts(cmd, ctx->mode))
		ctx->ta.prog = argv + end + 1;
	for (int i = 1; i < end && !rc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1])
			ctx->pos_[ctx->npos_++] = argv[i];
		else if (a[1] == '-')
			rc = parse_long(ctx, &s, argv, &i, end, ctx->npos_);
		else
			rc = parse_short(ctx, &s, argv, &i, end);
	}
	if (!rc && end < argc && !ctx->ta.prog)
		for (int i = end + 1; i < argc; i++)
			ctx->pos_[ctx->npos_++] = argv[i];
	return rc;
}

/* a --sysroot or --solib-path directory that is not there finds nothing:
 * say so (the images would show as plain mappings) */
static void warn_dirs(const char *opt, const char *dirs)
{
	for (const char *p = dirs; p && *p;) {
		size_t l = strcspn(p, ":");
		char *d = xstrndup(p, l);
		struct stat st;
		if (*d && (stat(d, &st) < 0 || !S_ISDIR(st.st_mode)))
			fprintf(stderr, "vmatlas: warning: %s: %s is not a directory\n", opt, d);
		free(d);
		p += l + (p[l] == ':');
	}
}

int cli_parse(cli_ctx *ctx, const cli_command *cmd, const cli_command *mode, int argc, char **argv)
{
	int rc = cli_parse_opts(ctx, cmd, mode, argc, argv);
	if (rc || (rc = take_positionals(ctx, ctx->npos_)))
		return rc;
	if (ctx->sysroot || ctx->solib_path) {
		warn_dirs("--sysroot", ctx->sysroot);
		warn_dirs("--solib-path", ctx->solib_path);
		vm_target_set_file_search(ctx->sysroot, ctx->solib_path);
	}
	if (ctx->image_path) {
		warn_dirs("--image-path", ctx->image_path);
		vm_pe_image_path_set(ctx->image_path);
	}
	if (ctx->symbol_path) {
		warn_dirs("--symbol-path", ctx->symbol_path);
		vm_pdb_symbol_path_set(ctx->symbol_path);
	}
	return ctx->mode->check ? ctx->mode->check(ctx) : 0;
}

/* every address expression option given, evaluated on the map */
static int eval_exprs(cli_ctx *ctx)
{
	vm_expr_ctx ec = { ctx->m, ctx->t, ctx->sym };
	for (size_t i = 0; i < ctx->cmd->nopts; i++) {
		const cli_option *o = &ctx->cmd->opts[i];
		cli_expr *e = (cli_expr *)((char *)ctx->args + o->off);
		if (o->kind != CLI_EXPR || !e->text)
			continue;
		if (!ctx->m)
			return cli_error(EXIT_USAGE, "%s: --%s needs a target", ctx->name, o->name);
		int r = vm_expr_eval(&ec, e->text, &e->value);
		if (r < 0)
			return cli_error(r == -2 ? EXIT_USAGE : EXIT_RUNTIME, "%s: %s", ctx->name, vm_error());
	}
	return 0;
}

static int run(cli_ctx *ctx)
{
	if (ctx->open) {
		ctx->mo.freeze = ctx->freeze;
		ctx->mo.manual = ctx->manual.v;
		ctx->mo.nmanual = ctx->manual.n;
		if (!(ctx->t = cli_open_target(ctx->spec, &ctx->ta)))
			return cli_error(EXIT_RUNTIME, "%s", vm_error());
	}
	if (ctx->open && ctx->build && !(ctx->m = vm_map_build(ctx->t, &ctx->mo)))
		return cli_error(EXIT_RUNTIME, "%s", vm_error());
	if (ctx->m && ctx->symbols)
		ctx->sym = vm_symbolizer_new(ctx->m, ctx->t,
					     ctx->sym_flags | (ctx->no_demangle ? 0 : VM_SYM_DEMANGLE));
	int rc = eval_exprs(ctx);
	if (!rc)
		rc = ctx->mode->run(ctx);
	fflush(stdout);
	if (ctx->m && !rc) { /* an error is one line: no warnings after it */
		cli_print_warnings(ctx->m);
		if (!rc && ctx->m->incomplete && (ctx->mode->needs & CLI_STRICT))
			rc = cli_error(EXIT_RUNTIME, "the map is incomplete (see the warnings above)");
	}
	return rc;
}

void cli_ctx_free(cli_ctx *ctx)
{
	vm_symbolizer_free(ctx->sym);
	vm_map_free(ctx->m);
	vm_target_close(ctx->t);
	if (ctx->cmd->done)
		ctx->cmd->done(ctx->args);
	free(ctx->args);
	cli_manual_free(&ctx->manual);
	free(ctx->pos_);
	memset(ctx, 0, sizeof *ctx);
}

/* "start, next or list" */
static void mode_list(const cli_command *cmd, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < cmd->nmodes && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i == 0 ? "" : i + 1 == cmd->nmodes ? " or " : ", ",
					cmd->modes[i].name);
}

static int run_command(const cli_command *cmd, int argc, char **argv)
{
	const cli_command *mode = NULL;
	if (cmd->nmodes) {
		for (size_t i = 0; argc >= 2 && i < cmd->nmodes; i++)
			if (!strcmp(argv[1], cmd->modes[i].name))
				mode = &cmd->modes[i];
		if (!mode) {
			char list[128];
			if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
				return cli_help(cmd, stdout), 0;
			mode_list(cmd, list, sizeof list);
			return cli_usage_error(cmd->name, "%s please", list);
		}
		argc--;
		argv++;
	}
	cli_ctx ctx;
	int rc = cli_parse(&ctx, cmd, mode, argc, argv);
	if (rc < 0) {
		cli_help(cmd, stdout);
		rc = 0;
	} else if (rc == 0) {
		rc = run(&ctx);
	}
	cli_ctx_free(&ctx);
	return rc;
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		cli_help_top(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		if (argc < 3) {
			cli_help_top(stdout);
			return 0;
		}
		const cli_command *cmd = cli_command_find(argv[2]);
		if (!cmd)
			return cli_error(EXIT_USAGE, "help: unknown command '%s' (see 'vmatlas --help')", argv[2]);
		if (argc > 3)
			return cli_error(EXIT_USAGE, "help: one COMMAND please");
		cli_help(cmd, stdout);
		return 0;
	}
	if (!strcmp(name, "--dump-commands")) { /* hidden: for scripts/gen_docs.py */
		cli_dump_commands(stdout);
		return 0;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("vmatlas " VMATLAS_VERSION "\n");
		return 0;
	}
	const cli_command *cmd = cli_command_find(name);
	const char *why = cmd ? NULL : cli_command_absent(name);
	if (why)
		return cli_error(EXIT_RUNTIME, "%s is not in this build: %s", name, why);
	if (!cmd)
		return cli_error(EXIT_USAGE, "unknown command '%s' (see 'vmatlas --help')", name);
	vm_install_cleanup_handlers();
	return run_command(cmd, argc - 1, argv + 1);
}
