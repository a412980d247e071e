/* Windows minidumps (and the Linux ones breakpad and crashpad write):
 * the parsed file. Parsing is a pure function of
 * a reader, so it is fuzzed without a file. Layouts: minidumpapiset.h. */
#ifndef VMATLAS_FORMATS_MINIDUMP_H
#define VMATLAS_FORMATS_MINIDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmatlas/model.h"
#include "vmatlas/reader.h"

/* a range of memory the dump holds, at file offset off */
typedef struct md_range {
	uint64_t addr, size, off;
} md_range;

/* a MINIDUMP_MEMORY_INFO: what VirtualQuery said */
typedef struct md_meminfo {
	uint64_t base, alloc_base, size;
	uint32_t alloc_prot, state, protect, type;
} md_meminfo;

typedef struct md_module {
	uint64_t base;
	uint32_t size, checksum, timestamp;
	char *path;       /* as the dump names it: C:\Windows\System32\ntdll.dll */
	char *pdb;        /* CodeView RSDS: the PDB's name, GUID and age */
	uint8_t guid[16];
	uint32_t age;
	bool have_cv;
	uint32_t version_ms, version_ls; /* VS_FIXEDFILEINFO file version */
} md_module;

typedef struct md_thread {
	vm_thread th;     /* tid, registers; tp = the TEB */
	uint64_t teb;
	uint64_t stack_addr, stack_size; /* the stack memory the dump holds */
	uint32_t suspend_count, priority_class, priority;
	uint64_t start_address; /* from ThreadInfoList, 0 unknown */
} md_thread;

typedef struct md_unloaded {
	uint64_t base;
	uint32_t size, timestamp;
	char *path;
} md_unloaded;

typedef struct md_file {
	vm_reader r;
	uint32_t nstreams, time;
	uint64_t flags;
	uint16_t cpu_arch;  /* PROCESSOR_ARCHITECTURE_*: 0 x86, 9 AMD64, 5 ARM, 12 ARM64 */
	int bits;
	uint32_t os_major, os_minor, os_build, platform; /* platform 2: NT; 0x8201: Linux (breakpad) */
	uint8_t nproc;
	uint8_t product_type;  /* 1 workstation, 2 domain controller, 3 server */
	uint16_t suite_mask;
	char *csd;             /* "Service Pack 1", NULL when none */
	bool have_system_info;
	md_range *mem;      /* sorted by address, overlaps cut */
	size_t nmem;
	md_meminfo *info;   /* MemoryInfoList, sorted */
	size_t ninfo;
	bool have_info;
	vm_region *linux_maps; /* breakpad's copy of /proc/PID/maps */
	size_t nlinux_maps;
	md_module *mods;
	size_t nmods;
	md_unloaded *unloaded;
	size_t nunloaded;
	md_thread *threads;
	size_t nthreads;
	bool have_exception;
	uint32_t exc_tid, exc_code, exc_flags;
	uint64_t exc_addr;
	uint32_t exc_ctx_size, exc_ctx_rva; /* the context at the exception (.ecxr) */
	bool have_pid;
	uint32_t pid, create_time;
	size_t nhandles;
	bool have_handles;
	vm_win_handle *handles; /* the descriptors, as far as the stream holds them */
	size_t nhandle_list;
	char *warnings;
	size_t nwarnings;
} md_file;

bool md_is_magic(const void *buf, size_t len);
/* parse; -1 (error set) when it is not a minidump; a damaged one gives
 * what could be read and warnings */
int md_parse(md_file *f, const vm_reader *r);
void md_file_free(md_file *f);

#endif
