/* Threads in depth: call stacks (DWARF CFI through libdwfl, with our own
 * register and memory callbacks; x64 Windows unwind information from
 * .pdata; frame pointers and a stack scan where neither describes the code),
 * start routines (glibc's libthread_db), stack use and high-water mark. */
#ifndef VMATLAS_THREADS_H
#define VMATLAS_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "symbols.h"
#include "target.h"

typedef struct vm_frame {
	uint64_t pc;
	uint64_t sp;       /* 0: unknown */
	bool sp_valid;
	bool signal;       /* interrupted by a signal: pc is exact, not a return address */
	const char *method; /* "registers", "cfi", "pdata", "fp", "scan" */
} vm_frame;

typedef struct vm_thread_info {
	const vm_thread *thread;
	vm_frame *frames;
	size_t nframes;
	const char *unwind_note;   /* why the stack ends, or NULL */
	uint64_t start;            /* the start routine (0: unknown) */
	const char *start_source;  /* "thread_db", "entry" */
	uint64_t tls;              /* the thread's TLS/TCB (libthread_db), 0 unknown */
	uint64_t stack_top;        /* where the stack starts (0: unknown) */
	uint64_t used;             /* bytes from sp to stack_top */
	uint64_t high_water;       /* bytes from the deepest non-zero byte to stack_top */
	bool high_water_valid;
} vm_thread_info;

typedef struct vm_threads_report {
	vm_thread_info *t;
	size_t n;
	const char *thread_db_note; /* why libthread_db could not be used, or NULL */
} vm_threads_report;

/* one thread's call stack (as vm_threads_inspect unwinds it); the caller
 * frees *out */
void vm_thread_frames(const vm_map *m, vm_target *t, const vm_thread *th, unsigned max_frames, vm_frame **out,
		      size_t *n);

/* max_frames 0: unlimited (bounded internally) */
int vm_threads_inspect(const vm_map *m, vm_target *t, vm_symbolizer *s, unsigned max_frames,
		       vm_threads_report *out);
void vm_threads_report_free(vm_threads_report *r);

/* libthread_db, for other users (the heap walk needs thread-local
 * addresses); NULL when glibc's thread library is not there */
typedef struct vm_tdb vm_tdb;
vm_tdb *vm_tdb_open(const vm_map *m, vm_target *t, vm_symbolizer *s, const char **why);
bool vm_tdb_start(vm_tdb *d, int64_t tid, uint64_t *start);
/* the address of a thread-local variable: the module's link_map entry
 * and the variable's offset in the module's TLS block */
bool vm_tdb_tls_addr(vm_tdb *d, int64_t tid, uint64_t link_map, uint64_t offset, uint64_t *addr);
void vm_tdb_close(vm_tdb *d);

/* One record of a 32-bit Windows thread's SEH chain
 * (EXCEPTION_REGISTRATION_RECORD: Next, Handler). */
typedef struct vm_seh_record {
	uint64_t addr, next, handler;
} vm_seh_record;

/* Walk the SEH chain from a 32-bit TEB's NT_TIB.ExceptionList: at most
 * max records; stops at the end marker (0xffffffff), an unreadable record
 * or a loop. *ended tells whether the end marker was reached. */
size_t vm_seh_chain(vm_target *t, uint64_t teb, vm_seh_record *out, size_t max, bool *ended);
/* The chain of a thread: from its TEB, else (the TEB or its first record
 * is not in a dump) the lowest chain of records on its stack from sp up
 * whose handlers are all in images' code and that reaches the end
 * marker; *scanned (may be NULL) says it was found that way. */
size_t vm_seh_chain_find(const vm_map *m, vm_target *t, const vm_thread *th, vm_seh_record *out, size_t max,
			 bool *ended, bool *scanned);

#endif
