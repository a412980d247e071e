/* Value scans: the first round is a search for the value's bytes; later
 * rounds read every candidate again, in spans that cover neighbours with
 * one read, and keep those that pass. */
#include "vmatlas/scan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/util.h"
#include "vmatlas/error.h"

static uint64_t load(const uint8_t *p, size_t size)
{
	uint64_t v = 0;
	for (size_t i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int vm_scan_parse(vm_scan_type t, const char *text, uint64_t *bits)
{
	vm_pattern p;
	if (vm_pattern_number(&p, vm_scan_type_name(t), text) < 0) {
		vm_pattern_free(&p);
		return -1;
	}
	*bits = load(p.bytes, p.len);
	vm_pattern_free(&p);
	return 0;
}

static int64_t as_signed(uint64_t bits, size_t size)
{
	unsigned shift = 64 - 8 * (unsigned)size;
	return (int64_t)(bits << shift) >> shift; /* sign-extend (arithmetic shift, as gcc does) */
}

static double as_float(vm_scan_type t, uint64_t bits)
{
	if (t == VM_SCAN_F32) {
		float f;
		uint32_t u = (uint32_t)bits;
		memcpy(&f, &u, 4);
		return f;
	}
	double d;
	memcpy(&d, &bits, 8);
	return d;
}

void vm_scan_format(vm_scan_type t, uint64_t bits, char *buf, size_t n)
{
	if (t >= VM_SCAN_F32)
		snprintf(buf, n, "%.9g", as_float(t, bits));
	else if (t >= VM_SCAN_I8)
		snprintf(buf, n, "%lld", (long long)as_signed(bits, vm_scan_type_size(t)));
	else
		snprintf(buf, n, "%llu", (unsigned long long)bits);
}

/* -1, 0, 1 as a < b; 2 when unordered (a NaN) */
static int compare(vm_scan_type t, uint64_t a, uint64_t b)
{
	if (t >= VM_SCAN_F32) {
		double x = as_float(t, a), y = as_float(t, b);
		if (isnan(x) || isnan(y))
			return 2;
		return (x > y) - (x < y);
	}
	if (t >= VM_SCAN_I8) {
		int64_t x = as_signed(a, vm_scan_type_size(t)), y = as_signed(b, vm_scan_type_size(t));
		return (x > y) - (x < y);
	}
	return (a > b) - (a < b);
}

static bool passes(vm_scan_type t, vm_scan_test test, uint64_t now, uint64_t before, uint64_t operand)
{
	switch (test) {
	case VM_SCAN_CHANGED: return now != before;
	case VM_SCAN_UNCHANGED: return now == before;
	case VM_SCAN_INCREASED: return compare(t, now, before) == 1;
	case VM_SCAN_DECREASED: return compare(t, now, before) == -1;
	case VM_SCAN_EQ: return compare(t, now, operand) == 0;
	case VM_SCAN_NE: return compare(t, now, operand) != 0;
	case VM_SCAN_GT: return compare(t, now, operand) == 1;
	case VM_SCAN_LT: return compare(t, now, operand) == -1;
	}
	return false;
}

int vm_scan_start(const vm_map *m, vm_target *t, vm_scan_type type, uint64_t value, bool unaligned,
		  const vm_search_opts *o, vm_scan *out)
{
	memset(out, 0, sizeof *out);
	size_t size = vm_scan_type_size(type);
	if (!size) {
		vm_seterr("unknown value type");
		return -1;
	}
	vm_pattern p = { 0 };
	p.kind = VM_PAT_BYTES;
	p.len = size;
	p.align = unaligned ? 1 : size;
	p.bytes = xmalloc(size);
	p.mask = xmalloc(size);
	for (size_t i = 0; i < size; i++) {
		p.bytes[i] = (uint8_t)(value >> (8 * i));
		p.mask[i] = 0xff;
	}
	p.text = xstrdup(vm_scan_type_name(type));
	vm_search_opts so = *o;
	so.max_hits = VM_SCAN_MAX + 1ull;
	vm_search_result r;
	int rc = vm_search(m, t, &p, &so, &r);
	vm_pattern_free(&p);
	if (rc < 0)
		return -1;
	if (r.nhits > VM_SCAN_MAX) {
		vm_search_result_free(&r);
		vm_seterr("more than %u places hold that value: narrow the range (--from, --to) or start from a rarer value",
			  VM_SCAN_MAX);
		return -1;
	}
	vm_target_info in;
	if (vm_target_info_get(t, &in) < 0)
		memset(&in, 0, sizeof in);
	out->type = type;
	out->unaligned = unaligned;
	out->pid = in.pid;
	out->start_time = in.start_time;
	out->round = 1;
	out->n = r.nhits;
	out->addr = r.hits; /* sorted, from the search */
	r.hits = NULL;
	out->value = xcalloc(out->n ? out->n : 1, sizeof *out->value);
	for (size_t i = 0; i < out->n; i++)
		out->value[i] = value;
	vm_search_result_free(&r);
	return 0;
}

/* spans of neighbouring candidates, read at once */
#define SPAN_MAX (256u << 10)
#define SPAN_GAP 4096u

void vm_scan_read(const vm_scan *s, vm_target *t, uint64_t *now, bool *ok)
{
	size_t size = vm_scan_type_size(s->type);
	uint8_t *buf = xmalloc(SPAN_MAX + 8);
	for (size_t i = 0; i < s->n;) {
		/* candidates i..j-1 in one span */
		uint64_t lo = s->addr[i], hi = lo + size;
		size_t j = i + 1;
		while (j < s->n && s->addr[j] >= lo && s->addr[j] - lo + size <= SPAN_MAX &&
		       s->addr[j] - (hi > s->addr[j] ? s->addr[j] : hi) <= SPAN_GAP) {
			if (s->addr[j] + size > hi)
				hi = s->addr[j] + size;
			j++;
		}
		if (hi < lo) /* wrapped at the top of the address space */
			hi = UINT64_MAX;
		ssize_t got = vm_read(t, lo, buf, (size_t)(hi - lo));
		uint64_t g = got > 0 ? (uint64_t)got : 0;
		for (size_t k = i; k < j; k++) {
			uint64_t off = s->addr[k] - lo;
			ok[k] = off + size <= g;
			now[k] = ok[k] ? load(buf + off, size) : 0;
		}
		/* a short read: candidates from the next page on are read again */
		if (g < hi - lo) {
			uint64_t bad = lo + g, resume = (bad | 4095u) + 1;
			size_t k = i;
			while (k < j && s->addr[k] < resume)
				k++;
			if (resume > bad && k < j) {
				i = k;
				continue;
			}
		}
		i = j;
	}
	free(buf);
}

int vm_scan_next(vm_scan *s, vm_target *t, vm_scan_test test, uint64_t operand, size_t *unreadable,
		 uint64_t *was)
{
	uint64_t *now = xcalloc(s->n ? s->n : 1, sizeof *now);
	bool *ok = xcalloc(s->n ? s->n : 1, sizeof *ok);
	vm_scan_read(s, t, now, ok);
	size_t k = 0;
	*unreadable = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!ok[i]) {
			(*unreadable)++;
			continue;
		}
		if (passes(s->type, test, now[i], s->value[i], operand)) {
			if (was)
				was[k] = s->value[i];
			s->addr[k] = s->addr[i];
			s->value[k] = now[i];
			k++;
		}
	}
	s->n = k;
	s->round++;
	free(now);
	free(ok);
	return 0;
}

