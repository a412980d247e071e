/* A very small unit test harness: CHECK macros, and suites of tests
 * listed in test_main.c. */
#ifndef VMATLAS_CHECK_H
#define VMATLAS_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct unit_test {
	const char *name;
	void (*fn)(void);
} unit_test;

void check_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define CHECK(c)                                                   \
	do {                                                       \
		if (!(c))                                          \
			check_fail(__FILE__, __LINE__, "%s", #c);  \
	} while (0)

#define CHECK_U64(a, b)                                                                    \
	do {                                                                               \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                           \
		if (a_ != b_)                                                              \
			check_fail(__FILE__, __LINE__, "%s == %s (0x%" PRIx64 " != 0x%" PRIx64 ")", \
				   #a, #b, a_, b_);                                        \
	} while (0)

#define CHECK_STR(a, b)                                                                     \
	do {                                                                                \
		const char *a_ = (a), *b_ = (b);                                            \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                      \
			check_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b, \
				   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                 \
	} while (0)

extern const unit_test proc_parse_tests[];
extern const unit_test json_tests[];
extern const unit_test util_tests[];
extern const unit_test elf_tests[];
extern const unit_test map_tests[];
extern const unit_test cli_tests[];
extern const unit_test layout_tests[];
extern const unit_test control_tests[];
extern const unit_test debug_tests[];
extern const unit_test target_tests[];
extern const unit_test sigframe_tests[];
extern const unit_test emul_tests[];

#endif
