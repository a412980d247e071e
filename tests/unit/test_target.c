/* The target registry and the capability mask: which backend a spec
 * reaches, what each says it can do, and what the functions answer for
 * a capability a target lacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fake_target.h"
#include "vmatlas/error.h"

static void test_open_errors(void)
{
	CHECK(!vm_target_open(""));
	CHECK_STR(vm_error(), "no target given");
	CHECK(!vm_target_open("0"));
	CHECK_STR(vm_error(), "not a process id: 0");
	CHECK(!vm_target_open("/nonexistent/vmatlas"));
	CHECK_STR(vm_error(), "not a process id, 'self', a process name or a readable file: /nonexistent/vmatlas");
	char path[] = "/tmp/vmatlas-unit-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "hello", 5) == 5);
	close(fd);
	CHECK(!vm_target_open(path));
	char want[128];
	snprintf(want, sizeof want, "%s: not a core file or a minidump", path);
	CHECK_STR(vm_error(), want);
	unlink(path);
	char *none[] = { NULL };
	CHECK(!vm_target_spawn(none, NULL));
	CHECK_STR(vm_error(), "no program to run");
}

static void test_file_magic(void)
{
	uint8_t core[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	core[16] = 4; /* ET_CORE */
	uint8_t exe[64];
	memcpy(exe, core, sizeof exe);
	exe[16] = 2; /* ET_EXEC */
	uint8_t md[8] = { 'M', 'D', 'M', 'P', 0x93, 0xa7, 0, 0 };
	CHECK(vm_file_target_magic(core, sizeof core));
	CHECK(!vm_file_target_magic(exe, sizeof exe));
	CHECK(vm_file_target_magic(md, sizeof md));
	CHECK(!vm_file_target_magic(md, 4));
}

static void test_self_caps(void)
{
	vm_target *t = vm_target_open("self");
	CHECK(t);
	if (!t)
		return;
	unsigned c = vm_target_caps(t);
	CHECK(c & VM_CAP_LIVE);
	CHECK(c & VM_CAP_PAGES);
	CHECK(c & VM_CAP_AUXV);
	CHECK(c & VM_CAP_BACKING);
	CHECK(!(c & VM_CAP_CONTROL)); /* vmatlas cannot trace itself */
	CHECK(!(c & VM_CAP_MODULES));
	vm_target_info in;
	CHECK(vm_target_info_get(t, &in) == 0 && in.caps == c);
	CHECK_STR(vm_target_kind_name(vm_target_kind_of(t)), "linux-process");
	vm_auxv *av;
	size_t n;
	CHECK(vm_target_auxv(t, &av, &n) == 0 && n > 0);
	free(av);
	vm_target_close(t);
}

/* a target without a capability refuses its function, or says "unknown" */
static void test_missing_caps(void)
{
	fake_target f;
	fake_init(&f);
	vm_target *t = &f.base;
	CHECK(vm_target_caps(t) == 0);
	vm_auxv *av;
	vm_module *mods;
	size_t n;
	CHECK(vm_target_auxv(t, &av, &n) < 0);
	CHECK_STR(vm_error(), "a fake target has no auxiliary vector");
	CHECK(vm_target_modules(t, &mods, &n) < 0);
	CHECK(vm_target_freeze(t) < 0);
	CHECK(vm_target_thaw(t) == 0);
	vm_page_run *runs;
	vm_page_counts counts;
	CHECK(vm_target_pages(t, 0x1000, 1, &runs, &n, &counts) < 0);
	uint64_t at[2] = { 0x1000, 0x2000 };
	int8_t present[2] = { 5, 5 };
	vm_target_pages_present(t, at, 2, present);
	CHECK(present[0] == -1 && present[1] == -1);
	CHECK(vm_target_present_range(t, 0x1000, 2, present) < 0);
	vm_region r = { 0 };
	CHECK(vm_target_open_backing(t, &r) < 0);
	CHECK(!vm_control_open(t));
}

const unit_test target_tests[] = {
	{ "target_open_errors", test_open_errors },
	{ "target_file_magic", test_file_magic },
	{ "target_self_caps", test_self_caps },
	{ "target_missing_caps", test_missing_caps },
	{ NULL, NULL },
};
