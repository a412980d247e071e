/* vmatlas: the command-line front end. One file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
	{ "map", cmd_map, "the annotated memory map of a process" },
	{ "modules", cmd_modules, "loaded images, from the loader's list and the region scan" },
	{ "sym", cmd_sym, "symbols for addresses: module!symbol+offset, file:line" },
	{ "exports", cmd_exports, "every exported or global symbol of every module" },
	{ "threads", cmd_threads, "threads: registers, stacks, start routines, call stacks" },
	{ "view", cmd_view, "memory as bytes, words, strings, pointers or structures" },
	{ "search", cmd_search, "find bytes, strings, numbers or pointers in memory" },
	{ "dump", cmd_dump, "memory to a file, raw or as ELF" },
	{ "snapshot", cmd_snapshot, "save a map (and page hashes) to a file" },
	{ "capture", cmd_capture, "an ELF core of a live process, with its map inside" },
	{ "diff", cmd_diff, "what changed between two snapshots, or a snapshot and now" },
	{ "scan", cmd_scan, "narrow a changing value down to its address (start, next, list)" },
	{ "track", cmd_track, "which pages a process writes between two moments (probe, start, show, stop)" },
	{ "image", cmd_image, "dump a PE, COFF, ELF file or archive: headers, sections, imports, exports ..." },
	{ "whatis", cmd_whatis, "everything known about an address" },
	{ "heap", cmd_heap, "glibc malloc: arenas, heaps, chunks, free lists" },
	{ "env", cmd_env, "argv, environment (initial and live), auxv, loader list, vdso" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmatlas COMMAND [OPTIONS] TARGET\n\n"
		   "What is in a process's address space, and what it is doing there.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nTARGET is a PID, 'self', or '-- PROGRAM ARGS' (started by vmatlas).\n"
		   "'vmatlas COMMAND --help' tells more. Version " VMATLAS_VERSION ".\n");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("vmatlas " VMATLAS_VERSION "\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(cmd, commands[i].name) == 0) {
			vm_install_cleanup_handlers();
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "vmatlas: unknown command '%s' (see 'vmatlas --help')\n", cmd);
	return EXIT_USAGE;
}
