#include <stdlib.h>

#include "check.h"
#include "base/format.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "vmatlas/error.h"

static void parse_numbers(void)
{
	uint64_t v;
	CHECK(parse_u64("0", &v) && v == 0);
	CHECK(parse_u64("1234", &v) && v == 1234);
	CHECK(parse_u64("0x7fff0000", &v) && v == 0x7fff0000);
	CHECK(parse_u64("0XFFFFFFFFFFFFFFFF", &v) && v == UINT64_MAX);
	CHECK(parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
	CHECK(parse_u64("0x0000000000000000001", &v) && v == 1);
	CHECK(!parse_u64("18446744073709551616", &v));
	CHECK(!parse_u64("0x10000000000000000", &v));
	CHECK(!parse_u64("", &v));
	CHECK(!parse_u64("0x", &v));
	CHECK(!parse_u64("12a", &v));
	CHECK(!parse_u64("-1", &v));
	CHECK(!parse_u64(NULL, &v));
}

static void sizes(void)
{
	char b[16];
	CHECK_STR(fmt_size(0, b, sizeof b), "0 B");
	CHECK_STR(fmt_size(1023, b, sizeof b), "1023 B");
	CHECK_STR(fmt_size(4096, b, sizeof b), "4.0 K");
	CHECK_STR(fmt_size(135168, b, sizeof b), "132 K");
	CHECK_STR(fmt_size(1572864, b, sizeof b), "1.5 M");
	CHECK_STR(fmt_size(64ull << 20, b, sizeof b), "64 M");
	CHECK_STR(fmt_size(UINT64_MAX, b, sizeof b), "16 E");
}

static void strbufs(void)
{
	strbuf sb = STRBUF_INIT;
	CHECK_STR(sb_str(&sb), "");
	for (int i = 0; i < 1000; i++)
		sb_printf(&sb, "%d,", i);
	CHECK(sb.len == strlen(sb.buf));
	CHECK(strncmp(sb.buf, "0,1,2,", 6) == 0);
	char *s = sb_detach(&sb);
	CHECK(sb.buf == NULL && sb.len == 0);
	free(s);
}

static void ranges(void)
{
	CHECK(ranges_overlap(0, 10, 9, 1));
	CHECK(!ranges_overlap(0, 10, 10, 1));
	CHECK(!ranges_overlap(0, 0, 0, 10));
	CHECK(ranges_overlap(UINT64_MAX - 10, 11, UINT64_MAX, 1));
	CHECK(range_contains(100, 10, 109));
	CHECK(!range_contains(100, 10, 110));
	CHECK(!range_contains(100, 10, 99));
	uint64_t r;
	CHECK(add_overflow_u64(UINT64_MAX, 1, &r));
	CHECK(!add_overflow_u64(1, 2, &r) && r == 3);
}

static void bounds(void)
{
	typedef struct keyed { uint32_t pad; uint64_t key; } keyed;
	keyed a[] = { { 0, 10 }, { 0, 20 }, { 0, 20 }, { 0, 30 } };
	size_t off = offsetof(keyed, key);
	CHECK_U64(lower_bound_u64(a, 4, sizeof a[0], off, 5), 0);
	CHECK_U64(upper_bound_u64(a, 4, sizeof a[0], off, 5), 0);
	CHECK_U64(lower_bound_u64(a, 4, sizeof a[0], off, 20), 1);
	CHECK_U64(upper_bound_u64(a, 4, sizeof a[0], off, 20), 3);
	CHECK_U64(upper_bound_u64(a, 4, sizeof a[0], off, 25), 3);
	CHECK_U64(lower_bound_u64(a, 4, sizeof a[0], off, 31), 4);
	CHECK_U64(upper_bound_u64(a, 0, sizeof a[0], off, 31), 0);
	CHECK(hexval('7') == 7 && hexval('b') == 11 && hexval('F') == 15 && hexval('g') == -1);
}

/* a context put before the error: the error is an argument of its own
 * replacement */
static void error_context(void)
{
	vm_seterr("the program has no symbol %s", "main");
	vm_seterr("running to main: %s", vm_error());
	CHECK_STR(vm_error(), "running to main: the program has no symbol main");
	vm_seterr("a: %s", vm_error());
	CHECK_STR(vm_error(), "a: running to main: the program has no symbol main");
}

const unit_test util_tests[] = {
	{ "util/parse_u64", parse_numbers },
	{ "util/fmt_size", sizes },
	{ "util/strbuf", strbufs },
	{ "util/ranges", ranges },
	{ "util/bounds", bounds },
	{ "util/error_context", error_context },
	{ NULL, NULL },
};
