/* The vmatlas command line: a table of commands, each carrying its options,
 * and one driver (driver.c) that parses argv from the table, prints the
 * help from it, opens the target, builds the map and reports errors. */
#ifndef VMATLAS_CLI_H
#define VMATLAS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "vmatlas/vmatlas.h"

/* exit statuses */
#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

typedef struct cli_ctx cli_ctx;
typedef struct cli_option cli_option;

/* ---- options ---- */

typedef enum cli_opt_kind {
	CLI_HEADING, /* not an option: a heading in the help (help is its text) */
	CLI_FLAG,    /* bool, set to true */
	CLI_STRING,  /* const char *, the value as given */
	CLI_U64,     /* uint64_t, parsed (0x... or decimal) within [min, max] */
	CLI_EXPR,    /* cli_expr: an address expression, evaluated on the map */
	CLI_CALL,    /* call(ctx, option, value) */
	CLI_HELP,    /* --help */
} cli_opt_kind;

enum {
	CLI_F_CTX = 1u << 0,      /* the destination is in cli_ctx, not the command's args */
	CLI_F_REPEAT = 1u << 1,   /* may be given more than once (each one counts) */
	CLI_F_OPTIONAL = 1u << 2, /* CLI_CALL: the value may be left out (value NULL) */
};

/* an address expression option: the text, and its value once the map is
 * built (the driver evaluates every expression option that was given) */
typedef struct cli_expr {
	const char *text; /* NULL when not given */
	uint64_t value;
} cli_expr;

struct cli_option {
	const char *name;  /* long name without "--"; NULL for a heading */
	char short_name;   /* 0: none */
	const char *value; /* the value's name in the help; NULL: takes none */
	const char *help;  /* lines split by '\n'; NULL: shares the line above */
	cli_opt_kind kind;
	unsigned flags;
	size_t off; /* where the value goes: in the command's args (or cli_ctx) */
	uint64_t min, max;
	/* CLI_CALL: 0, or the status of the usage error it printed */
	int (*call)(cli_ctx *ctx, const cli_option *o, const char *value);
	/* the values it takes, space-separated, for the completions and the
	 * man page (cli_choices_structs: every --as structure); NULL: any */
	const char *choices;
};

/* &((T *)0)->f compared with (P *)0 fails to compile when f is not a P:
 * the table cannot write a value of the wrong type */
#define CLI_OFF_(T, f, P) (offsetof(T, f) + 0 * sizeof(&((T *)0)->f == (P *)0))

#define CLI_OPT_FLAG(L, S, T, f, H) \
	{ .name = L, .short_name = S, .help = H, .kind = CLI_FLAG, .off = CLI_OFF_(T, f, bool) }
#define CLI_OPT_STRING(L, S, V, T, f, H) \
	{ .name = L, .short_name = S, .value = V, .help = H, .kind = CLI_STRING, \
	  .off = CLI_OFF_(T, f, const char *) }
#define CLI_OPT_U64(L, V, T, f, LO, HI, H) \
	{ .name = L, .value = V, .help = H, .kind = CLI_U64, .off = CLI_OFF_(T, f, uint64_t), \
	  .min = LO, .max = HI }
#define CLI_OPT_EXPR(L, V, T, f, H) \
	{ .name = L, .value = V, .help = H, .kind = CLI_EXPR, .off = CLI_OFF_(T, f, cli_expr) }
#define CLI_OPT_CALL(L, V, FN, H) { .name = L, .value = V, .help = H, .kind = CLI_CALL, .call = FN }
/* -o FILE may replace a file another user owns */
int cli_opt_force(cli_ctx *ctx, const cli_option *o, const char *v);
#define CLI_OPT_FORCE CLI_OPT_CALL("force", NULL, cli_opt_force, "replace FILE even when another user owns it")
/* --color WHEN, for the commands that color their output */
int cli_opt_color(cli_ctx *ctx, const cli_option *o, const char *v);
#define CLI_OPT_COLOR { .name = "color", .value = "WHEN", .help = "auto (default), always, never", .kind = CLI_CALL, \
			.call = cli_opt_color, .choices = "auto always never" }
#define CLI_OPT_HEADING(H) { .help = H, .kind = CLI_HEADING }

/* ---- commands ---- */

enum {
	CLI_TARGET = 1u << 0,      /* takes a TARGET (or '-- PROGRAM ARGS') and the target options */
	CLI_TARGET_OPTS = 1u << 1, /* takes the target options (its modes may take a TARGET) */
	CLI_OPEN = 1u << 2,        /* the driver opens the target */
	CLI_MAP = 1u << 3,         /* ... and builds its map (warnings printed after the run) */
	CLI_SYMBOLS = 1u << 4,     /* ... and a symbolizer for it */
	CLI_STRICT = 1u << 5,      /* an incomplete map is an error */
};

typedef struct cli_command {
	const char *name;
	const char *summary; /* one line for 'vmatlas --help' */
	const char *usage;   /* what follows "vmatlas NAME ", one line per form */
	const char *about;   /* the help's description */
	const char *notes;   /* after the options; may be NULL */
	unsigned needs;
	const char *args;       /* the positionals after TARGET, for errors ("ADDR") */
	const char *args_error; /* the error for a wrong count of them, if not the usual */
	int min_args, max_args; /* max -1: any number */
	vm_map_options mo;      /* what the map is built with */
	const cli_option *opts;
	size_t nopts;
	size_t args_size;                /* the command's own options go in a struct this big */
	void (*init)(void *args);        /* defaults, when not all zero */
	int (*check)(cli_ctx *ctx);      /* before the target is opened: 0 or a usage status */
	int (*run)(cli_ctx *ctx);        /* the command: 0 or a status */
	void (*done)(void *args);        /* frees what the options allocated */
	const struct cli_command *modes; /* "scan start": the word after NAME picks one */
	size_t nmodes;
} cli_command;

#define CLI_OPTS(a) .opts = a, .nopts = sizeof(a) / sizeof((a)[0])
#define CLI_ARGS(T) .args_size = sizeof(T)

/* every command, in the order 'vmatlas --help' lists them (commands.c) */
extern const cli_command *const cli_commands[];
extern const size_t cli_ncommands;
const cli_command *cli_command_find(const char *name);
const char *cli_command_absent(const char *name);

/* ---- what a running command gets ---- */

typedef enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } cli_color_mode;

/* The TARGET of a command: PID, "self", a file, or "-- PROGRAM ARGS". */
typedef struct cli_target_args {
	char **prog; /* NULL when no "--" */
	unsigned run_ms;
	bool keep;
} cli_target_args;

/* --add-module NAME_OR_PATH=BASE[,SIZE], repeatable */
typedef struct cli_manual {
	vm_manual_module *v;
	size_t n, cap;
} cli_manual;

struct cli_ctx {
	const cli_command *cmd;  /* as named on the command line */
	const cli_command *mode; /* the mode of it, or cmd itself */
	const char *name;        /* for messages: "map" */
	void *args;              /* the command's options */
	int argc;                /* the positionals after TARGET */
	char **argv;
	/* the common options */
	bool json, freeze, help, no_demangle;
	cli_color_mode color;
	cli_target_args ta;
	cli_manual manual;
	const char *sysroot, *solib_path;
	const char *image_path; /* --image-path: PE images on disk */
	const char *symbol_path; /* --symbol-path: PDB files */
	const char *spec; /* the TARGET, when not "--" */
	/* what the driver opened for the command; check() may change these */
	bool open, build, symbols;
	unsigned sym_flags;
	vm_map_options mo;
	vm_target *t;
	vm_map *m;
	vm_symbolizer *sym;
	char **pos_; /* the driver's: every positional */
	int npos_;
};

/* the whole command line: what main() returns */
int cli_main(int argc, char **argv);
/* Parse argv (argv[0] the command or mode word) into a fresh ctx: 0, -1
 * for --help (ctx->help), or a usage status, already printed. */
int cli_parse(cli_ctx *ctx, const cli_command *cmd, const cli_command *mode, int argc, char **argv);
/* only the options (the first step of cli_parse): 0, -1 or a status */
int cli_parse_opts(cli_ctx *ctx, const cli_command *cmd, const cli_command *mode, int argc, char **argv);
void cli_ctx_free(cli_ctx *ctx);
/* the help of a command, made from its table */
void cli_help(const cli_command *cmd, FILE *f);
void cli_help_top(FILE *f);
/* what TARGET may be, as the help says it */
extern const char cli_target_text[];
/* the value of a choices field that stands for every structure --as knows */
extern const char cli_choices_structs[];
/* 'vmatlas --dump-commands': the whole table as JSON, what the man page
 * and the shell completions are generated from (scripts/gen_docs.py) */
void cli_dump_commands(FILE *f);
/* the options every command takes, and those every TARGET command takes */
extern const cli_option cli_base_opts[], cli_target_opts[];
extern const size_t cli_nbase_opts, cli_ntarget_opts;

/* ---- helpers ---- */

/* "vmatlas: <msg>" on stderr, returns status */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

vm_target *cli_open_target(const char *spec, const cli_target_args *ta);
bool cli_parse_add_module(const char *arg, cli_manual *out);
void cli_manual_free(cli_manual *m);

/* an address argument: hex (0x...) or decimal */
bool cli_parse_addr(const char *s, uint64_t *out);
void cli_print_warnings(const vm_map *m);
/* "vmatlas: warning: ..." on stderr, control characters escaped */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "holes": [{addr, size}], the ranges a search or dump could not read */
struct json_writer;
struct vm_search_hole;
void cli_json_holes(struct json_writer *w, const struct vm_search_hole *h, size_t n);

bool cli_use_color(cli_color_mode mode, FILE *f);
bool cli_parse_color(const char *s, cli_color_mode *out);

#endif
