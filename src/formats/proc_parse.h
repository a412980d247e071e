/* Parsers for the text files of /proc/PID. Pure functions over buffers,
 * so they are unit-tested and fuzzed without a process. */
#ifndef VMATLAS_PROC_PARSE_H
#define VMATLAS_PROC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmatlas/model.h"

/* One header line of maps/smaps ("start-end perms offset dev inode path"),
 * without its newline. Fills the region (path allocated); false if the
 * line is malformed. */
bool proc_parse_maps_line(const char *line, size_t len, vm_region *r);

/* A whole maps or smaps file. Regions come back in file order with
 * their statistics when the text has them. Returns -1 (error set) on a
 * malformed file. */
int proc_parse_maps(const char *buf, size_t len, vm_region **out, size_t *n);

/* The same, fed piece by piece: each call takes whole lines only and
 * returns how many bytes it consumed (-1 on a malformed file); call
 * with final=true for the last piece (a line without a newline). */
typedef struct proc_maps_parser {
	vm_region *regs;
	size_t n, cap;
} proc_maps_parser;

ssize_t proc_maps_feed(proc_maps_parser *p, const char *buf, size_t len, bool final);
void proc_maps_parser_free(proc_maps_parser *p);

/* Set state, type and flags from prot and path the way Linux means them. */
void proc_classify_region(vm_region *r);

/* /proc/PID/stat: the fields we use. comm may hold spaces and ')'. */
typedef struct proc_stat {
	char comm[64];
	char state;
	uint64_t flags;
	uint64_t start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	int64_t num_threads;
	uint64_t start_time; /* clock ticks after boot */
} proc_stat;

bool proc_parse_stat(const char *buf, size_t len, proc_stat *st);

/* /proc/PID/task/TID/syscall: "nr a1..a6 sp pc" when blocked in a
 * syscall, "running" otherwise. */
bool proc_parse_syscall(const char *buf, size_t len, uint64_t *sp, uint64_t *pc);

#define PF_KTHREAD_FLAG 0x00200000u

#endif
