/* Searching memory: bytes (with wildcards), strings, numbers, pointers
 * into a range, regular expressions. Regions are read in large chunks
 * that overlap by the pattern's length, so no match inside a region is
 * missed; a match across two regions is not a hit. */
#ifndef VMATLAS_SEARCH_H
#define VMATLAS_SEARCH_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "target.h"

typedef enum vm_pattern_kind { VM_PAT_BYTES, VM_PAT_PTR_RANGE, VM_PAT_REGEX } vm_pattern_kind;

typedef struct vm_pattern {
	vm_pattern_kind kind;
	uint8_t *bytes, *mask; /* mask 0xff: must match, 0: any byte */
	size_t len;
	uint64_t lo, hi;       /* VM_PAT_PTR_RANGE: values in [lo, hi) */
	size_t align;          /* hits only at multiples of this (1: anywhere) */
	regex_t re;            /* VM_PAT_REGEX, over runs of printable ASCII */
	char *lit;             /* VM_PAT_REGEX: bytes every match holds (a
				  prefilter: runs without them are skipped) */
	size_t lit_len;
	char *text;            /* how the user wrote it, for messages */
} vm_pattern;

/* patterns from the command line's words; -1 with an error on bad input */
int vm_pattern_hex(vm_pattern *p, const char *hex);         /* "DE AD ?? EF" */
int vm_pattern_ascii(vm_pattern *p, const char *s);
int vm_pattern_utf16(vm_pattern *p, const char *s);          /* UTF-8 in, UTF-16LE out */
int vm_pattern_number(vm_pattern *p, const char *type, const char *value); /* u8..u64 i32 i64 f32 f64 */
int vm_pattern_ptr_range(vm_pattern *p, uint64_t lo, uint64_t hi, int bits);
int vm_pattern_regex(vm_pattern *p, const char *re);
void vm_pattern_free(vm_pattern *p);

#define VM_SEARCH_RO 0x1u   /* read-only regions too */
#define VM_SEARCH_EXEC 0x2u /* executable regions too */

typedef struct vm_search_opts {
	unsigned flags;
	uint64_t from, to;  /* to 0: the end */
	uint64_t max_hits;  /* 0: no limit */
	unsigned threads;   /* 0: as many as the machine has, at most 2 */
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
} vm_search_opts;

typedef struct vm_search_hole {
	uint64_t addr, size;
} vm_search_hole;

typedef struct vm_search_result {
	uint64_t *hits;       /* sorted addresses */
	size_t nhits, hcap;
	uint64_t *hit_len;    /* regex: each match's length; else NULL */
	uint64_t scanned;     /* bytes read and searched */
	uint64_t total;       /* bytes that were to be searched */
	vm_search_hole *holes;/* ranges that could not be read */
	size_t nholes, holecap;
	bool truncated;       /* stopped at max_hits */
	double seconds;
} vm_search_result;

int vm_search(const vm_map *m, vm_target *t, const vm_pattern *p, const vm_search_opts *o,
	      vm_search_result *out);
void vm_search_result_free(vm_search_result *r);
struct vm_expr_ctx;
/* the range a --ptr-to names (LO-HI, a module, a region's path or name, or
 * an expression: its region); -1 not in the target, -2 a malformed
 * expression (error set, prefixed with label) */
int vm_ptr_range(const struct vm_expr_ctx *ec, const char *label, const char *w, uint64_t *lo, uint64_t *hi);
/* would the search look at this region? */
bool vm_search_region_selected(const vm_region *r, unsigned flags);

#endif
