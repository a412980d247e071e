/* The data model shared by every target (live Linux, ELF core, minidump,
 * live Windows): regions, their contents, allocations, threads, modules.
 * Everything here is OS-neutral but the `lx` (Linux) and `win` (Windows)
 * members, which hold the facts only one OS has; a target fills regions
 * and threads, the annotators fill contents, allocations and modules. */
#ifndef VMATLAS_MODEL_H
#define VMATLAS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum vm_state {
	VM_STATE_FREE,    /* a gap: nothing mapped */
	VM_STATE_RESERVE, /* address space held, no access (PROT_NONE, MEM_RESERVE) */
	VM_STATE_COMMIT,  /* accessible memory */
} vm_state;

typedef enum vm_type {
	VM_TYPE_NONE,      /* free */
	VM_TYPE_IMAGE,     /* an executable image (ELF, PE) */
	VM_TYPE_MAPPED,    /* a file mapping that is not an image */
	VM_TYPE_PRIVATE,   /* anonymous private memory */
	VM_TYPE_SHAREABLE, /* anonymous shared memory (shmem, SysV, memfd) */
	VM_TYPE_SPECIAL,   /* kernel-provided: vdso, vvar, vsyscall */
} vm_type;

/* What an allocation is used for (VMMap's categories). */
typedef enum vm_usage {
	VM_USAGE_IMAGE,
	VM_USAGE_MAPPED,
	VM_USAGE_SHAREABLE,
	VM_USAGE_HEAP,
	VM_USAGE_STACK,
	VM_USAGE_PRIVATE,
	VM_USAGE_SYSTEM,
	VM_USAGE_RESERVED,
	VM_USAGE_FREE,
	VM_USAGE_COUNT
} vm_usage;

/* protection bits. GUARD, NOCACHE, WRITECOMBINE and COPY are Windows
 * modifiers but stay here, not in the Windows extension: VirtualQuery
 * gives them in the same word as read/write/exec, win.alloc_prot uses the
 * same bits, and neutral code reading prot (a reader that must not touch
 * a guard page) then needs no OS test. Linux never sets them. */
#define VM_PROT_READ   0x01u
#define VM_PROT_WRITE  0x02u
#define VM_PROT_EXEC   0x04u
#define VM_PROT_SHARED 0x08u /* MAP_SHARED ('s' in rw-s) */
#define VM_PROT_GUARD  0x10u /* Windows PAGE_GUARD */
#define VM_PROT_NOCACHE 0x20u
#define VM_PROT_WRITECOMBINE 0x40u
#define VM_PROT_COPY   0x80u /* Windows WRITECOPY */

/* these bits from a Windows PAGE_* word (VirtualQuery's, a minidump's) */
uint32_t vm_prot_from_win(uint32_t page_prot);

/* region flags */
#define VM_RF_DELETED    0x01u /* backing file deleted (" (deleted)") */
#define VM_RF_ANON_NAME  0x02u /* path is a name given by prctl ([anon:x]) */
#define VM_RF_PSEUDO     0x04u /* path is a kernel name ([heap], [stack], [vdso] ...) */
#define VM_RF_NO_DATA    0x08u /* the target holds no bytes for it (core: not dumped) */
#define VM_RF_PART_DATA  0x10u /* the target holds only its first `held` bytes */
#define VM_RF_FROM_FILE  0x20u /* what the target lacks is read from the file on disk */
#define VM_RF_SPLIT      0x40u /* one VMA with the next region: the map split it (a malloc
				  chunk's mmap the kernel merged with its neighbour) */
#define VM_RF_PROT_UNKNOWN 0x80u /* the target does not say the protection (a minidump
				    without a memory info list): shown as unknown, prot
				    says only that the bytes it holds can be read */

/* Linux only: what smaps adds to the neutral statistics */
typedef struct vm_page_stats_lx {
	uint64_t pss, pss_dirty;
	uint64_t referenced, anonymous, lazyfree, ksm;
	uint64_t anon_huge, shmem_huge, file_huge; /* THP mapped with PMDs */
	uint64_t swap_pss;
	uint64_t kernel_page_size; /* 0 = unknown */
	bool thp_eligible;
} vm_page_stats_lx;

/* Memory statistics of a region, in bytes (Linux smaps; Windows working
 * set). What the summary by usage reads (rss, the private and shared
 * pairs, swap) and locked are neutral: either OS fills them. */
typedef struct vm_page_stats {
	bool valid;
	/* a Windows working set's (QueryWorkingSetEx): rss, private and
	 * shared (in the *_clean fields: it keeps no dirty bit) and locked
	 * are known; the clean/dirty split, swap and lx are not */
	bool working_set;
	uint64_t rss;
	uint64_t shared_clean, shared_dirty, private_clean, private_dirty;
	uint64_t swap, locked;
	vm_page_stats_lx lx;
} vm_page_stats;

/* Per-page detail, run-length encoded: `count` consecutive pages from
 * `addr` that share every attribute below. */
#define VM_PAGE_PRESENT   0x01u
#define VM_PAGE_SWAPPED   0x02u
#define VM_PAGE_FILE      0x04u /* file page or shared anonymous */
#define VM_PAGE_EXCLUSIVE 0x08u /* mapped by this process only */
#define VM_PAGE_SOFTDIRTY 0x10u
#define VM_PAGE_UFFD_WP   0x20u
typedef struct vm_page_run {
	uint64_t addr, count;
	uint32_t flags;
	int32_t mapcount; /* from kpagecount (Windows: ShareCount); -1 unknown */
	struct {
		uint64_t kflags; /* Linux: from kpageflags; 0 unknown */
	} lx;
	struct {
		uint32_t prot; /* Windows: the page's protection (VM_PROT_*) from the working set; 0 unknown */
	} win;
} vm_page_run;

/* Page totals for a region, from the per-page walk. */
typedef struct vm_page_counts {
	bool valid;
	bool have_mapcount;
	bool swap_unknown; /* Windows: the working set does not say what is in the pagefile */
	uint64_t present, swapped, exclusive, shared; /* shared: mapcount > 1 */
} vm_page_counts;

typedef enum vm_content_kind {
	VM_CK_HEADER,    /* an image header at an allocation start */
	VM_CK_SECTION,   /* an image section */
	VM_CK_SEGMENT,   /* an image segment (when sections are unknown) */
	VM_CK_DIRECTORY, /* an image directory (dynamic, GOT, PE data dirs ...) */
	VM_CK_STACK,     /* a thread's stack */
	VM_CK_GUARD,     /* a stack guard */
	VM_CK_TLS,       /* a thread's control block / TLS (fs_base; TEB) */
	VM_CK_HEAP,      /* a heap or heap segment */
	VM_CK_SYSDATA,   /* system data: vdso, vvar, argv, environment, auxv ... */
	VM_CK_CODE,      /* executable memory with no image behind it */
	VM_CK_COUNT
} vm_content_kind;

/* A typed item inside a region. */
typedef struct vm_content {
	vm_content_kind kind;
	uint64_t addr, size;
	char *name;    /* ".text", "stack", "brk heap" ... */
	char *detail;  /* free text, may be NULL */
	int64_t tid;   /* owning thread, 0 when none */
	int module;    /* index into map->modules, -1 when none */
} vm_content;

/* Linux only: the backing file's device and inode (0 when none) */
typedef struct vm_region_lx {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	int32_t bpm_pid; /* a vmatlas debugger (this pid) has memory breakpoints
			  * here: prot is the original one, not the debugger's */
} vm_region_lx;

/* Windows only: the allocation base and its protection as VirtualQuery
 * gives them; 0 when the target has none (Linux) */
typedef struct vm_region_win {
	uint64_t alloc_base;
	uint32_t alloc_prot;
} vm_region_win;

typedef struct vm_region {
	uint64_t base, size;
	vm_state state;
	uint32_t prot;  /* VM_PROT_* */
	vm_type type;
	vm_usage usage; /* the usage of its allocation */
	uint32_t flags; /* VM_RF_* */
	char *path;     /* backing file, pseudo name, or NULL */
	uint64_t offset;
	vm_region_lx lx;
	vm_page_stats stats;
	vm_page_counts pages;
	vm_page_run *runs; /* only when per-page detail was asked for */
	size_t nruns;
	size_t alloc;   /* index of its allocation */
	vm_content *contents;
	size_t ncontents, ccap;
	vm_region_win win;
	/* file targets (cores, dumps): bytes from base the file holds */
	uint64_t held;
} vm_region;

/* How an allocation's extent is known: proven (an image's program
 * headers, a stack and its guard, a heap's own headers, Windows'
 * AllocationBase), or guessed by the rules of model/group.c; unknown in
 * maps read back from a snapshot. */
typedef enum vm_grouping { VM_GROUPING_UNKNOWN, VM_GROUPING_EXACT, VM_GROUPING_HEURISTIC } vm_grouping;

/* Allocations group the regions one mapping made. Regions of an
 * allocation are consecutive in map->regions. */
typedef struct vm_alloc {
	uint64_t base, size;
	vm_usage usage;
	char *details;   /* "/usr/lib/libc.so.6", "stack of thread 1234" ... */
	size_t first, count;
	vm_grouping grouping;
} vm_alloc;

#define VM_THREAD_MAX_REGS 40

typedef struct vm_reg {
	const char *name;
	uint64_t value;
} vm_reg;

typedef struct vm_thread {
	int64_t tid;
	char *name;
	char state;       /* R S D T t Z X ... ('?' unknown) */
	bool is_main;
	bool regs_valid;  /* registers were read */
	bool sp_valid;    /* at least pc/sp are known (e.g. from a syscall stop) */
	bool regs_exception; /* the registers are the exception's context (a
				minidump's exception stream, WinDbg's .ecxr), not
				where the thread stood when the dump was written */
	uint64_t pc, sp, fp, tp; /* tp: thread pointer (fs_base / TEB) */
	uint64_t start;   /* where the thread started, when the target says (minidumps) */
	vm_reg regs[VM_THREAD_MAX_REGS];
	size_t nregs;
	/* the stack, once the annotators have found it */
	uint64_t stack_base, stack_size; /* 0 when not found */
	uint64_t guard_base, guard_size;
	/* a copy of the live stack from just below sp, taken while the
	 * thread was stopped for its registers (VM_THREADS_STACKS) */
	uint8_t *stack_copy;
	uint64_t stack_copy_addr;
	size_t stack_copy_len;
	int64_t tracer;   /* another process tracing it (so it could not be
			     stopped), 0 none or unknown */
} vm_thread;

#define VM_SRC_LOADER  0x1u
#define VM_SRC_REGIONS 0x2u
#define VM_SRC_MANUAL  0x4u
#define VM_SRC_PEB     0x8u /* Windows: the PEB's loader list (VM_SRC_LOADER there is the
			       list the target gives: a minidump's module list) */

typedef struct vm_module {
	char *name;       /* file name: "libc.so.6" */
	char *path;
	char *loader_name; /* the name in the loader's list, when it differs */
	uint64_t loader_entry; /* address of its link_map entry, 0 if none */
	int loader_index;      /* its place in the loader's list, -1 if none */
	uint64_t dynamic;  /* live address of its dynamic section, 0 unknown */
	uint64_t base, size;
	uint64_t load_bias;
	const char *format; /* "elf", "pe" */
	int bits;
	uint8_t build_id[64];
	size_t build_id_len;
	unsigned sources;   /* VM_SRC_* */
	bool deleted;       /* its file was deleted since it was loaded */
	uint64_t entry;     /* live address, 0 unknown */
	int elf_type;       /* ET_EXEC, ET_DYN ... (0 unknown) */
	bool data_copy;     /* Windows: a listed module's file mapped again (as data, by
			       dbghelp or resource loading): no symbols or unwind
			       information are read from it */
} vm_module;

/* one entry of the auxiliary vector */
typedef struct vm_auxv {
	uint64_t type, value;
} vm_auxv;

/* What a target is, what OS and CPU the process ran on; names for
 * output and parsers from them are in model/names.c (map.h). */
typedef enum vm_target_kind {
	VM_TARGET_UNKNOWN,
	VM_TARGET_LINUX_PROCESS,
	VM_TARGET_ELF_CORE,
	VM_TARGET_MINIDUMP,
	VM_TARGET_WINDOWS_PROCESS,
	VM_TARGET_FAKE, /* the unit tests' in-memory target */
	VM_TARGET_KIND_COUNT
} vm_target_kind;

typedef enum vm_os {
	VM_OS_UNKNOWN,
	VM_OS_LINUX,
	VM_OS_WINDOWS,
	VM_OS_MACOS, /* minidumps written by breakpad */
	VM_OS_IOS,
	VM_OS_COUNT
} vm_os;

typedef enum vm_arch {
	VM_ARCH_UNKNOWN,
	VM_ARCH_X86_64,
	VM_ARCH_I386,
	VM_ARCH_AARCH64,
	VM_ARCH_ARM,
	VM_ARCH_RISCV,
	VM_ARCH_COUNT
} vm_arch;

/* Linux only. The signal that ended the process lives here, not in a
 * neutral "why it stopped" struct: its code and address mean what POSIX
 * siginfo says (si_code > 0: a fault address; else the sender's pid),
 * which a Windows exception record does not share. */
typedef struct vm_target_info_lx {
	/* core files: the signal that ended the process (0 none) */
	int signal, signal_code;
	uint64_t signal_addr;
} vm_target_info_lx;

/* Windows only (minidumps; later the live process) */
typedef struct vm_target_info_win {
	/* the exception being handled when the dump was written */
	bool exception;
	uint32_t exception_code;
	uint64_t exception_addr;
	int64_t exception_tid;
	/* how many handles the process had open (-1 unknown) */
	int64_t handles;
	/* the OS version, when known, and where it came from: "systeminfo"
	 * (a minidump's stream), else "peb" or "kuser" (KUSER_SHARED_DATA)
	 * in the dump's memory; a static string */
	bool have_version;
	const char *version_source;
	uint32_t os_major, os_minor, os_build, platform_id;
	uint8_t product_type; /* 1 workstation, 2 domain controller, 3 server */
	uint16_t suite_mask;
	char *csd;            /* the service pack ("Service Pack 1"), NULL none; as name and
				 exe: the target's own, the map's a copy */
} vm_target_info_win;

/* one open handle of a Windows process (a minidump's HandleData) */
typedef struct vm_win_handle {
	uint64_t handle;
	char *type, *name; /* NULL when the dump does not say */
	uint32_t attributes, granted_access, handle_count, pointer_count;
} vm_win_handle;

/* the target facts as the snapshot file, text and JSON spell them
 * ("linux-process", "linux", "x86_64"); "unknown" for the unknown value.
 * The parsers take NULL or any other text to the unknown value. */
const char *vm_target_kind_name(vm_target_kind k);
const char *vm_os_name(vm_os os);
const char *vm_arch_name(vm_arch a);
vm_target_kind vm_target_kind_parse(const char *s);
vm_os vm_os_parse(const char *s);
vm_arch vm_arch_parse(const char *s);

/* What a target says about the process as a whole. */
typedef struct vm_target_info {
	vm_target_kind kind;
	unsigned caps;     /* what the target could do (VM_CAP_*, vmatlas/target.h) */
	int64_t pid;
	char *name;        /* short name (comm) */
	char *exe;         /* path of the executable, may be NULL */
	vm_os os;
	vm_arch arch;
	int bits;
	char state;        /* process state ('?' unknown) */
	uint64_t user_top; /* end of user address space */
	uint64_t page_size;
	/* where argv and environment strings live (0 unknown) */
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t stack_start; /* the initial stack pointer: where argc is */
	char *cwd;            /* current directory, NULL unknown */
	/* when the process started, in the OS's units (Linux: clock ticks
	 * after boot); with pid it names one process even after pid reuse;
	 * 0 unknown */
	uint64_t start_time;
	/* what the target noticed about itself ("; "-separated; a damaged
	 * core file), NULL when nothing; owned by the target */
	const char *warnings;
	vm_target_info_lx lx;
	vm_target_info_win win;
} vm_target_info;

void vm_regions_free(vm_region *r, size_t n);
/* what one region owns (its path, contents, page runs) */
void vm_regions_free_contents(vm_region *r);
void vm_threads_free(vm_thread *t, size_t n);
/* Where a thread's stack proper starts (its top), in the region r that
 * holds its sp: the region's end, except that glibc (and the Windows
 * TEB layout alike) puts a non-main thread's control block and static
 * TLS at the top of its stack mapping, so there it is the thread
 * pointer. The one definition: "in use" is [sp, top) in map, threads
 * and whatis. */
uint64_t vm_thread_stack_top(const vm_thread *th, const vm_region *r);
/* the end of user address space for an OS ("linux", "windows", ...) and
 * word size */
uint64_t vm_user_top(vm_os os, int bits, uint64_t page_size);

#endif
