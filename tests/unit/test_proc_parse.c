#include <stdlib.h>

#include "check.h"
#include "formats/proc_parse.h"

static bool line(const char *s, vm_region *r)
{
	return proc_parse_maps_line(s, strlen(s), r);
}

static void maps_plain(void)
{
	vm_region r;
	CHECK(line("55d0c1a00000-55d0c1a2f000 r--p 00000000 fe:00 247498                     /usr/bin/bash", &r));
	CHECK_U64(r.base, 0x55d0c1a00000);
	CHECK_U64(r.size, 0x2f000);
	CHECK_U64(r.prot, VM_PROT_READ);
	CHECK_U64(r.lx.dev_major, 0xfe);
	CHECK_U64(r.lx.inode, 247498);
	CHECK_STR(r.path, "/usr/bin/bash");
	CHECK(r.type == VM_TYPE_MAPPED && r.state == VM_STATE_COMMIT);
	free(r.path);
}

static void maps_odd_paths(void)
{
	vm_region r;
	CHECK(line("7f0000000000-7f0000001000 rw-s 00001000 08:01 12  /tmp/with  two spaces (deleted)", &r));
	CHECK_STR(r.path, "/tmp/with  two spaces");
	CHECK(r.flags & VM_RF_DELETED);
	CHECK(r.prot == (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_SHARED));
	CHECK_U64(r.offset, 0x1000);
	free(r.path);

	CHECK(line("7f0000000000-7f0000002000 rw-p 00000000 00:00 0    [anon:jemalloc arena]", &r));
	CHECK_STR(r.path, "[anon:jemalloc arena]");
	CHECK(r.flags & VM_RF_ANON_NAME);
	CHECK(r.type == VM_TYPE_PRIVATE);
	free(r.path);

	CHECK(line("7f0000000000-7f0000002000 rw-s 00000000 00:01 5    /dev/zero (deleted)", &r));
	CHECK(r.type == VM_TYPE_SHAREABLE);
	free(r.path);

	CHECK(line("7f0000000000-7f0000002000 rw-s 00000000 00:01 5    /memfd:pool (deleted)", &r));
	CHECK(r.type == VM_TYPE_SHAREABLE);
	CHECK(r.flags & VM_RF_DELETED);
	free(r.path);

	/* a path whose name ends in the suffix but is a pseudo name */
	CHECK(line("7f0000000000-7f0000002000 ---p 00000000 00:00 0 ", &r));
	CHECK(r.path == NULL && r.state == VM_STATE_RESERVE && r.type == VM_TYPE_PRIVATE);

	CHECK(line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]", &r));
	CHECK_U64(r.base, 0xffffffffff600000ull);
	CHECK(r.type == VM_TYPE_SPECIAL && (r.flags & VM_RF_PSEUDO));
	free(r.path);

	CHECK(line("7ffd5429d000-7ffd542be000 rw-p 00000000 00:00 0 [stack]", &r));
	CHECK(r.type == VM_TYPE_PRIVATE && (r.flags & VM_RF_PSEUDO));
	free(r.path);

	/* the kernel escapes a newline in a path as \012 */
	CHECK(line("1000-2000 r--p 00000000 08:01 7 /tmp/a\\012b", &r));
	CHECK_STR(r.path, "/tmp/a\\012b");
	free(r.path);
}

static void maps_malformed(void)
{
	vm_region r;
	const char *bad[] = {
		"",
		"zzzz-1000 r--p 00000000 00:00 0",
		"2000-1000 r--p 00000000 00:00 0",       /* end before start */
		"1000-1000 r--p 00000000 00:00 0",       /* empty */
		"1000-2000 rwzp 00000000 00:00 0",
		"1000-2000 r--q 00000000 00:00 0",
		"1000-2000 r--p 00000000 0000 0",
		"1000-2000 r--p 00000000 00:00",
		"1000-2000 r--p 00000000 00:00 x",
		"10000000000000000-10000000000000001 r--p 00000000 00:00 0",
		"1000-2000",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bool ok = line(bad[i], &r);
		if (ok) {
			check_fail(__FILE__, __LINE__, "accepted: '%s'", bad[i]);
			free(r.path);
		}
	}
}

static const char smaps_text[] =
	"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n"
	"Size:                328 kB\n"
	"KernelPageSize:        4 kB\n"
	"MMUPageSize:           4 kB\n"
	"Rss:                 296 kB\n"
	"Pss:                 148 kB\n"
	"Shared_Clean:        296 kB\n"
	"Shared_Dirty:          0 kB\n"
	"Private_Clean:         0 kB\n"
	"Private_Dirty:         0 kB\n"
	"Referenced:          296 kB\n"
	"Anonymous:             0 kB\n"
	"AnonHugePages:      2048 kB\n"
	"Swap:                 12 kB\n"
	"SwapPss:               6 kB\n"
	"Locked:                4 kB\n"
	"THPeligible:    1\n"
	"ProtectionKey:         0\n"
	"VmFlags: rd ex mr mw me dw\n"
	"00651000-00652000 rw-p 00051000 08:02 173521      /usr/bin/dbus-daemon\n"
	"Size:                  4 kB\n"
	"Rss:                   4 kB\n"
	"Private_Dirty:         4 kB\n"
	"VmFlags: rd wr mr mw me dw ac\n";

static void smaps(void)
{
	vm_region *r;
	size_t n;
	CHECK(proc_parse_maps(smaps_text, sizeof smaps_text - 1, &r, &n) == 0);
	CHECK_U64(n, 2);
	if (n != 2)
		return;
	CHECK(r[0].stats.valid);
	CHECK_U64(r[0].stats.rss, 296 * 1024);
	CHECK_U64(r[0].stats.lx.pss, 148 * 1024);
	CHECK_U64(r[0].stats.shared_clean, 296 * 1024);
	CHECK_U64(r[0].stats.lx.anon_huge, 2048 * 1024);
	CHECK_U64(r[0].stats.swap, 12 * 1024);
	CHECK_U64(r[0].stats.lx.swap_pss, 6 * 1024);
	CHECK_U64(r[0].stats.locked, 4 * 1024);
	CHECK_U64(r[0].stats.lx.kernel_page_size, 4096);
	CHECK(r[0].stats.lx.thp_eligible);
	CHECK_U64(r[1].stats.private_dirty, 4096);
	CHECK_U64(r[1].offset, 0x51000);
	for (size_t i = 0; i < n; i++)
		free(r[i].path);
	free(r);

	/* overlapping entries mean the file changed under us */
	const char *overlap = "1000-3000 r--p 00000000 00:00 0\n2000-4000 r--p 00000000 00:00 0\n";
	CHECK(proc_parse_maps(overlap, strlen(overlap), &r, &n) < 0);
	const char *garbage = "1000-3000 r--p 00000000 00:00 0\nfoo bar\n0123 nonsense\n";
	CHECK(proc_parse_maps(garbage, strlen(garbage), &r, &n) < 0);
	/* a huge value does not overflow silently */
	const char *huge = "1000-3000 r--p 00000000 00:00 0\nRss: 99999999999999999999 kB\n";
	CHECK(proc_parse_maps(huge, strlen(huge), &r, &n) == 0);
	CHECK_U64(r[0].stats.rss, 0);
	free(r);
}

static void stat_line(void)
{
	proc_stat st;
	const char *s = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 "
			"12345 1000 100 18446744073709551615 1 2 140737 0 0 0 0 0 0 0 0 0 17 1 0 0 0 "
			"0 0 3000 3100 4000 140736 140800 140800 140900 0\n";
	CHECK(proc_parse_stat(s, strlen(s), &st));
	CHECK_STR(st.comm, "a) b (c)");
	CHECK(st.state == 'S');
	CHECK_U64(st.flags, 4194560);
	CHECK_U64(st.num_threads, 3);
	CHECK_U64(st.start_time, 12345);
	CHECK_U64(st.arg_start, 140736);
	CHECK_U64(st.arg_end, 140800);
	CHECK_U64(st.env_start, 140800);
	CHECK_U64(st.env_end, 140900);
	CHECK(!proc_parse_stat("no parens", 9, &st));
}

static void syscall_line(void)
{
	uint64_t sp, pc;
	const char *s = "230 0x0 0x0 0x7fff81ff69e0 0x7fff81ff6a20 0x0 0x0 0x7fff81ff69c8 0x7fb08107b503\n";
	CHECK(proc_parse_syscall(s, strlen(s), &sp, &pc));
	CHECK_U64(sp, 0x7fff81ff69c8);
	CHECK_U64(pc, 0x7fb08107b503);
	CHECK(!proc_parse_syscall("running\n", 8, &sp, &pc));
	CHECK(proc_parse_syscall("-1 0x7ffd0000 0x401000\n", 23, &sp, &pc));
	CHECK_U64(sp, 0x7ffd0000);
}

const unit_test proc_parse_tests[] = {
	{ "proc/maps_plain", maps_plain },
	{ "proc/maps_odd_paths", maps_odd_paths },
	{ "proc/maps_malformed", maps_malformed },
	{ "proc/smaps", smaps },
	{ "proc/stat", stat_line },
	{ "proc/syscall", syscall_line },
	{ NULL, NULL },
};
