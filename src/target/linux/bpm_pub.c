/* The original protections of pages a debugger changed (memory
 * breakpoints), published for other vmatlas processes: `vmatlas map PID`
 * run beside a debug session shows and uses the protections the program
 * set, not the debugger's.
 *
 * The debugger writes /tmp/vmatlas-UID/bpm-PID (the directory 0700 and
 * its own; the file 0600, replaced whole by rename) with the target's
 * start time and, per page, the original protection and the one it
 * applied; it removes the file when the last page is back, when the
 * handle closes, and from the fatal-signal cleanup. A reader believes
 * the file only if the directory and the file belong to the same user
 * and no one else may write them, the pid and start time are the
 * target's, the debugger still runs, and every page listed has in
 * /proc/PID/maps the protection the debugger says it applied (a page
 * lifted for a step, or a file left by a debugger killed with SIGKILL,
 * fails that: the file is ignored and maps is the truth). */
#include "linux.h"
#include "lxctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "formats/proc_parse.h"
#include "vmatlas/error.h"

#define PAGE 4096u
#define MAX_PAGES 65536

void lx_pub_dir(uid_t uid, char *out, size_t n)
{
	snprintf(out, n, "/tmp/vmatlas-%u", (unsigned)uid);
}

/* the directory is uid's, a directory, and only uid may write in it */
bool lx_pub_dir_ok(const char *dir, uid_t uid)
{
	struct stat st;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid && !(st.st_mode & 022);
}

uint64_t lx_pub_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	proc_stat st;
	if (n <= 0 || !proc_parse_stat(buf, (size_t)n, &st))
		return 0;
	return st.start_time;
}

/* the users whose published files about pid are looked at: ours, the
 * target's owner, root */
size_t lx_pub_uids(pid_t pid, uid_t out[3])
{
	char path[64];
	struct stat st;
	size_t n = 0;
	out[n++] = geteuid();
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if (stat(path, &st) == 0 && st.st_uid != out[0])
		out[n++] = st.st_uid;
	if (out[0] != 0)
		out[n++] = 0;
	return n;
}

/* uid's published file KIND-PID, open only if its directory and itself
 * are uid's and no one else may write them */
FILE *lx_pub_fopen(pid_t pid, uid_t uid, const char *kind)
{
	char dir[64], path[128];
	lx_pub_dir(uid, dir, sizeof dir);
	if (!lx_pub_dir_ok(dir, uid))
		return NULL;
	snprintf(path, sizeof path, "%s/%s-%d", dir, kind, (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	struct stat st;
	FILE *f = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == uid && !(st.st_mode & 077)
			  ? fdopen(fd, "r")
			  : NULL;
	if (!f)
		close(fd);
	return f;
}

static void prot_str(unsigned p, char s[4])
{
	s[0] = (p & VM_PROT_READ) ? 'r' : '-';
	s[1] = (p & VM_PROT_WRITE) ? 'w' : '-';
	s[2] = (p & VM_PROT_EXEC) ? 'x' : '-';
	s[3] = 0;
}

static bool prot_parse(const char *s, unsigned *p)
{
	if (strlen(s) != 3 || (s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-'))
		return false;
	*p = (s[0] == 'r' ? VM_PROT_READ : 0) | (s[1] == 'w' ? VM_PROT_WRITE : 0) | (s[2] == 'x' ? VM_PROT_EXEC : 0);
	return true;
}

void lxc_pub_remove(lx_control *c)
{
	if (c->pub_path[0])
		unlink(c->pub_path); /* async-signal-safe: the cleanup calls this */
}

int lxc_publish_prots_op(vm_control *vc, const vm_prot_page *v, size_t n)
{
	lx_control *c = (lx_control *)vc;
	if (!n) {
		lxc_pub_remove(c);
		c->pub_path[0] = 0;
		return 0;
	}
	strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n && i < MAX_PAGES; i++) {
		char o[4], a[4];
		prot_str(v[i].orig, o);
		prot_str(v[i].applied, a);
		sb_printf(&sb, "page %llx %s %s\n", (unsigned long long)v[i].addr, o, a);
	}
	int rc = lx_pub_write(c->pid, "bpm", "the original protections", &sb, c->pub_path, sizeof c->pub_path);
	sb_free(&sb);
	return rc;
}

/* Files left by debuggers that died by SIGKILL (no cleanup ran) are
 * removed when the next one publishes: readers ignore them already, but
 * they would pile up. Only our own regular files whose debugger or
 * target is gone; a debugger alive keeps its file. */
static void sweep_stale(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		int tpid;
		char kind[8], tail;
		if (sscanf(de->d_name, "%7[a-z]-%d%c", kind, &tpid, &tail) != 2 || tpid <= 0 ||
		    (strcmp(kind, "bpm") && strcmp(kind, "patch")))
			continue;
		FILE *f = lx_pub_fopen(tpid, geteuid(), kind);
		if (!f)
			continue;
		char line[128];
		int dbg = 0;
		bool known = fgets(line, sizeof line, f) && fgets(line, sizeof line, f) &&
			     sscanf(line, "debugger %d", &dbg) == 1 && dbg > 0;
		fclose(f);
		if (known && ((kill(dbg, 0) < 0 && errno == ESRCH) || (kill(tpid, 0) < 0 && errno == ESRCH))) {
			char path[320];
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	closedir(d);
}

int lx_pub_write(pid_t target, const char *kind, const char *what, const strbuf *body, char *path_out, size_t cap)
{
	char dir[64];
	lx_pub_dir(geteuid(), dir, sizeof dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		vm_seterr_errno("creating %s", dir);
		return -1;
	}
	if (!lx_pub_dir_ok(dir, geteuid())) {
		vm_seterr("%s is not a directory of ours that only we may write: %s are not published", dir, what);
		return -1;
	}
	if (!path_out[0]) /* the first time this handle publishes */
		sweep_stale(dir);
	strbuf sb = STRBUF_INIT;
	sb_printf(&sb, "vmatlas-%s 1\ndebugger %d\ntarget %d %llu\n%s", kind, (int)getpid(), (int)target,
		  (unsigned long long)lx_pub_start_time(target), body->len ? sb_str(body) : "");
	char path[96];
	snprintf(path, sizeof path, "%s/%s-%d", dir, kind, (int)target);
	atomic_file f;
	int rc = -1;
	if (af_open(&f, path) == 0) {
		af_write(&f, sb_str(&sb), sb.len);
		rc = af_commit(&f);
	}
	sb_free(&sb);
	if (rc == 0)
		snprintf(path_out, cap, "%s", path);
	return rc;
}

/* ---- the reader ---- */

typedef struct pub_page {
	uint64_t addr;
	unsigned orig, applied;
} pub_page;

static int by_addr(const void *a, const void *b)
{
	uint64_t x = ((const pub_page *)a)->addr, y = ((const pub_page *)b)->addr;
	return x < y ? -1 : x > y;
}

/* the published pages for pid, checked; NULL if there is no file to believe */
static pub_page *load(pid_t pid, uid_t uid, size_t *n, pid_t *dbg)
{
	FILE *f = lx_pub_fopen(pid, uid, "bpm");
	if (!f)
		return NULL;
	char line[256];
	int version = 0, tpid = 0;
	unsigned long long stime = 0;
	pub_page *v = NULL;
	size_t cap = 0;
	bool ok = fgets(line, sizeof line, f) && sscanf(line, "vmatlas-bpm %d", &version) == 1 && version == 1 &&
		  fgets(line, sizeof line, f) && sscanf(line, "debugger %d", dbg) == 1 && *dbg > 0 &&
		  fgets(line, sizeof line, f) && sscanf(line, "target %d %llu", &tpid, &stime) == 2 && tpid == pid;
	*n = 0;
	while (ok && fgets(line, sizeof line, f)) {
		unsigned long long a;
		char o[8], p[8];
		pub_page pg;
		if (sscanf(line, "page %llx %7s %7s", &a, o, p) != 3 || a % PAGE || !prot_parse(o, &pg.orig) ||
		    !prot_parse(p, &pg.applied) || *n >= MAX_PAGES) {
			ok = false;
			break;
		}
		pg.addr = a;
		*ARRAY_PUSH(v, *n, cap) = pg;
	}
	fclose(f);
	/* the same process (not a pid used again), its debugger still there */
	if (ok && (!*n || stime != lx_pub_start_time(pid) || (kill(*dbg, 0) < 0 && errno == ESRCH)))
		ok = false;
	if (!ok) {
		free(v);
		return NULL;
	}
	qsort(v, *n, sizeof *v, by_addr);
	return v;
}

static const vm_region *region_at(const vm_region *r, size_t n, uint64_t a)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a < r[mid].base)
			hi = mid;
		else if (a - r[mid].base >= r[mid].size)
			lo = mid + 1;
		else
			return &r[mid];
	}
	return NULL;
}

#define RWX (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC)

/* one piece [from, to) of region r, with protection prot, into out */
static void piece(vm_region **out, size_t *n, size_t *cap, const vm_region *r, uint64_t from, uint64_t to,
		  unsigned prot, pid_t dbg, bool first)
{
	vm_region *x = ARRAY_PUSH(*out, *n, *cap);
	*x = *r;
	x->base = from;
	x->size = to - from;
	if (r->path && r->path[0] != '[' && from > r->base)
		x->offset = r->offset + (from - r->base);
	if (!first) {
		x->path = r->path ? xstrdup(r->path) : NULL;
		memset(&x->stats, 0, sizeof x->stats); /* the VMA's, counted with its first piece */
	}
	if (dbg) {
		x->prot = (x->prot & ~(uint32_t)RWX) | prot;
		x->lx.bpm_pid = (int32_t)dbg;
		proc_classify_region(x); /* a page made PROT_NONE is not reserved */
	}
	if (to < r->base + r->size)
		x->flags |= VM_RF_SPLIT;
	else
		x->flags = (x->flags & ~VM_RF_SPLIT) | (r->flags & VM_RF_SPLIT);
}

void lx_bpm_overlay(pid_t pid, vm_region **regs, size_t *nregs)
{
	uid_t uids[3];
	size_t nu = lx_pub_uids(pid, uids);
	pub_page *v = NULL;
	size_t n = 0;
	pid_t dbg = 0;
	for (size_t i = 0; i < nu && !v; i++)
		v = load(pid, uids[i], &n, &dbg);
	if (!v)
		return;
	/* every page as the debugger says it left it, or nothing is believed */
	for (size_t i = 0; i < n; i++) {
		const vm_region *r = region_at(*regs, *nregs, v[i].addr);
		if (!r || (r->prot & RWX) != v[i].applied || v[i].addr + PAGE > r->base + r->size) {
			free(v);
			return;
		}
	}
	vm_region *out = NULL;
	size_t no = 0, cap = 0, k = 0;
	for (size_t i = 0; i < *nregs; i++) {
		const vm_region *r = &(*regs)[i];
		uint64_t at = r->base, end = r->base + r->size;
		bool first = true;
		while (k < n && v[k].addr < r->base)
			k++;
		while (k < n && v[k].addr < end) {
			if (v[k].addr > at) {
				piece(&out, &no, &cap, r, at, v[k].addr, 0, 0, first);
				first = false;
			}
			/* a run of listed pages with one original protection */
			uint64_t from = v[k].addr;
			unsigned orig = v[k].orig;
			at = from + PAGE;
			k++;
			while (k < n && v[k].addr == at && v[k].orig == orig && at < end)
				at += PAGE, k++;
			piece(&out, &no, &cap, r, from, at, orig, dbg, first);
			first = false;
		}
		if (first)
			*ARRAY_PUSH(out, no, cap) = *r;
		else if (at < end)
			piece(&out, &no, &cap, r, at, end, 0, 0, false);
	}
	free(v);
	free(*regs);
	*regs = out;
	*nregs = no;
}
