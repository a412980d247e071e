#include "proc_parse.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* hex run at *p (within end); advances *p */
static bool take_hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	while (*p < end && is_hex(**p))
		(*p)++;
	size_t n = (size_t)(*p - s);
	while (n > 16 && *s == '0') {
		s++;
		n--;
	}
	return parse_hex_n(s, n, out);
}

static bool take_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && **p == ' ')
		(*p)++;
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);
	return n >= m && memcmp(s + n - m, suf, m) == 0;
}

bool proc_parse_maps_line(const char *line, size_t len, vm_region *r)
{
	const char *p = line, *end = line + len;
	uint64_t start, stop, off, maj, min, ino;
	memset(r, 0, sizeof *r);
	if (!take_hex(&p, end, &start) || !take_char(&p, end, '-') || !take_hex(&p, end, &stop) ||
	    !take_char(&p, end, ' '))
		return false;
	if (stop <= start)
		return false;
	if (end - p < 5)
		return false;
	uint32_t prot = 0;
	if (p[0] == 'r')
		prot |= VM_PROT_READ;
	else if (p[0] != '-')
		return false;
	if (p[1] == 'w')
		prot |= VM_PROT_WRITE;
	else if (p[1] != '-')
		return false;
	if (p[2] == 'x')
		prot |= VM_PROT_EXEC;
	else if (p[2] != '-')
		return false;
	if (p[3] == 's')
		prot |= VM_PROT_SHARED;
	else if (p[3] != 'p')
		return false;
	p += 4;
	if (!take_char(&p, end, ' ') || !take_hex(&p, end, &off) || !take_char(&p, end, ' ') ||
	    !take_hex(&p, end, &maj) || !take_char(&p, end, ':') || !take_hex(&p, end, &min))
		return false;
	if (!take_char(&p, end, ' '))
		return false;
	/* the inode is decimal */
	const char *is = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == is)
		return false;
	char tmp[24];
	size_t il = (size_t)(p - is);
	if (il >= sizeof tmp)
		return false;
	memcpy(tmp, is, il);
	tmp[il] = 0;
	if (!parse_u64(tmp, &ino))
		return false;
	if (p < end && *p != ' ')
		return false;
	skip_spaces(&p, end);

	r->base = start;
	r->size = stop - start;
	r->prot = prot;
	r->offset = off;
	r->lx.dev_major = (uint32_t)maj;
	r->lx.dev_minor = (uint32_t)min;
	r->lx.inode = ino;
	r->alloc = (size_t)-1;
	size_t plen = (size_t)(end - p);
	if (plen > 0) {
		if (p[0] == '/' && has_suffix(p, plen, " (deleted)")) {
			r->flags |= VM_RF_DELETED;
			plen -= strlen(" (deleted)");
		}
		r->path = xstrndup(p, plen);
	}
	proc_classify_region(r);
	return true;
}

static bool starts(const char *s, const char *pre)
{
	return strncmp(s, pre, strlen(pre)) == 0;
}

void proc_classify_region(vm_region *r)
{
	bool shared = r->prot & VM_PROT_SHARED;
	r->state = (r->prot & (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC)) ? VM_STATE_COMMIT
									     : VM_STATE_RESERVE;
	const char *p = r->path;
	if (!p || !*p) {
		r->type = shared ? VM_TYPE_SHAREABLE : VM_TYPE_PRIVATE;
		return;
	}
	if (p[0] == '[') {
		if (starts(p, "[anon_shmem:")) {
			r->flags |= VM_RF_ANON_NAME;
			r->type = VM_TYPE_SHAREABLE;
		} else if (starts(p, "[anon:")) {
			r->flags |= VM_RF_ANON_NAME;
			r->type = shared ? VM_TYPE_SHAREABLE : VM_TYPE_PRIVATE;
		} else if (strcmp(p, "[heap]") == 0 || starts(p, "[stack")) {
			r->flags |= VM_RF_PSEUDO;
			r->type = VM_TYPE_PRIVATE;
		} else {
			/* [vdso] [vvar] [vvar_vclock] [vsyscall] [uprobes] [sigpage] ... */
			r->flags |= VM_RF_PSEUDO;
			r->type = VM_TYPE_SPECIAL;
		}
		return;
	}
	/* shared memory objects: anonymous shared mappings show up as
	 * /dev/zero, SysV segments as /SYSV..., memfd as /memfd:... */
	if (shared && (starts(p, "/dev/zero") || starts(p, "/SYSV") || starts(p, "/memfd:") ||
		       starts(p, "/dev/shm/") || starts(p, "/i915") || starts(p, "/drm mm object"))) {
		r->type = VM_TYPE_SHAREABLE;
		return;
	}
	r->type = VM_TYPE_MAPPED;
}

/* smaps "Key:   123 kB" lines */
typedef struct smaps_key {
	const char *name;
	size_t len;
	size_t off; /* offset into vm_page_stats */
} smaps_key;

#define K(n, f) { n, sizeof(n) - 1, offsetof(vm_page_stats, f) }
static const smaps_key smaps_keys[] = {
	K("Rss", rss),
	K("Pss", lx.pss),
	K("Pss_Dirty", lx.pss_dirty),
	K("Shared_Clean", shared_clean),
	K("Shared_Dirty", shared_dirty),
	K("Private_Clean", private_clean),
	K("Private_Dirty", private_dirty),
	K("Referenced", lx.referenced),
	K("Anonymous", lx.anonymous),
	K("LazyFree", lx.lazyfree),
	K("KSM", lx.ksm),
	K("AnonHugePages", lx.anon_huge),
	K("ShmemPmdMapped", lx.shmem_huge),
	K("FilePmdMapped", lx.file_huge),
	K("Swap", swap),
	K("SwapPss", lx.swap_pss),
	K("Locked", locked),
	K("KernelPageSize", lx.kernel_page_size),
};
#undef K

static void parse_smaps_key(const char *line, size_t len, vm_page_stats *st)
{
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return;
	size_t klen = (size_t)(colon - line);
	const char *p = colon + 1, *end = line + len;
	skip_spaces(&p, end);
	uint64_t v = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return;
		p++;
	}
	if (klen == 11 && memcmp(line, "THPeligible", 11) == 0) {
		st->lx.thp_eligible = v != 0;
		return;
	}
	bool kb = (end - p) >= 3 && memcmp(p, " kB", 3) == 0;
	for (size_t i = 0; i < ARRAY_LEN(smaps_keys); i++) {
		if (klen == smaps_keys[i].len && memcmp(line, smaps_keys[i].name, klen) == 0) {
			if (kb && __builtin_mul_overflow(v, 1024, &v))
				return;
			*(uint64_t *)((char *)st + smaps_keys[i].off) = v;
			st->valid = true;
			return;
		}
	}
}

void proc_maps_parser_free(proc_maps_parser *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->regs[i].path);
	free(p->regs);
	p->regs = NULL;
	p->n = p->cap = 0;
}

ssize_t proc_maps_feed(proc_maps_parser *ps, const char *buf, size_t len, bool final)
{
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl && !final)
			break;
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (ll > 0) {
			char c = p[0];
			bool header = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
			if (header) {
				vm_region r;
				if (!proc_parse_maps_line(p, ll, &r)) {
					vm_seterr("malformed maps line: %.*s", (int)(ll > 80 ? 80 : ll), p);
					return -1;
				}
				vm_region *last = ps->n ? &ps->regs[ps->n - 1] : NULL;
				if (last && r.base < last->base + last->size) {
					/* the kernel lists VMAs in order; an overlap
					 * means the map changed while we read it */
					vm_seterr("maps out of order at %llx", (unsigned long long)r.base);
					free(r.path);
					return -1;
				}
				*ARRAY_PUSH(ps->regs, ps->n, ps->cap) = r;
			} else if (ps->n > 0) {
				parse_smaps_key(p, ll, &ps->regs[ps->n - 1].stats);
			}
		}
		p = nl ? nl + 1 : end;
	}
	return (ssize_t)(p - buf);
}

int proc_parse_maps(const char *buf, size_t len, vm_region **out, size_t *n)
{
	proc_maps_parser ps = { NULL, 0, 0 };
	if (proc_maps_feed(&ps, buf, len, true) < 0) {
		proc_maps_parser_free(&ps);
		return -1;
	}
	*out = ps.regs;
	*n = ps.n;
	return 0;
}

bool proc_parse_stat(const char *buf, size_t len, proc_stat *st)
{
	memset(st, 0, sizeof *st);
	const char *open = memchr(buf, '(', len);
	if (!open)
		return false;
	const char *close = NULL;
	for (const char *q = buf + len; q > open; q--)
		if (q[-1] == ')') {
			close = q - 1;
			break;
		}
	if (!close)
		return false;
	size_t cl = (size_t)(close - open - 1);
	if (cl >= sizeof st->comm)
		cl = sizeof st->comm - 1;
	memcpy(st->comm, open + 1, cl);
	st->comm[cl] = 0;
	/* fields after the comm, numbered as in proc(5): 3 = state */
	const char *p = close + 1, *end = buf + len;
	int field = 2;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end || *p == '\n')
			break;
		const char *s = p;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
		field++;
		size_t fl = (size_t)(p - s);
		if (field == 3) {
			st->state = s[0];
			continue;
		}
		char tmp[24];
		if (fl == 0 || fl >= sizeof tmp)
			continue;
		memcpy(tmp, s, fl);
		tmp[fl] = 0;
		uint64_t v = 0;
		bool neg = tmp[0] == '-';
		if (!parse_u64(neg ? tmp + 1 : tmp, &v))
			continue;
		switch (field) {
		case 9: st->flags = v; break;
		case 20: st->num_threads = neg ? -(int64_t)v : (int64_t)v; break;
		case 22: st->start_time = v; break;
		case 28: st->start_stack = v; break;
		case 48: st->arg_start = v; break;
		case 49: st->arg_end = v; break;
		case 50: st->env_start = v; break;
		case 51: st->env_end = v; break;
		default: break;
		}
	}
	return st->state != 0;
}

bool proc_parse_syscall(const char *buf, size_t len, uint64_t *sp, uint64_t *pc)
{
	/* nr arg1..arg6 sp pc: nine fields; "running" or "-1 sp pc" otherwise */
	uint64_t f[9];
	int nf = 0;
	const char *p = buf, *end = buf + len;
	while (p < end && nf < 9) {
		while (p < end && (*p == ' ' || *p == '\n'))
			p++;
		if (p >= end)
			break;
		const char *s = p;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
		char tmp[24];
		size_t fl = (size_t)(p - s);
		if (fl >= sizeof tmp)
			return false;
		memcpy(tmp, s, fl);
		tmp[fl] = 0;
		if (strcmp(tmp, "-1") == 0) {
			f[nf++] = (uint64_t)-1;
			continue;
		}
		if (!parse_u64(tmp, &f[nf]))
			return false;
		nf++;
	}
	if (nf == 9) {
		*sp = f[7];
		*pc = f[8];
		return true;
	}
	if (nf == 3 && f[0] == (uint64_t)-1) { /* blocked, not in a syscall */
		*sp = f[1];
		*pc = f[2];
		return true;
	}
	return false;
}
