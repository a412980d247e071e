/* The command table: every option of every command is accepted by the
 * parser and shown in its help; an optional value is told from TARGET. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "cli/cli.h"

/* values tried until one is taken: some options check theirs */
static const char *const samples[] = { "1", "auto", "heap", "raw", "a=0x1000", "de ad" };

static char *help_of(const cli_command *cmd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cli_help(cmd, f);
	fclose(f);
	return buf;
}

/* "--name" as a whole word in text */
static bool mentions(const char *text, const char *dashes, const char *name)
{
	size_t d = strlen(dashes), n = strlen(name);
	for (const char *p = text; (p = strstr(p, dashes)); p += d) {
		const char *e = p + d + n;
		if (!strncmp(p + d, name, n) && !(*e == '-' || (*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9')))
			return true;
	}
	return false;
}

static bool parses(const cli_command *cmd, const cli_command *mode, char **argv, int argc)
{
	cli_ctx ctx;
	/* a sample refused says why on stderr: not here */
	fflush(stderr);
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 2);
	int rc = cli_parse_opts(&ctx, cmd, mode, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(null);
	cli_ctx_free(&ctx);
	return rc == 0;
}

/* one option, long and short, with no value, or each sample until one is taken */
static bool accepted(const cli_command *cmd, const cli_command *mode, const cli_option *o, bool shrt)
{
	char name[64], word[96];
	char *argv[4] = { (char *)(mode ? mode->name : cmd->name), name, NULL, NULL };
	if (shrt)
		snprintf(name, sizeof name, "-%c", o->short_name);
	else
		snprintf(name, sizeof name, "--%s", o->name);
	if (!o->value || (o->flags & CLI_F_OPTIONAL)) {
		if (!parses(cmd, mode, argv, 2))
			return false;
		if (!o->value)
			return true;
	}
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		argv[2] = (char *)samples[i];
		if ((o->flags & CLI_F_OPTIONAL) ? false : parses(cmd, mode, argv, 3))
			return true;
		snprintf(word, sizeof word, "%s=%s", name, samples[i]);
		argv[1] = word;
		bool ok = !shrt && parses(cmd, mode, argv, 2);
		argv[1] = name;
		if (ok)
			return true;
	}
	return false;
}

static void check_command(const cli_command *cmd)
{
	const cli_option *sets[] = { cmd->opts, cli_base_opts,
				     (cmd->needs & (CLI_TARGET | CLI_TARGET_OPTS)) ? cli_target_opts : NULL };
	size_t ns[] = { cmd->nopts, cli_nbase_opts, cli_ntarget_opts };
	const cli_command *mode = cmd->nmodes ? &cmd->modes[0] : NULL;
	char *help = help_of(cmd);
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; sets[k] && i < ns[k]; i++) {
			const cli_option *o = &sets[k][i];
			if (o->kind == CLI_HEADING || o->kind == CLI_HELP)
				continue;
			if (!accepted(cmd, mode, o, false) || (o->short_name && !accepted(cmd, mode, o, true)))
				check_fail(__FILE__, __LINE__, "%s: --%s is not accepted", cmd->name, o->name);
			char sh[2] = { o->short_name, 0 };
			if (!mentions(help, "--", o->name) || (o->short_name && !mentions(help, "-", sh)))
				check_fail(__FILE__, __LINE__, "%s: --%s is not in the help", cmd->name, o->name);
		}
	CHECK(!strncmp(help, "usage: vmatlas ", 15));
	for (const char *l = help; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0))
		if (strcspn(l, "\n") > 80)
			check_fail(__FILE__, __LINE__, "%s: help line over 80 columns: %.40s...", cmd->name, l);
	if (cmd->needs & CLI_TARGET)
		CHECK(strstr(help, "core file") && strstr(help, "minidump") && strstr(help, "'self'"));
	free(help);
}

static void every_option_parses_and_is_documented(void)
{
	for (size_t i = 0; i < cli_ncommands; i++)
		check_command(cli_commands[i]);
	CHECK(cli_command_find("map") == cli_commands[0]);
	CHECK(cli_command_find("diff") && !cli_command_find("nope"));
}

/* parse a map command line: rc, and what --pages became */
static int parse_map(cli_ctx *ctx, const char *const *words)
{
	char *argv[16];
	int argc = 0;
	for (; words[argc]; argc++)
		argv[argc] = (char *)words[argc];
	argv[argc] = NULL;
	return cli_parse(ctx, cli_command_find("map"), NULL, argc, argv);
}

static void pages_value_or_target(void)
{
	cli_ctx c;
	const char *a[] = { "map", "--sysroot", "/nonexistent", "--pages", "0x1000", "self", NULL };
	CHECK(parse_map(&c, a) == 0 && c.spec && !strcmp(c.spec, "self") && c.mo.pages &&
	      c.mo.pages_addr == 0x1000 && !c.mo.pages_all);
	cli_ctx_free(&c);
	vm_target_set_file_search(NULL, NULL);
	const char *b[] = { "map", "--pages", "self", NULL };
	CHECK(parse_map(&c, b) == 0 && !strcmp(c.spec, "self") && c.mo.pages_all);
	cli_ctx_free(&c);
	const char *b2[] = { "map", "--sysroot", "/nonexistent", "--pages", "self", NULL };
	CHECK(parse_map(&c, b2) == 0 && c.spec && !strcmp(c.spec, "self") && c.mo.pages_all);
	cli_ctx_free(&c);
	vm_target_set_file_search(NULL, NULL);
	const char *d[] = { "map", "self", "--color", "never", "--pages", "4096", NULL };
	CHECK(parse_map(&c, d) == 0 && !strcmp(c.spec, "self") && c.mo.pages_addr == 4096);
	cli_ctx_free(&c);
	const char *e[] = { "map", "--pages", "0x2000", "--", "prog", NULL };
	CHECK(parse_map(&c, e) == 0 && c.ta.prog && c.mo.pages_addr == 0x2000 && !c.spec);
	cli_ctx_free(&c);
	const char *f[] = { "map", "--pages", "--", "prog", NULL };
	CHECK(parse_map(&c, f) == 0 && c.ta.prog && c.mo.pages_all);
	cli_ctx_free(&c);
	const char *g[] = { "map", "--pages=0x3000", "--json", "self", NULL };
	CHECK(parse_map(&c, g) == 0 && c.json && c.mo.pages_addr == 0x3000);
	cli_ctx_free(&c);
	const char *h[] = { "map", "--no-st", "-c", "self", NULL }; /* a unique prefix, as getopt took */
	CHECK(parse_map(&c, h) == 0 && c.mo.no_stats);
	cli_ctx_free(&c);
	const char *i[] = { "map", "--help", "self", NULL };
	CHECK(parse_map(&c, i) == -1 && c.help);
	cli_ctx_free(&c);
}

const unit_test cli_tests[] = {
	{ "cli: every option parses and is documented", every_option_parses_and_is_documented },
	{ "cli: --pages takes ADDR only when TARGET is left", pages_value_or_target },
	{ NULL, NULL },
};
