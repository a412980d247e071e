/* 'vmatlas --dump-commands' (hidden): the command table as JSON. The man
 * page, the shell completions and the option tests are made from it
 * (scripts/gen_docs.py), so a command added to the table is documented
 * and completed without another edit. */
#include "cli.h"

#include "base/json.h"
#include "base/util.h"
#include "vmatlas/layout.h"

#include <stdlib.h>
#include <string.h>

const char cli_choices_structs[] = "(every structure)";

/* "a b c" as ["a", "b", "c"]; the structures from the layout catalogue */
static void choices(json_writer *w, const char *c)
{
	json_key(w, "choices");
	if (!c) {
		json_null(w);
		return;
	}
	json_arr_begin(w);
	if (c == cli_choices_structs) {
		json_str(w, "auxv");
		for (size_t i = 0; vm_layout_name(i); i++)
			json_str(w, vm_layout_name(i));
	} else {
		for (const char *p = c; *p;) {
			size_t l = strcspn(p, " ");
			if (l)
				json_strn(w, p, l);
			p += l + (p[l] == ' ');
		}
	}
	json_arr_end(w);
}

/* one table of options; an entry with no help shares the one above's */
static void options(json_writer *w, const char *group, const cli_option *v, size_t n)
{
	const char *heading = NULL, *help = NULL;
	for (size_t i = 0; i < n; i++) {
		const cli_option *o = &v[i];
		if (o->kind == CLI_HEADING) {
			heading = o->help;
			continue;
		}
		if (o->help)
			help = o->help;
		json_obj_begin(w);
		json_kstr(w, "name", o->name);
		char s[2] = { o->short_name, 0 };
		json_kstr(w, "short", o->short_name ? s : NULL);
		json_kstr(w, "value", o->value);
		json_kbool(w, "value_optional", (o->flags & CLI_F_OPTIONAL) != 0);
		json_kbool(w, "repeatable", (o->flags & CLI_F_REPEAT) != 0);
		json_kstr(w, "help", help);
		json_kbool(w, "shares_help", o->help == NULL);
		json_kstr(w, "heading", heading);
		json_kstr(w, "group", group);
		choices(w, o->choices);
		json_obj_end(w);
	}
}

/* the names a mode accepts, as the driver looks them up (driver.c) */
static void accepted(json_writer *w, const cli_command *cmd, const cli_command *mode)
{
	json_key(w, "accepts");
	json_arr_begin(w);
	const cli_option *sets[3] = { cmd->opts, cli_base_opts, cli_target_opts };
	size_t ns[3] = { cmd->nopts, cli_nbase_opts, cli_ntarget_opts };
	bool target = ((cmd->needs | mode->needs) & (CLI_TARGET | CLI_TARGET_OPTS)) != 0;
	for (int k = 0; k < (target ? 3 : 2); k++)
		for (size_t i = 0; i < ns[k]; i++)
			if (sets[k][i].name)
				json_str(w, sets[k][i].name);
	json_arr_end(w);
}

static void lines(json_writer *w, const char *key, const char *text)
{
	json_key(w, key);
	json_arr_begin(w);
	for (const char *p = text; p && *p;) {
		size_t l = strcspn(p, "\n");
		json_strn(w, p, l);
		p += l + (p[l] == '\n');
	}
	json_arr_end(w);
}

void cli_dump_commands(FILE *f)
{
	json_writer *w = xmalloc(sizeof *w);
	json_init(w, f, true);
	json_obj_begin(w);
	json_kstr(w, "version", VMATLAS_VERSION);
	json_kstr(w, "target", cli_target_text);
	json_key(w, "options");
	json_obj_begin(w);
	json_key(w, "target");
	json_arr_begin(w);
	options(w, "target", cli_target_opts, cli_ntarget_opts);
	json_arr_end(w);
	json_key(w, "base");
	json_arr_begin(w);
	options(w, "base", cli_base_opts, cli_nbase_opts);
	json_arr_end(w);
	json_obj_end(w);
	json_key(w, "commands");
	json_arr_begin(w);
	for (size_t c = 0; c < cli_ncommands; c++) {
		const cli_command *cmd = cli_commands[c];
		unsigned needs = cmd->needs;
		for (size_t i = 0; i < cmd->nmodes; i++)
			needs |= cmd->modes[i].needs;
		json_obj_begin(w);
		json_kstr(w, "name", cmd->name);
		json_kstr(w, "summary", cmd->summary);
		lines(w, "usage", cmd->usage);
		json_kstr(w, "about", cmd->about);
		json_kstr(w, "notes", cmd->notes);
		json_kbool(w, "takes_target", (needs & CLI_TARGET) != 0);
		json_kstr(w, "args", cmd->args);
		json_key(w, "options");
		json_arr_begin(w);
		options(w, "command", cmd->opts, cmd->nopts);
		json_arr_end(w);
		json_key(w, "modes");
		json_arr_begin(w);
		for (size_t i = 0; i < cmd->nmodes; i++) {
			const cli_command *m = &cmd->modes[i];
			json_obj_begin(w);
			json_kstr(w, "name", m->name);
			json_kbool(w, "takes_target", (m->needs & CLI_TARGET) != 0);
			json_kstr(w, "args", m->args);
			accepted(w, cmd, m);
			json_obj_end(w);
		}
		json_arr_end(w);
		if (!cmd->nmodes)
			accepted(w, cmd, cmd);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
	json_done(w);
	free(w);
}
