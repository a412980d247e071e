/* Memory search. The regions to search are cut into work items of
 * CHUNK bytes (each read with the pattern's length more, so a match
 * that straddles two items is found by the first); workers take items
 * in address order, read them with one system call each and scan them
 * with memmem, so the first N hits are exact even when the search stops
 * at N. */
#include "vmatlas/search.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define CHUNK (4u << 20)
#define REGEX_OVERLAP 4096u

/* ---- patterns ---- */

static void init(vm_pattern *p, vm_pattern_kind k, const char *text)
{
	memset(p, 0, sizeof *p);
	p->kind = k;
	p->align = 1;
	p->text = xstrdup(text);
}

int vm_pattern_hex(vm_pattern *p, const char *hex)
{
	init(p, VM_PAT_BYTES, hex);
	size_t n = strlen(hex);
	p->bytes = xmalloc(n / 2 + 1);
	p->mask = xmalloc(n / 2 + 1);
	bool any = false;
	for (size_t i = 0; i < n;) {
		if (hex[i] == ' ' || hex[i] == '\t') {
			i++;
			continue;
		}
		if (i + 1 >= n) {
			vm_seterr("hex pattern '%s': an odd number of digits", hex);
			return -1;
		}
		if (hex[i] == '?' && hex[i + 1] == '?') {
			p->bytes[p->len] = 0;
			p->mask[p->len++] = 0;
		} else {
			int a = hexval((unsigned char)hex[i]), b = hexval((unsigned char)hex[i + 1]);
			if (a < 0 || b < 0) {
				vm_seterr("hex pattern '%s': '%c%c' is not a byte", hex, hex[i], hex[i + 1]);
				return -1;
			}
			p->bytes[p->len] = (uint8_t)(a << 4 | b);
			p->mask[p->len++] = 0xff;
			any = true;
		}
		i += 2;
	}
	if (!any) {
		vm_seterr("hex pattern '%s' needs at least one byte that is not ??", hex);
		return -1;
	}
	return 0;
}

int vm_pattern_ascii(vm_pattern *p, const char *s)
{
	init(p, VM_PAT_BYTES, s);
	p->len = strlen(s);
	if (!p->len) {
		vm_seterr("an empty string finds nothing");
		return -1;
	}
	p->bytes = (uint8_t *)xstrdup(s);
	return 0;
}

int vm_pattern_utf16(vm_pattern *p, const char *s)
{
	init(p, VM_PAT_BYTES, s);
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	p->bytes = xmalloc(4 * n + 1);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l;
		if (u[i] < 0x80) {
			cp = u[i];
			l = 1;
		} else if ((u[i] & 0xe0) == 0xc0 && i + 1 < n) {
			cp = (u[i] & 0x1fu) << 6 | (u[i + 1] & 0x3fu);
			l = 2;
		} else if ((u[i] & 0xf0) == 0xe0 && i + 2 < n) {
			cp = (u[i] & 0x0fu) << 12 | (u[i + 1] & 0x3fu) << 6 | (u[i + 2] & 0x3fu);
			l = 3;
		} else if ((u[i] & 0xf8) == 0xf0 && i + 3 < n) {
			cp = (u[i] & 0x07u) << 18 | (u[i + 1] & 0x3fu) << 12 | (u[i + 2] & 0x3fu) << 6 |
			     (u[i + 3] & 0x3fu);
			l = 4;
		} else {
			vm_seterr("'%s' is not valid UTF-8", s);
			return -1;
		}
		i += l;
		uint16_t units[2];
		size_t nu = 1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[0] = (uint16_t)(0xd800 | (cp >> 10));
			units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
			nu = 2;
		} else {
			units[0] = (uint16_t)cp;
		}
		for (size_t k = 0; k < nu; k++) {
			p->bytes[p->len++] = (uint8_t)(units[k] & 0xff);
			p->bytes[p->len++] = (uint8_t)(units[k] >> 8);
		}
	}
	if (!p->len) {
		vm_seterr("an empty string finds nothing");
		return -1;
	}
	return 0;
}

int vm_pattern_number(vm_pattern *p, const char *type, const char *value)
{
	char buf[96];
	snprintf(buf, sizeof buf, "%s %s", type, value);
	init(p, VM_PAT_BYTES, buf);
	uint8_t b[8];
	size_t w = 0;
	char *end = NULL;
	errno = 0;
	if (type[0] == 'f') {
		double d = strtod(value, &end);
		if (!*value || *end || errno) {
			vm_seterr("'%s' is not a number", value);
			return -1;
		}
		if (!strcmp(type, "f32")) {
			float f = (float)d;
			memcpy(b, &f, 4);
			w = 4;
		} else if (!strcmp(type, "f64")) {
			memcpy(b, &d, 8);
			w = 8;
		}
	} else if (type[0] == 'u' || type[0] == 'i') {
		w = !strcmp(type + 1, "8") ? 1 : !strcmp(type + 1, "16") ? 2 : !strcmp(type + 1, "32") ? 4
			: !strcmp(type + 1, "64") ? 8 : 0;
		uint64_t v;
		bool neg = value[0] == '-';
		if (!parse_u64(neg ? value + 1 : value, &v) || (neg && type[0] == 'u')) {
			vm_seterr("'%s' is not a %s", value, type);
			return -1;
		}
		if (w && w < 8) {
			uint64_t limit = type[0] == 'u' ? (1ull << (8 * w)) - 1 : (1ull << (8 * w - 1)) - !neg;
			if (v > limit) {
				vm_seterr("%s does not fit in a %s", value, type);
				return -1;
			}
		} else if (type[0] == 'i' && v > (uint64_t)INT64_MAX + neg) {
			vm_seterr("%s does not fit in a %s", value, type);
			return -1;
		}
		if (neg)
			v = 0 - v;
		memcpy(b, &v, 8); /* little-endian: the low bytes first */
	}
	if (!w) {
		vm_seterr("unknown number type '%s'", type);
		return -1;
	}
	p->bytes = xmalloc(w);
	memcpy(p->bytes, b, w);
	p->len = w;
	return 0;
}

int vm_pattern_ptr_range(vm_pattern *p, uint64_t lo, uint64_t hi, int bits)
{
	char buf[64];
	snprintf(buf, sizeof buf, "0x%llx-0x%llx", (unsigned long long)lo, (unsigned long long)hi);
	init(p, VM_PAT_PTR_RANGE, buf);
	p->lo = lo;
	p->hi = hi;
	p->len = bits == 32 ? 4 : 8;
	p->align = p->len;
	return 0;
}

/* the ']' that closes the bracket expression at re[i] ([:alpha:], [.x.]
 * and [=x=] inside it hold a ']' of their own), or n */
static size_t bracket_end(const char *re, size_t n, size_t i)
{
	size_t j = i + 1;
	if (j < n && re[j] == '^')
		j++;
	if (j < n && re[j] == ']')
		j++;
	while (j < n && re[j] != ']') {
		if (re[j] == '[' && j + 1 < n && strchr(":.=", re[j + 1])) {
			const char *close = strstr(re + j + 2, (char[]){ re[j + 1], ']', 0 });
			if (close) {
				j = (size_t)(close - re) + 2;
				continue;
			}
		}
		j++;
	}
	return j;
}

/* The longest run of characters every match of an extended regular
 * expression must hold, in order and together ("ERROR: ([0-9]+) failed"
 * -> "ERROR: "); none when the expression has a top-level alternation or
 * nothing certain. Conservative: a character followed by ?, * or {0 is
 * optional and ends the run; groups and brackets end it too. */
static void regex_literal(const char *re, char **out, size_t *outlen)
{
	size_t n = strlen(re), bestlen = 0, curlen = 0;
	char *buf = xmalloc(n + 1), *bestbuf = xmalloc(n + 1);
	int depth = 0;
	*out = NULL;
	*outlen = 0;
	/* a top-level alternation: no one literal holds for every match */
	for (size_t i = 0; i < n; i++)
		if (re[i] == '\\' && i + 1 < n)
			i++;
		else if (re[i] == '[') /* skip a bracket expression */
			i = bracket_end(re, n, i);
		else if (re[i] == '(')
			depth++;
		else if (re[i] == ')')
			depth--;
		else if (re[i] == '|' && depth == 0)
			goto done; /* alternatives: no one literal */
#define END_RUN()                                                     \
	do {                                                          \
		if (curlen > bestlen) {                               \
			memcpy(bestbuf, buf, curlen);                 \
			bestlen = curlen;                             \
		}                                                     \
		curlen = 0;                                           \
	} while (0)
	for (size_t i = 0; i < n; i++) {
		char c = re[i];
		bool literal = false;
		char lc = 0;
		if (c == '\\' && i + 1 < n) {
			char e = re[i + 1];
			i++;
			/* an escaped punctuation character is itself; \w, \d ...
			 * and back-references are not literals */
			if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))) {
				literal = true;
				lc = e;
			}
		} else if (c == '[') {
			i = bracket_end(re, n, i);
		} else if (c == '{') {
			/* an interval: its count is no literal */
			while (i + 1 < n && re[i] != '}')
				i++;
		} else if (c == '(') {
			/* a group: what is inside may repeat or be optional */
			int d = 1;
			size_t j = i + 1;
			for (; j < n && d; j++) {
				if (re[j] == '\\' && j + 1 < n)
					j++;
				else if (re[j] == '(')
					d++;
				else if (re[j] == ')')
					d--;
			}
			i = j - 1;
		} else if (!strchr(".^$*+?{}|)", c)) {
			literal = true;
			lc = c;
		}
		char q = i + 1 < n ? re[i + 1] : 0;
		if (literal) {
			bool optional = q == '?' || q == '*' || (q == '{' && i + 2 < n && re[i + 2] == '0');
			if (!optional)
				buf[curlen++] = lc;
			if (optional || q == '+' || q == '{')
				END_RUN(); /* what follows may repeat or be absent */
		} else {
			END_RUN();
		}
	}
	END_RUN();
#undef END_RUN
	if (bestlen >= 2) {
		*out = xstrndup(bestbuf, bestlen);
		*outlen = bestlen;
	}
done:
	free(buf);
	free(bestbuf);
}

/* regexec on s[0..len): glibc's REG_STARTEND and TRE's regnexec take the
 * length, where plain regexec measures the string on every call, which
 * made a run of matches quadratic in the run's length */
static int regexec_len(const regex_t *re, const char *s, size_t len, regmatch_t *m, int eflags)
{
#if defined(REG_STARTEND)
	m->rm_so = 0;
	m->rm_eo = (regoff_t)len;
	return regexec(re, s, 1, m, eflags | REG_STARTEND);
#elif defined(regnexec)
	return regnexec(re, s, len, 1, m, eflags);
#else
	(void)len;
	return regexec(re, s, 1, m, eflags);
#endif
}

int vm_pattern_regex(vm_pattern *p, const char *re)
{
	init(p, VM_PAT_REGEX, re);
	int rc = regcomp(&p->re, re, REG_EXTENDED);
	if (rc) {
		char msg[128];
		regerror(rc, &p->re, msg, sizeof msg);
		vm_seterr("bad regular expression '%s': %s", re, msg);
		p->kind = VM_PAT_BYTES; /* nothing to free */
		return -1;
	}
	p->len = 1;
	regex_literal(re, &p->lit, &p->lit_len);
	return 0;
}

void vm_pattern_free(vm_pattern *p)
{
	if (p->kind == VM_PAT_REGEX)
		regfree(&p->re);
	free(p->bytes);
	free(p->mask);
	free(p->text);
	free(p->lit);
	memset(p, 0, sizeof *p);
}

/* ---- scanning one buffer ---- */

typedef struct hitlist {
	uint64_t *a, *len;
	size_t n, cap, lcap;
} hitlist;

static void add_hit(hitlist *h, uint64_t addr, uint64_t len, bool with_len)
{
	*ARRAY_PUSH(h->a, h->n, h->cap) = addr;
	if (with_len) {
		ARRAY_GROW(h->len, h->lcap, h->n);
		h->len[h->n - 1] = len;
	}
}

/* the longest run of exact bytes: what memmem looks for */
static void anchor(const vm_pattern *p, size_t *at, size_t *len)
{
	*at = 0;
	*len = p->len;
	if (!p->mask)
		return;
	size_t best = 0, bl = 0;
	for (size_t i = 0; i < p->len;) {
		if (!p->mask[i]) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < p->len && p->mask[j])
			j++;
		if (j - i > bl) {
			best = i;
			bl = j - i;
		}
		i = j;
	}
	*at = best;
	*len = bl;
}

static bool full_match(const vm_pattern *p, const uint8_t *at)
{
	for (size_t i = 0; i < p->len; i++)
		if ((at[i] & (p->mask ? p->mask[i] : 0xff)) != (p->bytes[i] & (p->mask ? p->mask[i] : 0xff)))
			return false;
	return true;
}

/* hits that start before `limit` in buf (address base) */
static void scan(const vm_pattern *p, const uint8_t *buf, size_t len, size_t limit, uint64_t base,
		 hitlist *h)
{
	if (p->kind == VM_PAT_PTR_RANGE) {
		size_t w = p->len;
		size_t first = (size_t)((w - base % w) % w);
		for (size_t o = first; o + w <= len && o < limit; o += w) {
			uint64_t v = 0;
			memcpy(&v, buf + o, w);
			if (v >= p->lo && v < p->hi)
				add_hit(h, base + o, w, false);
		}
		return;
	}
	if (p->kind == VM_PAT_REGEX) {
		/* runs of printable ASCII, each matched as a string; with a
		 * literal every match holds, only the runs that hold it */
		char *s = NULL;
		size_t scap = 0;
		for (size_t i = 0; i < len && i < limit;) {
			if (p->lit_len) {
				const uint8_t *f = memmem(buf + i, len - i, p->lit, p->lit_len);
				if (!f)
					break;
				size_t k = (size_t)(f - buf);
				while (k > i && buf[k - 1] >= 0x20 && buf[k - 1] < 0x7f)
					k--;
				i = k; /* the start of the run that holds it */
			}
			if (buf[i] < 0x20 || buf[i] >= 0x7f) {
				i++;
				continue;
			}
			if (i >= limit)
				break;
			size_t j = i;
			while (j < len && buf[j] >= 0x20 && buf[j] < 0x7f)
				j++;
			ARRAY_GROW(s, scap, j - i + 1);
			memcpy(s, buf + i, j - i);
			s[j - i] = 0;
			regmatch_t m;
			size_t off = 0;
			while (off <= j - i &&
			       regexec_len(&p->re, s + off, j - i - off, &m, off ? REG_NOTBOL : 0) == 0) {
				size_t at = i + off + (size_t)m.rm_so;
				/* as grep -o: an empty match ('x*' at every byte) is no hit */
				if (at < limit && m.rm_eo > m.rm_so)
					add_hit(h, base + at, (uint64_t)(m.rm_eo - m.rm_so), true);
				off += (size_t)(m.rm_eo > m.rm_so ? m.rm_eo : m.rm_so + 1);
			}
			i = j;
		}
		free(s);
		return;
	}
	size_t at, alen;
	anchor(p, &at, &alen);
	const uint8_t *pos = buf + at, *end = buf + len;
	while (pos + alen <= end) {
		const uint8_t *f = alen == 1 ? memchr(pos, p->bytes[at], (size_t)(end - pos))
					     : memmem(pos, (size_t)(end - pos), p->bytes + at, alen);
		if (!f)
			break;
		size_t start = (size_t)(f - buf) - at;
		if (start >= limit)
			break;
		if (start + p->len <= len && full_match(p, buf + start) && (base + start) % p->align == 0)
			add_hit(h, base + start, p->len, false);
		pos = f + 1;
	}
}

/* ---- regions and workers ---- */

bool vm_search_region_selected(const vm_region *r, unsigned flags)
{
	if (r->state != VM_STATE_COMMIT || !(r->prot & VM_PROT_READ) || r->type == VM_TYPE_SPECIAL ||
	    (r->flags & VM_RF_NO_DATA))
		return false;
	/* unknown protection: it may well be writable data; searched */
	if (r->flags & VM_RF_PROT_UNKNOWN)
		return true;
	if (r->prot & VM_PROT_EXEC)
		return flags & VM_SEARCH_EXEC;
	if (!(r->prot & VM_PROT_WRITE))
		return flags & VM_SEARCH_RO;
	return true;
}

/* what to scan: [lo, hi) of one region, read up to end; cut into
 * CHUNK-sized items when a worker takes them, so memory does not grow
 * with the size a region claims */
typedef struct span {
	uint64_t lo, hi, end;
	uint64_t first; /* index of its first item */
} span;

typedef struct item {
	uint64_t start, len, end; /* scan [start, start+len), may read to end */
} item;

typedef struct shared {
	vm_target *t;
	const vm_pattern *p;
	const vm_search_opts *o;
	span *spans;
	size_t nspans;
	uint64_t nitems;
	atomic_uint_least64_t next;
	atomic_uint_least64_t done, found;
	atomic_bool stop;
	size_t overlap;
	uint64_t page;
} shared;

typedef struct worker {
	shared *sh;
	hitlist hits;
	vm_search_hole *holes;
	size_t nholes, hcap;
	uint64_t scanned;
	int id;
	pthread_t th;
} worker;

static void hole(worker *w, uint64_t addr, uint64_t size)
{
	if (w->nholes && w->holes[w->nholes - 1].addr + w->holes[w->nholes - 1].size == addr) {
		w->holes[w->nholes - 1].size += size;
		return;
	}
	vm_search_hole *h = ARRAY_PUSH(w->holes, w->nholes, w->hcap);
	h->addr = addr;
	h->size = size;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* item i: in the last span whose first item is at most i */
static item item_at(const shared *sh, uint64_t i)
{
	size_t lo = 0, hi = sh->nspans;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (sh->spans[mid].first <= i)
			lo = mid;
		else
			hi = mid;
	}
	const span *s = &sh->spans[lo];
	uint64_t start = s->lo + (i - s->first) * CHUNK;
	item it = { start, s->hi - start < CHUNK ? s->hi - start : CHUNK, s->end };
	return it;
}

static void *work(void *arg)
{
	worker *w = arg;
	shared *sh = w->sh;
	uint8_t *buf = xmalloc(CHUNK + sh->overlap);
	double last = 0;
	for (;;) {
		if (atomic_load(&sh->stop))
			break;
		uint64_t i = atomic_fetch_add(&sh->next, 1);
		if (i >= sh->nitems)
			break;
		item one = item_at(sh, i);
		const item *it = &one;
		uint64_t c = it->start, stop = it->start + it->len;
		while (c < stop) {
			/* read this piece and the overlap, within the region */
			size_t want = (size_t)(stop - c) + sh->overlap;
			if (want > it->end - c)
				want = (size_t)(it->end - c);
			ssize_t got = vm_read(sh->t, c, buf, want);
			size_t g = got > 0 ? (size_t)got : 0;
			size_t before = w->hits.n;
			scan(sh->p, buf, g, g == want ? (size_t)(stop - c) : g, c, &w->hits);
			w->scanned += g < stop - c ? g : stop - c;
			atomic_fetch_add(&sh->found, w->hits.n - before);
			if (g == want || c + g >= stop)
				break;
			/* an unreadable page: note it, go on after it */
			uint64_t bad = c + g, pg = sh->page;
			uint64_t next = (bad / pg + 1) * pg;
			hole(w, bad, (next < stop ? next : stop) - bad);
			c = next;
		}
		atomic_fetch_add(&sh->done, it->len);
		if (sh->o->max_hits && atomic_load(&sh->found) >= sh->o->max_hits)
			atomic_store(&sh->stop, true);
		if (w->id == 0 && sh->o->progress) {
			double t = now();
			if (t - last > 0.1) {
				sh->o->progress(atomic_load(&sh->done), 0, sh->o->progress_arg);
				last = t;
			}
		}
	}
	free(buf);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_hole(const void *a, const void *b)
{
	return cmp_u64(&((const vm_search_hole *)a)->addr, &((const vm_search_hole *)b)->addr);
}

int vm_search(const vm_map *m, vm_target *t, const vm_pattern *p, const vm_search_opts *o,
	      vm_search_result *out)
{
	memset(out, 0, sizeof *out);
	double t0 = now();
	shared sh = { .t = t, .p = p, .o = o };
	sh.page = m->info.page_size;
	sh.overlap = p->kind == VM_PAT_REGEX ? REGEX_OVERLAP : p->len ? p->len - 1 : 0;
	size_t scap = 0;
	uint64_t to = o->to ? o->to : UINT64_MAX;
	worker w0 = { .sh = &sh };
	for (size_t i = 0; i < m->nregions; i++) {
		const vm_region *r = &m->regions[i];
		if (!vm_search_region_selected(r, o->flags))
			continue;
		/* a file target holds what it holds: the rest is a hole, not
		 * terabytes to read */
		uint64_t data_end = r->base + vm_region_data_size(r);
		uint64_t lo = r->base > o->from ? r->base : o->from;
		uint64_t hi = r->base + r->size < to ? r->base + r->size : to;
		if (hi > data_end) {
			if (hi > lo)
				hole(&w0, data_end > lo ? data_end : lo, hi - (data_end > lo ? data_end : lo));
			hi = data_end;
		}
		if (lo >= hi)
			continue;
		span *sp = ARRAY_PUSH(sh.spans, sh.nspans, scap);
		sp->lo = lo;
		sp->hi = hi;
		sp->end = data_end; /* a match may end past `to`, not past the region's data */
		sp->first = sh.nitems;
		sh.nitems += (hi - lo + CHUNK - 1) / CHUNK;
		out->total += hi - lo;
	}
	unsigned n = o->threads ? o->threads : (sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1);
	if (n > 8)
		n = 8;
	if (sh.nitems < n)
		n = sh.nitems ? (unsigned)sh.nitems : 1;
	worker *w = xcalloc(n, sizeof *w);
	w[0] = w0;
	for (unsigned i = 0; i < n; i++) {
		w[i].sh = &sh;
		w[i].id = (int)i;
	}
	for (unsigned i = 1; i < n; i++)
		if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0)
			w[i].id = -1; /* runs below instead */
	work(&w[0]);
	for (unsigned i = 1; i < n; i++) {
		if (w[i].id < 0)
			work(&w[i]);
		else
			pthread_join(w[i].th, NULL);
	}
	bool with_len = p->kind == VM_PAT_REGEX;
	for (unsigned i = 0; i < n; i++) {
		for (size_t k = 0; k < w[i].hits.n; k++)
			*ARRAY_PUSH(out->hits, out->nhits, out->hcap) = w[i].hits.a[k];
		for (size_t k = 0; k < w[i].nholes; k++)
			*ARRAY_PUSH(out->holes, out->nholes, out->holecap) = w[i].holes[k];
		out->scanned += w[i].scanned;
	}
	if (with_len) {
		/* keep lengths with their hits: sort pairs */
		size_t total = out->nhits, k = 0;
		uint64_t(*pairs)[2] = xcalloc(total ? total : 1, sizeof *pairs);
		for (unsigned i = 0; i < n; i++)
			for (size_t j = 0; j < w[i].hits.n; j++, k++) {
				pairs[k][0] = w[i].hits.a[j];
				pairs[k][1] = w[i].hits.len[j];
			}
		if (total > 1)
			qsort(pairs, total, sizeof *pairs, cmp_u64);
		out->hit_len = xcalloc(total ? total : 1, sizeof *out->hit_len);
		for (size_t j = 0; j < total; j++) {
			out->hits[j] = pairs[j][0];
			out->hit_len[j] = pairs[j][1];
		}
		free(pairs);
	} else if (out->nhits > 1) {
		qsort(out->hits, out->nhits, sizeof *out->hits, cmp_u64);
	}
	if (out->nholes > 1)
		qsort(out->holes, out->nholes, sizeof *out->holes, cmp_hole);
	if (o->max_hits && out->nhits > o->max_hits) {
		out->nhits = (size_t)o->max_hits;
		out->truncated = true;
	}
	if (atomic_load(&sh.stop))
		out->truncated = true;
	for (unsigned i = 0; i < n; i++) {
		free(w[i].hits.a);
		free(w[i].hits.len);
		free(w[i].holes);
	}
	free(w);
	free(sh.spans);
	out->seconds = now() - t0;
	return 0;
}

void vm_search_result_free(vm_search_result *r)
{
	free(r->hits);
	free(r->hit_len);
	free(r->holes);
	memset(r, 0, sizeof *r);
}
