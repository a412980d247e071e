/* Runs every unit test suite; prints "N passed, N failed". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static int failed_checks;

void check_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "    %s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failed_checks++;
}

int disasm_check(const char *path);

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--disasm-check"))
		return disasm_check(argv[2]);
	const unit_test *suites[] = { util_tests, json_tests, proc_parse_tests, elf_tests, map_tests, cli_tests, layout_tests,
				      target_tests, control_tests, sigframe_tests, debug_tests, emul_tests };
	const char *only = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;
	for (size_t s = 0; s < sizeof suites / sizeof suites[0]; s++) {
		for (const unit_test *t = suites[s]; t->name; t++) {
			if (only && !strstr(t->name, only))
				continue;
			int before = failed_checks;
			t->fn();
			if (failed_checks == before) {
				printf("ok   %s\n", t->name);
				passed++;
			} else {
				printf("FAIL %s\n", t->name);
				failed++;
			}
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
