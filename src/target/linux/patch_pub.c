/* The bytes a debugger patched (int3), published for other vmatlas
 * processes: `vmatlas view/search/dump PID` run beside a debug session
 * read the program's bytes, not the breakpoints'.
 *
 * The writer is the control's journal: every byte written with
 * VM_CTL_RESTORE, with what the control last wrote there. The debugger
 * writes /tmp/vmatlas-UID/patch-PID (as bpm-PID: the directory 0700,
 * the file 0600 replaced whole by rename) with the target's start time
 * and, per byte, its original value and the patched one. A byte added
 * or changed is published at once; one put back only at the next resume
 * of every thread, so the int3 lifted to step over a hit does not
 * rewrite the file twice a hit. The file goes at close, exec, a switch
 * to a fork's child and from the fatal-signal cleanup.
 *
 * A reader believes the file only as bpm-PID (same user, no one else may
 * write it, the target's pid and start time, the debugger still running
 * and not the reader itself), and puts the original back only where the
 * patched byte is still there: one the debugger has lifted for a step
 * is read as it is. */
#include "linux.h"
#include "lxctl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "vmatlas/error.h"

#define MAX_BYTES (LXC_MAX_SAVED * LXC_SAVED_BYTES)

typedef struct lxc_patch_rec {
	uint64_t addr;
	uint8_t orig, patched;
} lxc_patch_rec;

/* ---- the writer ---- */

void lxc_patch_note(lx_control *c, uint64_t addr, const void *buf, size_t len)
{
	int n = atomic_load(&c->nsaved);
	for (int i = 0; i < n; i++) {
		lxc_saved *s = &c->saved[i];
		for (size_t k = 0; k < s->len; k++)
			if (s->addr + k >= addr && s->addr + k - addr < len)
				s->cur[k] = ((const uint8_t *)buf)[s->addr + k - addr];
	}
}

typedef struct ranked {
	lxc_patch_rec r;
	size_t order; /* in the journal: the first entry has the original */
} ranked;

static int by_addr_order(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	if (x->r.addr != y->r.addr)
		return x->r.addr < y->r.addr ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* the bytes patched now, by address */
static lxc_patch_rec *current(lx_control *c, size_t *n)
{
	int ns = atomic_load(&c->nsaved);
	ranked *all = NULL;
	size_t na = 0, cap = 0;
	for (int i = 0; i < ns; i++)
		for (size_t k = 0; k < c->saved[i].len; k++)
			*ARRAY_PUSH(all, na, cap) = (ranked){ { c->saved[i].addr + k, c->saved[i].bytes[k],
								c->saved[i].cur[k] },
							      na };
	if (na)
		qsort(all, na, sizeof *all, by_addr_order);
	lxc_patch_rec *v = na ? xcalloc(na, sizeof *v) : NULL;
	*n = 0;
	for (size_t i = 0; i < na; i++)
		if ((i == 0 || all[i].r.addr != all[i - 1].r.addr) && all[i].r.orig != all[i].r.patched)
			v[(*n)++] = all[i].r;
	free(all);
	return v;
}

static bool same(const lxc_patch_rec *a, const lxc_patch_rec *b)
{
	return a->addr == b->addr && a->orig == b->orig && a->patched == b->patched;
}

/* every record of a is in b (both by address) */
static bool subset(const lxc_patch_rec *a, size_t na, const lxc_patch_rec *b, size_t nb)
{
	size_t j = 0;
	for (size_t i = 0; i < na; i++) {
		while (j < nb && b[j].addr < a[i].addr)
			j++;
		if (j == nb || !same(&a[i], &b[j]))
			return false;
	}
	return true;
}

static int write_file(lx_control *c, const lxc_patch_rec *v, size_t n)
{
	if (!n) {
		lxc_patch_remove(c);
		c->patch_path[0] = 0;
		return 0;
	}
	strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "byte %llx %02x %02x\n", (unsigned long long)v[i].addr, v[i].orig, v[i].patched);
	int rc = lx_pub_write(c->pid, "patch", "the patched bytes", &sb, c->patch_path, sizeof c->patch_path);
	sb_free(&sb);
	return rc;
}

void lxc_patch_publish(lx_control *c, bool now)
{
	if (c->patch_quiet)
		return;
	size_t n;
	lxc_patch_rec *v = current(c, &n);
	bool equal = n == c->npatch_pub && subset(v, n, c->patch_pub, c->npatch_pub);
	/* a byte put back waits for a resume: it may be a step's lift */
	if (equal || (!now && subset(v, n, c->patch_pub, c->npatch_pub)) || write_file(c, v, n) < 0) {
		free(v);
		return; /* a failure is tried again with the next change */
	}
	free(c->patch_pub);
	c->patch_pub = v;
	c->npatch_pub = n;
}

void lxc_patch_remove(lx_control *c)
{
	if (c->patch_path[0])
		unlink(c->patch_path); /* async-signal-safe: the cleanup calls this */
}

void lxc_patch_reset(lx_control *c)
{
	lxc_patch_remove(c);
	c->patch_path[0] = 0;
	free(c->patch_pub);
	c->patch_pub = NULL;
	c->npatch_pub = 0;
}

/* ---- the reader ---- */

struct lx_patches {
	size_t n;
	lxc_patch_rec *v; /* strictly by address */
};

static struct lx_patches *load(pid_t pid, uid_t uid)
{
	FILE *f = lx_pub_fopen(pid, uid, "patch");
	if (!f)
		return NULL;
	char line[256];
	int version = 0, tpid = 0, dbg = 0;
	unsigned long long stime = 0;
	lxc_patch_rec *v = NULL;
	size_t n = 0, cap = 0;
	bool ok = fgets(line, sizeof line, f) && sscanf(line, "vmatlas-patch %d", &version) == 1 && version == 1 &&
		  fgets(line, sizeof line, f) && sscanf(line, "debugger %d", &dbg) == 1 && dbg > 0 &&
		  fgets(line, sizeof line, f) && sscanf(line, "target %d %llu", &tpid, &stime) == 2 && tpid == pid;
	while (ok && fgets(line, sizeof line, f)) {
		unsigned long long a;
		unsigned o, p;
		if (sscanf(line, "byte %llx %x %x", &a, &o, &p) != 3 || o > 0xff || p > 0xff || o == p ||
		    n >= MAX_BYTES || (n && a <= v[n - 1].addr)) {
			ok = false;
			break;
		}
		*ARRAY_PUSH(v, n, cap) = (lxc_patch_rec){ a, (uint8_t)o, (uint8_t)p };
	}
	fclose(f);
	/* the same process (not a pid used again), its debugger still
	 * there, and not us: our own control knows its bytes better */
	if (!ok || !n || !stime || stime != lx_pub_start_time(pid) || dbg == (int)getpid() ||
	    (kill(dbg, 0) < 0 && errno == ESRCH)) {
		free(v);
		return NULL;
	}
	struct lx_patches *x = xcalloc(1, sizeof *x);
	x->n = n;
	x->v = v;
	return x;
}

struct lx_patches *lx_patches_load(pid_t pid)
{
	uid_t uids[3];
	size_t nu = lx_pub_uids(pid, uids);
	struct lx_patches *x = NULL;
	for (size_t i = 0; i < nu && !x; i++)
		x = load(pid, uids[i]);
	return x;
}

void lx_patches_apply(const struct lx_patches *x, uint64_t addr, void *buf, size_t len)
{
	if (!x || !len)
		return;
	size_t lo = 0, hi = x->n; /* the first at or after addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint8_t *b = buf;
	for (size_t i = lo; i < x->n && x->v[i].addr - addr < len; i++)
		if (b[x->v[i].addr - addr] == x->v[i].patched)
			b[x->v[i].addr - addr] = x->v[i].orig;
}

void lx_patches_free(struct lx_patches *x)
{
	if (x)
		free(x->v);
	free(x);
}

void lx_unpatch(lx_proc *p, uint64_t addr, void *buf, size_t len)
{
	lx_patches_apply(p->patches, addr, buf, len);
}
