/* Names of the model's enumerations, as text and JSON show them. */
#include <string.h>

#include "vmatlas/map.h"

static const char *const usage_names[VM_USAGE_COUNT] = {
	[VM_USAGE_IMAGE] = "image",	      [VM_USAGE_MAPPED] = "mapped",
	[VM_USAGE_SHAREABLE] = "shareable", [VM_USAGE_HEAP] = "heap",
	[VM_USAGE_STACK] = "stack",	      [VM_USAGE_PRIVATE] = "private",
	[VM_USAGE_SYSTEM] = "system",	      [VM_USAGE_RESERVED] = "reserved",
	[VM_USAGE_FREE] = "free",
};

const char *vm_usage_name(vm_usage u)
{
	return (unsigned)u < VM_USAGE_COUNT ? usage_names[u] : "?";
}

bool vm_usage_parse(const char *s, vm_usage *out)
{
	for (int i = 0; i < VM_USAGE_COUNT; i++)
		if (strcmp(s, usage_names[i]) == 0) {
			*out = (vm_usage)i;
			return true;
		}
	return false;
}

const char *vm_state_name(vm_state s)
{
	switch (s) {
	case VM_STATE_FREE: return "free";
	case VM_STATE_RESERVE: return "reserve";
	case VM_STATE_COMMIT: return "commit";
	}
	return "?";
}

const char *vm_type_name(vm_type t)
{
	switch (t) {
	case VM_TYPE_NONE: return "none";
	case VM_TYPE_IMAGE: return "image";
	case VM_TYPE_MAPPED: return "mapped";
	case VM_TYPE_PRIVATE: return "private";
	case VM_TYPE_SHAREABLE: return "shareable";
	case VM_TYPE_SPECIAL: return "special";
	}
	return "?";
}

const char *vm_content_kind_name(vm_content_kind k)
{
	switch (k) {
	case VM_CK_HEADER: return "header";
	case VM_CK_SECTION: return "section";
	case VM_CK_SEGMENT: return "segment";
	case VM_CK_DIRECTORY: return "directory";
	case VM_CK_STACK: return "stack";
	case VM_CK_GUARD: return "guard";
	case VM_CK_TLS: return "tls";
	case VM_CK_HEAP: return "heap";
	case VM_CK_SYSDATA: return "sysdata";
	case VM_CK_CODE: return "code";
	case VM_CK_COUNT: break;
	}
	return "?";
}

void vm_prot_string(uint32_t prot, char out[5])
{
	out[0] = (prot & VM_PROT_READ) ? 'r' : '-';
	out[1] = (prot & VM_PROT_WRITE) ? 'w' : '-';
	out[2] = (prot & VM_PROT_EXEC) ? 'x' : '-';
	out[3] = (prot & VM_PROT_SHARED) ? 's' : 'p';
	out[4] = 0;
}

void vm_region_prot_string(const vm_region *r, char out[5])
{
	if (r->flags & VM_RF_PROT_UNKNOWN)
		memcpy(out, "????", 5);
	else
		vm_prot_string(r->prot, out);
}

bool vm_map_gaps_unknown(const vm_map *m)
{
	for (size_t i = 0; i < m->nregions; i++)
		if (m->regions[i].flags & VM_RF_PROT_UNKNOWN)
			return true;
	return false;
}

static const char *const target_kind_names[VM_TARGET_KIND_COUNT] = {
	[VM_TARGET_UNKNOWN] = "unknown",	       [VM_TARGET_LINUX_PROCESS] = "linux-process",
	[VM_TARGET_ELF_CORE] = "elf-core",	       [VM_TARGET_MINIDUMP] = "minidump",
	[VM_TARGET_WINDOWS_PROCESS] = "windows-process", [VM_TARGET_FAKE] = "fake",
};
static const char *const os_names[VM_OS_COUNT] = {
	[VM_OS_UNKNOWN] = "unknown", [VM_OS_LINUX] = "linux", [VM_OS_WINDOWS] = "windows",
	[VM_OS_MACOS] = "macos",     [VM_OS_IOS] = "ios",
};
static const char *const arch_names[VM_ARCH_COUNT] = {
	[VM_ARCH_UNKNOWN] = "unknown", [VM_ARCH_X86_64] = "x86_64", [VM_ARCH_I386] = "i386",
	[VM_ARCH_AARCH64] = "aarch64", [VM_ARCH_ARM] = "arm",	    [VM_ARCH_RISCV] = "riscv",
};

/* index of s in names[0..n), 0 (the unknown value) when absent */
static int find_name(const char *s, const char *const *names, int n)
{
	for (int i = 1; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return 0;
}

const char *vm_target_kind_name(vm_target_kind k)
{
	return (unsigned)k < VM_TARGET_KIND_COUNT ? target_kind_names[k] : "unknown";
}
const char *vm_os_name(vm_os os)
{
	return (unsigned)os < VM_OS_COUNT ? os_names[os] : "unknown";
}
const char *vm_arch_name(vm_arch a)
{
	return (unsigned)a < VM_ARCH_COUNT ? arch_names[a] : "unknown";
}

vm_target_kind vm_target_kind_parse(const char *s)
{
	return (vm_target_kind)find_name(s, target_kind_names, VM_TARGET_KIND_COUNT);
}
vm_os vm_os_parse(const char *s)
{
	return (vm_os)find_name(s, os_names, VM_OS_COUNT);
}
vm_arch vm_arch_parse(const char *s)
{
	return (vm_arch)find_name(s, arch_names, VM_ARCH_COUNT);
}
