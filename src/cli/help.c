/* The help of each command and of vmatlas itself, made from the command
 * table: what is accepted is what is documented. */
#include "cli.h"

#include <string.h>

#define HELP_COL 20 /* where the options' descriptions start */

const char cli_target_text[] =
	"TARGET is a process ID, 'self', an ELF core file or a Windows minidump\n"
	"(a file is told by its first bytes), or '-- PROGRAM [ARGS...]': a program\n"
	"that vmatlas starts and reads at its entry point (see --run, --keep).\n";

/* the same for every command (the man page's EXIT STATUS says more) */
static const char cli_exit_text[] =
	"Exit status: 0 done; 1 a runtime error (the target cannot be read, or it has\n"
	"no such module, symbol, thread, arena or memory); 2 a usage error. Errors\n"
	"are one line on stderr; output cut short by its reader (| head) is not one.\n";

/* "-o, --output FILE", with the names of the entries that share its line,
 * wrapped before 78 columns; returns the last entry taken */
static size_t left_column(const cli_option *v, size_t n, size_t i, char *buf, size_t cap)
{
	const cli_option *o = &v[i];
	size_t len = 0, line = 0, k = i;
	buf[0] = 0;
	if (o->short_name)
		len += (size_t)snprintf(buf + len, cap - len, "-%c, ", o->short_name);
	for (;;) {
		size_t want = strlen(v[k].name) + 4;
		if (k != i && len - line + want > 74) {
			len += (size_t)snprintf(buf + len, cap - len, ",\n  ");
			line = len;
		} else if (k != i) {
			len += (size_t)snprintf(buf + len, cap - len, ", ");
		}
		len += (size_t)snprintf(buf + len, cap - len, "--%s", v[k].name);
		if (len >= cap || k + 1 >= n || v[k + 1].help || v[k + 1].kind == CLI_HEADING)
			break;
		k++;
	}
	if (o->value && len < cap)
		snprintf(buf + len, cap - len, (o->flags & CLI_F_OPTIONAL) ? " [%s]" : " %s", o->value);
	return k;
}

static void print_options(const cli_option *v, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++) {
		const cli_option *o = &v[i];
		if (o->kind == CLI_HEADING) {
			fprintf(f, "\n%s\n", o->help);
			continue;
		}
		char left[512];
		size_t last = left_column(v, n, i, left, sizeof left);
		const char *h = o->help ? o->help : "";
		if (strlen(left) + 2 >= HELP_COL || strchr(left, '\n'))
			fprintf(f, "  %s\n%*s", left, HELP_COL, "");
		else
			fprintf(f, "  %-*s", HELP_COL - 2, left);
		for (const char *p = h;;) {
			size_t l = strcspn(p, "\n");
			fprintf(f, "%.*s", (int)l, p);
			if (!p[l])
				break;
			p += l + 1;
			fprintf(f, "\n%*s", HELP_COL, "");
		}
		fprintf(f, "%s\n", (o->flags & CLI_F_REPEAT) ? " (repeatable)" : "");
		i = last;
	}
}

static bool takes_target(const cli_command *cmd)
{
	unsigned needs = cmd->needs;
	for (size_t i = 0; i < cmd->nmodes; i++)
		needs |= cmd->modes[i].needs;
	return (needs & CLI_TARGET) != 0;
}

void cli_help(const cli_command *cmd, FILE *f)
{
	const char *u = cmd->usage;
	for (int line = 0; *u; line++) {
		size_t l = strcspn(u, "\n");
		fprintf(f, "%s vmatlas %s %.*s\n", line ? "      " : "usage:", cmd->name, (int)l, u);
		u += l + (u[l] == '\n');
	}
	fprintf(f, "\n%s", cmd->about);
	if (takes_target(cmd))
		fprintf(f, "\n%s", cli_target_text);
	if (cmd->nopts) {
		if (cmd->opts[0].kind != CLI_HEADING)
			fprintf(f, "\nOptions:\n");
		print_options(cmd->opts, cmd->nopts, f);
	}
	fprintf(f, "\nCommon options:\n");
	if (takes_target(cmd) || (cmd->needs & CLI_TARGET_OPTS))
		print_options(cli_target_opts, cli_ntarget_opts, f);
	print_options(cli_base_opts, cli_nbase_opts, f);
	if (cmd->notes)
		fprintf(f, "\n%s", cmd->notes);
	fprintf(f, "\n%s", cli_exit_text);
}

void cli_help_top(FILE *f)
{
	fprintf(f, "usage: vmatlas COMMAND [OPTIONS] TARGET\n\n"
		   "What is in a process's address space, and what it is doing there.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < cli_ncommands; i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
	fprintf(f, "\n%s"
		   "diff also compares snapshot files; image reads PE, COFF and ELF files.\n\n"
		   "'vmatlas help COMMAND' or 'vmatlas COMMAND --help' tells more; 'man vmatlas'\n"
		   "tells all. 'vmatlas --version' prints the version (" VMATLAS_VERSION ").\n",
		cli_target_text);
}
