/* Value scans, as scanmem and Cheat Engine do them: find every place
 * that holds a number, then narrow the candidates round by round
 * (changed, unchanged, increased, decreased, equal to ...) as the program
 * runs, keeping the candidate set in a file between rounds. */
#ifndef VMATLAS_SCAN_H
#define VMATLAS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "search.h"
#include "target.h"

#define VM_SCAN_VERSION 1
/* a bound on the candidate set (and so on memory and file size) */
#define VM_SCAN_MAX (1u << 24)

typedef enum vm_scan_type {
	VM_SCAN_U8, VM_SCAN_U16, VM_SCAN_U32, VM_SCAN_U64,
	VM_SCAN_I8, VM_SCAN_I16, VM_SCAN_I32, VM_SCAN_I64,
	VM_SCAN_F32, VM_SCAN_F64, VM_SCAN_TYPE_COUNT
} vm_scan_type;

typedef enum vm_scan_test {
	VM_SCAN_CHANGED, VM_SCAN_UNCHANGED, VM_SCAN_INCREASED, VM_SCAN_DECREASED,
	VM_SCAN_EQ, VM_SCAN_NE, VM_SCAN_GT, VM_SCAN_LT
} vm_scan_test;

typedef struct vm_scan {
	vm_scan_type type;
	bool unaligned;       /* candidates at any byte, not only multiples of the size */
	int64_t pid;
	uint64_t start_time;  /* of the process (vm_target_info), to catch pid reuse */
	uint32_t round;       /* 1 after start, +1 per next */
	size_t n;
	uint64_t *addr;       /* ascending */
	uint64_t *value;      /* the value's bits, zero-extended */
} vm_scan;

/* by name: "u8" ... "f64"; -1 unknown */
int vm_scan_type_by_name(const char *name);
const char *vm_scan_type_name(vm_scan_type t);
size_t vm_scan_type_size(vm_scan_type t);
/* the bits of a value of the type written as text; -1 with an error */
int vm_scan_parse(vm_scan_type t, const char *text, uint64_t *bits);
/* the value as text */
void vm_scan_format(vm_scan_type t, uint64_t bits, char *buf, size_t n);

/* every place in the regions `o` selects that holds `value` */
int vm_scan_start(const vm_map *m, vm_target *t, vm_scan_type type, uint64_t value, bool unaligned,
		  const vm_search_opts *o, vm_scan *out);
/* keeps the candidates whose value now passes the test (against the
 * value kept from the last round, or `operand`), with their new values;
 * candidates that cannot be read any more are dropped and counted */
int vm_scan_next(vm_scan *s, vm_target *t, vm_scan_test test, uint64_t operand, size_t *unreadable,
		 uint64_t *was /* optional, s->n entries: the kept ones' last values */);
/* the current values of the candidates, without narrowing; `ok[i]` false
 * when candidate i cannot be read */
void vm_scan_read(const vm_scan *s, vm_target *t, uint64_t *now, bool *ok);

int vm_scan_write(const vm_scan *s, const char *path);
int vm_scan_read_file(const char *path, vm_scan *out);
int vm_scan_read_buf(const uint8_t *buf, size_t len, vm_scan *out);
void vm_scan_free(vm_scan *s);

#endif
