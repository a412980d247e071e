/* Shared pieces of the vmatlas command line. */
#ifndef VMATLAS_CLI_H
#define VMATLAS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "vmatlas/vmatlas.h"

/* exit statuses */
#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

typedef struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} cli_command;

int cmd_map(int argc, char **argv);

/* "vmatlas: <msg>" on stderr, returns status */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The TARGET of a command: PID, "self", or "-- PROGRAM ARGS". argv is
 * split at the first "--" before option parsing; *prog gets what follows. */
typedef struct cli_target_args {
	char **prog;          /* NULL when no "--" */
	unsigned run_ms;
	bool keep;
} cli_target_args;

/* Split argv at "--": returns the count before it. */
int cli_split_dashdash(int argc, char **argv, char ***prog);
vm_target *cli_open_target(const char *spec, const cli_target_args *ta);

/* colour */
typedef enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } cli_color_mode;
bool cli_use_color(cli_color_mode mode, FILE *f);
bool cli_parse_color(const char *s, cli_color_mode *out);

#endif
