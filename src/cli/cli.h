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
int cmd_modules(int argc, char **argv);
int cmd_sym(int argc, char **argv);
int cmd_exports(int argc, char **argv);
int cmd_threads(int argc, char **argv);
int cmd_env(int argc, char **argv);
int cmd_heap(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_whatis(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_track(int argc, char **argv);
int cmd_image(int argc, char **argv);

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

/* --add-module NAME_OR_PATH=BASE[,SIZE], repeatable */
typedef struct cli_manual {
	vm_manual_module *v;
	size_t n, cap;
} cli_manual;
bool cli_parse_add_module(const char *arg, cli_manual *out);
void cli_manual_free(cli_manual *m);

/* an address argument: hex (0x...) or decimal */
bool cli_parse_addr(const char *s, uint64_t *out);

/* open the target and build its map with these options; prints the
 * error and returns NULL on failure (*status set) */
vm_map *cli_build_map(const char *spec, const cli_target_args *ta, const vm_map_options *mo,
		      vm_target **t, int *status);
void cli_print_warnings(const vm_map *m);

/* "holes": [{addr, size}], the ranges a search or dump could not read */
struct json_writer;
struct vm_search_hole;
void cli_json_holes(struct json_writer *w, const struct vm_search_hole *h, size_t n);

/* colour */
typedef enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } cli_color_mode;

/* ---- options every target command takes ---- */

enum { OPT_JSON = 256, OPT_ADD_MODULE, OPT_RUN, OPT_KEEP, OPT_COLOR, OPT_FREEZE, OPT_SYSROOT,
       OPT_SOLIB_PATH,
       OPT_COMMAND = 300 /* a command's own options from here */ };

#define CLI_COMMON_OPTIONS                                              \
	{ "json", no_argument, NULL, OPT_JSON },                        \
	{ "add-module", required_argument, NULL, OPT_ADD_MODULE },      \
	{ "run", required_argument, NULL, OPT_RUN },                    \
	{ "keep", no_argument, NULL, OPT_KEEP },                        \
	{ "color", required_argument, NULL, OPT_COLOR },                \
	{ "freeze", no_argument, NULL, OPT_FREEZE },                    \
	{ "sysroot", required_argument, NULL, OPT_SYSROOT },            \
	{ "solib-path", required_argument, NULL, OPT_SOLIB_PATH },      \
	{ "help", no_argument, NULL, 'h' }

#define CLI_COMMON_HELP                                                                  \
	"  --json            machine-readable output (see docs/json.md)\n"                    \
	"  --add-module NAME_OR_PATH=BASE[,SIZE]\n"                                          \
	"                    register a module by hand (repeatable)\n"                        \
	"  --freeze          stop all threads while reading (always resumed)\n"               \
	"  --run MS          with '--': let the program run MS ms first\n"                   \
	"  --keep            with '--': leave the program running on exit\n"                 \
	"  --color WHEN      auto (default), always, never\n"                            \
	"  --sysroot DIR     core files: look for the files they map under DIR\n"          \
	"  --solib-path DIRS core files: look in DIRS (':'-separated) by file name\n"

typedef struct cli_common {
	const char *cmd;
	bool json;
	bool freeze;
	cli_color_mode color;
	cli_target_args ta;
	cli_manual manual;
	const char *spec; /* the TARGET, when not "--" */
	const char *sysroot, *solib_path;
} cli_common;

/* argv split at "--" and getopt reset; returns the new argc */
int cli_common_begin(cli_common *cc, const char *cmd, int argc, char **argv);
/* 1: handled; 0: not a common option; -1: bad value (message printed) */
int cli_common_option(cli_common *cc, int c, const char *arg);
/* take TARGET from the positionals (leaving *optind after it); 0 or a status */
int cli_common_target(cli_common *cc, int argc, char **argv);
/* build the map: 0, or the status already reported */
int cli_common_map(cli_common *cc, vm_map_options *mo, vm_target **t, vm_map **m);
void cli_common_end(cli_common *cc);
bool cli_use_color(cli_color_mode mode, FILE *f);
bool cli_parse_color(const char *s, cli_color_mode *out);

#endif
