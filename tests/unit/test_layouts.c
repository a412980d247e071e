/* The layout tables against the compiler's own offsets: <elf.h> and
 * <link.h> here, the layout_truth fixture built natively and with -m32,
 * and the Windows offsets the minidump tests verify against Wine. */
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "vmatlas/layout.h"

static vm_layout get(const char *name, int bits, int ver)
{
	vm_layout L;
	CHECK(vm_layout_get(&L, name, bits, ver));
	return L;
}

static uint64_t off(const char *name, int bits, const char *field)
{
	vm_layout L = get(name, bits, 0);
	return vm_layout_off(&L, field);
}

#define CHECK_OFF(name, bits, type, field) CHECK_U64(off(name, bits, #field), offsetof(type, field))

static void test_elf_layouts(void)
{
	CHECK_OFF("ehdr", 64, Elf64_Ehdr, e_entry);
	CHECK_OFF("ehdr", 64, Elf64_Ehdr, e_shstrndx);
	CHECK_OFF("ehdr", 32, Elf32_Ehdr, e_entry);
	CHECK_OFF("ehdr", 32, Elf32_Ehdr, e_shstrndx);
	CHECK_OFF("phdr", 64, Elf64_Phdr, p_flags);
	CHECK_OFF("phdr", 64, Elf64_Phdr, p_align);
	CHECK_OFF("phdr", 32, Elf32_Phdr, p_flags);
	CHECK_OFF("shdr", 64, Elf64_Shdr, sh_entsize);
	CHECK_OFF("shdr", 32, Elf32_Shdr, sh_entsize);
	CHECK_OFF("sym", 64, Elf64_Sym, st_value);
	CHECK_OFF("sym", 32, Elf32_Sym, st_info);
	CHECK_U64(get("ehdr", 64, 0).size, sizeof(Elf64_Ehdr));
	CHECK_U64(get("ehdr", 32, 0).size, sizeof(Elf32_Ehdr));
	CHECK_U64(get("phdr", 64, 0).size, sizeof(Elf64_Phdr));
	CHECK_U64(get("phdr", 32, 0).size, sizeof(Elf32_Phdr));
	CHECK_U64(get("shdr", 64, 0).size, sizeof(Elf64_Shdr));
	CHECK_U64(get("shdr", 32, 0).size, sizeof(Elf32_Shdr));
	CHECK_U64(get("sym", 64, 0).size, sizeof(Elf64_Sym));
	CHECK_U64(get("sym", 32, 0).size, sizeof(Elf32_Sym));
	CHECK_U64(get("dyn", 64, 0).size, sizeof(Elf64_Dyn));
	CHECK_U64(get("dyn", 32, 0).size, sizeof(Elf32_Dyn));
}

/* this (64-bit) build's <link.h> */
static void test_link_h(void)
{
	CHECK_OFF("link_map", 64, struct link_map, l_addr);
	CHECK_OFF("link_map", 64, struct link_map, l_name);
	CHECK_OFF("link_map", 64, struct link_map, l_ld);
	CHECK_OFF("link_map", 64, struct link_map, l_next);
	CHECK_OFF("link_map", 64, struct link_map, l_prev);
	CHECK_OFF("r_debug", 64, struct r_debug, r_map);
	CHECK_OFF("r_debug", 64, struct r_debug, r_brk);
	CHECK_OFF("r_debug", 64, struct r_debug, r_state);
	CHECK_OFF("r_debug", 64, struct r_debug, r_ldbase);
	CHECK_U64(get("r_debug", 64, 0).size, sizeof(struct r_debug));
}

/* "STRUCT FIELD OFFSET" lines from the layout_truth fixture */
static void compare_truth(const char *prog, int bits)
{
	const char *build = getenv("VMATLAS_BUILD");
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s/fixtures/%s", build ? build : "build", prog);
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char sname[64], field[64];
	unsigned long long v;
	int lines = 0;
	while (fscanf(f, "%63s %63s %llu", sname, field, &v) == 3) {
		vm_layout L = get(sname, bits, 0);
		uint64_t got = strcmp(field, "sizeof") == 0 ? L.size : vm_layout_off(&L, field);
		if (got != v)
			check_fail(__FILE__, __LINE__, "%d-bit %s.%s: table 0x%llx, compiler 0x%llx", bits, sname,
				   field, (unsigned long long)got, v);
		lines++;
	}
	CHECK(pclose(f) == 0);
	CHECK(lines > 30);
}

static void test_glibc_truth_64(void)
{
	compare_truth("layout_truth", 64);
}

static void test_glibc_truth_32(void)
{
	compare_truth("layout_truth32", 32);
}

/* the layouts older glibcs had */
static void test_glibc_versions(void)
{
	vm_layout a = get("malloc_state", 64, 226), b = get("malloc_state", 64, 227);
	CHECK_U64(vm_layout_off(&a, "fastbinsY"), 8);
	CHECK_U64(vm_layout_off(&b, "fastbinsY"), 16);
	CHECK_U64(vm_layout_off(&b, "top"), 0x60);
	CHECK_U64(vm_layout_off(&b, "next"), 0x870);
	CHECK_U64(b.size, 0x898);
	vm_layout c = get("malloc_state", 32, 236);
	CHECK_U64(vm_layout_field_get(&c, "fastbinsY")->count, 11);
	CHECK_U64(vm_layout_off(&c, "top"), 0x38);
	vm_layout t = get("tcache_perthread_struct", 64, 229), u = get("tcache_perthread_struct", 64, 230);
	CHECK_U64(vm_layout_off(&t, "entries"), 64);
	CHECK_U64(vm_layout_off(&u, "entries"), 128);
	vm_layout h = get("heap_info", 64, 234), i = get("heap_info", 64, 235);
	CHECK(vm_layout_field_get(&h, "pagesize") == NULL);
	CHECK(vm_layout_field_get(&i, "pagesize") != NULL);
	/* mp_ (gdb's ptype /o struct malloc_par on 2.36 and 2.31) */
	vm_layout p = get("malloc_par", 64, 236), q = get("malloc_par", 64, 231);
	CHECK_U64(vm_layout_off(&p, "n_mmaps"), 60);
	CHECK_U64(vm_layout_off(&p, "mmapped_mem"), 80);
	CHECK_U64(vm_layout_off(&p, "sbrk_base"), 96);
	CHECK_U64(p.size, 136);
	CHECK_U64(vm_layout_off(&q, "n_mmaps"), 40);
	CHECK_U64(vm_layout_off(&q, "sbrk_base"), 72);
}

/* the offsets vmatlas read Wine's minidumps with before the tables
 * (test_minidump checks them against the dumping process's truth) */
static void test_windows(void)
{
	static const struct {
		const char *s, *f;
		uint64_t o64, o32;
	} want[] = {
		{ "teb", "NtTib.StackBase", 0x08, 0x04 },
		{ "teb", "ProcessEnvironmentBlock", 0x60, 0x30 },
		{ "peb", "BeingDebugged", 0x02, 0x02 },
		{ "peb", "ImageBaseAddress", 0x10, 0x08 },
		{ "peb", "Ldr", 0x18, 0x0c },
		{ "peb", "ProcessParameters", 0x20, 0x10 },
		{ "peb", "ProcessHeap", 0x30, 0x18 },
		{ "peb", "NumberOfHeaps", 0xe8, 0x88 },
		{ "peb", "ProcessHeaps", 0xf0, 0x90 },
		{ "process_parameters", "CurrentDirectory.DosPath.Length", 0x38, 0x24 },
		{ "process_parameters", "ImagePathName.Length", 0x60, 0x38 },
		{ "process_parameters", "CommandLine.Length", 0x70, 0x40 },
		{ "process_parameters", "CommandLine.Buffer", 0x78, 0x44 },
		{ "process_parameters", "Environment", 0x80, 0x48 },
		{ "process_parameters", "EnvironmentSize", 0x3f0, 0x290 },
		{ "peb_ldr_data", "InLoadOrderModuleList.Flink", 0x10, 0x0c },
		{ "ldr_data_table_entry", "DllBase", 0x30, 0x18 },
		{ "ldr_data_table_entry", "EntryPoint", 0x38, 0x1c },
		{ "ldr_data_table_entry", "SizeOfImage", 0x40, 0x20 },
		{ "ldr_data_table_entry", "FullDllName.Length", 0x48, 0x24 },
		{ "ldr_data_table_entry", "BaseDllName.Length", 0x58, 0x2c },
		{ "kuser_shared_data", "NtSystemRoot", 0x30, 0x30 },
		{ "kuser_shared_data", "NtMajorVersion", 0x26c, 0x26c },
		/* the rest of the whole structures (Windows 10's public symbols) */
		{ "teb", "LastErrorValue", 0x68, 0x34 },
		{ "teb", "DeallocationStack", 0x1478, 0xe0c },
		{ "teb", "TlsSlots", 0x1480, 0xe10 },
		{ "teb", "TlsExpansionSlots", 0x1780, 0xf94 },
		{ "teb", "WowTebOffset", 0x180c, 0xfdc },
		{ "peb", "OSMajorVersion", 0x118, 0xa4 },
		{ "peb", "SessionId", 0x2c0, 0x1d4 },
		{ "peb", "CSDVersion.Length", 0x2e8, 0x1f0 },
		{ "peb", "NtGlobalFlag2", 0x7c4, 0x478 },
		{ "kuser_shared_data", "SystemExpirationDate", 0x2c8, 0x2c8 },
		{ "kuser_shared_data", "ActiveProcessorCount", 0x3c0, 0x3c0 },
		{ "kuser_shared_data", "XState.EnabledFeatures", 0x3d8, 0x3d8 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		CHECK_U64(off(want[i].s, 64, want[i].f), want[i].o64);
		CHECK_U64(off(want[i].s, 32, want[i].f), want[i].o32);
	}
	CHECK_U64(get("teb", 64, 0).full_size, 0x1838);
	CHECK_U64(get("teb", 32, 0).full_size, 0x1000);
	CHECK_U64(get("peb", 64, 0).full_size, 0x7c8);
	CHECK_U64(get("peb", 32, 0).full_size, 0x480); /* with NtGlobalFlag2, 8-aligned */
	CHECK_U64(get("kuser_shared_data", 64, 0).full_size, 0x720);
	/* WoW64's 32-bit ones, whatever the target's word size */
	CHECK_U64(off("teb32", 64, "TlsSlots"), 0xe10);
	CHECK_U64(get("peb32", 64, 0).full_size, 0x480);
}

static void test_unknown(void)
{
	vm_layout L;
	CHECK(!vm_layout_get(&L, "no_struct", 64, 0));
	CHECK(vm_layout_get(&L, "link_map", 64, 0) && vm_layout_field_get(&L, "no_field") == NULL);
	size_t n = 0;
	for (const char *s; (s = vm_layout_name(n)); n++) {
		CHECK(vm_layout_get(&L, s, 32, 0) && L.n > 0 && L.size > 0 && L.full_size >= L.size);
		CHECK(vm_layout_get(&L, s, 64, 0) && L.n > 0 && L.size > 0 && L.full_size >= L.size);
	}
	CHECK_U64(n, 20);
}

const unit_test layout_tests[] = {
	{ "layouts: ELF against <elf.h>", test_elf_layouts },
	{ "layouts: link_map, r_debug against <link.h>", test_link_h },
	{ "layouts: glibc's against the compiler (64-bit)", test_glibc_truth_64 },
	{ "layouts: glibc's against the compiler (-m32)", test_glibc_truth_32 },
	{ "layouts: glibc versions", test_glibc_versions },
	{ "layouts: Windows", test_windows },
	{ "layouts: unknown names", test_unknown },
	{ NULL, NULL },
};
