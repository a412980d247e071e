/* Every command, in the order 'vmatlas --help' lists them. A command is
 * one file holding its cli_command; it is added here. The Windows build
 * (make windows) has no write tracking: the Makefile leaves its file out,
 * and this table with it (and the debugger where Zydis could not be
 * built for it). */
#include "cli.h"

#include <string.h>

extern const cli_command cli_cmd_map, cli_cmd_modules, cli_cmd_sym, cli_cmd_exports, cli_cmd_threads,
	cli_cmd_view, cli_cmd_search, cli_cmd_dump, cli_cmd_snapshot, cli_cmd_capture, cli_cmd_diff,
	cli_cmd_scan, cli_cmd_track, cli_cmd_image, cli_cmd_whatis, cli_cmd_heap, cli_cmd_env,
	cli_cmd_debug, cli_cmd_report, cli_cmd_tui, cli_cmd_ps;

const cli_command *const cli_commands[] = {
	&cli_cmd_map, &cli_cmd_modules, &cli_cmd_sym, &cli_cmd_exports, &cli_cmd_threads, &cli_cmd_view,
	&cli_cmd_search, &cli_cmd_dump, &cli_cmd_snapshot, &cli_cmd_capture, &cli_cmd_diff, &cli_cmd_scan,
#ifndef _WIN32
	&cli_cmd_track,
#endif
	&cli_cmd_image, &cli_cmd_whatis, &cli_cmd_heap, &cli_cmd_env,
#ifndef VMATLAS_NO_DEBUGGER
	&cli_cmd_debug,
#endif
	&cli_cmd_report, &cli_cmd_tui,
	&cli_cmd_ps,
};
const size_t cli_ncommands = sizeof cli_commands / sizeof cli_commands[0];

/* why a command of the other system is not here (NULL: none such) */
const char *cli_command_absent(const char *name)
{
#ifdef VMATLAS_NO_DEBUGGER
	if (!strcmp(name, "debug"))
		return "the disassembler (Zydis) could not be built for it (scripts/win_deps.sh needs root and "
		       "the network once); the debugger decodes instructions with it";
#endif
#ifdef _WIN32
	if (!strcmp(name, "track"))
		return "Windows keeps no record of the pages another process writes (Linux has soft-dirty bits "
		       "and userfaultfd): compare two snapshots instead ('snapshot', then 'diff')";
#else
	(void)name;
#endif
	return NULL;
}

const cli_command *cli_command_find(const char *name)
{
	for (size_t i = 0; i < cli_ncommands; i++)
		if (!strcmp(cli_commands[i]->name, name))
			return cli_commands[i];
	return NULL;
}
