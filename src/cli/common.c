/* Helpers every subcommand uses: errors, targets, colour. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_error(int status, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("vmatlas: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vmatlas %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vmatlas %s --help')\n", cmd);
	return EXIT_USAGE;
}

int cli_split_dashdash(int argc, char **argv, char ***prog)
{
	*prog = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			*prog = argv + i + 1;
			argv[i] = NULL;
			return i;
		}
	}
	return argc;
}

vm_target *cli_open_target(const char *spec, const cli_target_args *ta)
{
	if (ta->prog) {
		vm_spawn_options so = { .run_ms = ta->run_ms, .keep = ta->keep, .quiet = false };
		return vm_target_spawn(ta->prog, &so);
	}
	return vm_target_open(spec);
}

bool cli_parse_color(const char *s, cli_color_mode *out)
{
	if (!strcmp(s, "auto"))
		*out = COLOR_AUTO;
	else if (!strcmp(s, "always"))
		*out = COLOR_ALWAYS;
	else if (!strcmp(s, "never"))
		*out = COLOR_NEVER;
	else
		return false;
	return true;
}

bool cli_use_color(cli_color_mode mode, FILE *f)
{
	if (mode != COLOR_AUTO)
		return mode == COLOR_ALWAYS;
	const char *term = getenv("TERM");
	return isatty(fileno(f)) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}
