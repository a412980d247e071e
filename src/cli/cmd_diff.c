/* vmatlas diff: what changed between two snapshots, or a snapshot and a
 * target read now. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "base/open_file.h"
#include "cli.h"
#include "base/format.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/diff.h"
#include "vmatlas/snapshot.h"
#include "sections.h"

/* 'self' or a PID, unless a file of that name is there */
/* "self", a PID or a process name: no file of that name, and no path
 * (a snapshot file that is not there is said to be missing as a file) */
static bool is_live(const char *what)
{
	struct stat sb;
	return !strcmp(what, "self") || (stat(what, &sb) != 0 && !strchr(what, '/') && !strchr(what, '\\'));
}

/* a file that is not a snapshot: a core file or a minidump is a target */
static bool is_dump(const char *what)
{
	uint8_t magic[64] = { 0 };
	int fd = open_regular(what);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, magic, sizeof magic);
	close(fd);
	return n > 0 && vm_file_target_magic(magic, (size_t)n);
}

/* a snapshot file, or a target (live, or a core file) read to match `like` */
static int load_side(const char *what, const vm_snapshot *like, vm_snapshot *out, vm_target **t)
{
	*t = NULL;
	if (!is_live(what) && !is_dump(what))
		return vm_snapshot_read(what, out);
	*t = vm_target_open(what);
	if (!*t)
		return -1;
	vm_map_options mo = { 0 };
	return vm_snapshot_take(*t, &mo, like && like->pages, like && like->has_heap_chunks, out);
}

static void region_text(const vm_region *r, char sign)
{
	char a[16], p[5];
	vm_region_prot_string(r, p);
	printf("  %c %016llx %9s  %s %-7s %s\n", sign, (unsigned long long)r->base, fmt_size(r->size, a, sizeof a), p,
	       vm_usage_name(r->usage), r->path ? r->path : "");
}

/* the first few blocks of a list; JSON has them all */
static void chunks_text(const vm_chunk *const *v, size_t n, char sign)
{
	char a[16];
	for (size_t i = 0; i < n && i < 20; i++)
		printf("    %c 0x%llx %s\n", sign, (unsigned long long)v[i]->addr, fmt_size(v[i]->size, a, sizeof a));
	if (n > 20)
		printf("    ... and %zu more (--json has them all)\n", n - 20);
}

static void text(const vm_diff *d)
{
	char a[16], b[16], sa[16], sb[16], pa[5], pb[5];
	printf("regions: %zu added, %zu removed, %zu changed\n", d->nadded, d->nremoved, d->nchanged);
	for (size_t i = 0; i < d->nadded; i++)
		region_text(d->added[i], '+');
	for (size_t i = 0; i < d->nremoved; i++)
		region_text(d->removed[i], '-');
	for (size_t i = 0; i < d->nchanged; i++) {
		const vm_region_change *c = &d->changed[i];
		printf("  ~ %016llx", (unsigned long long)c->b->base);
		if (c->what & VM_CHG_SIZE)
			printf("  resized %s -> %s", fmt_size(c->a->size, a, sizeof a), fmt_size(c->b->size, b, sizeof b));
		if (c->what & VM_CHG_PROT) {
			vm_region_prot_string(c->a, pa);
			vm_region_prot_string(c->b, pb);
			printf("  re-protected %s -> %s", pa, pb);
		}
		if (c->what & VM_CHG_STATE)
			printf("  %s -> %s", vm_state_name(c->a->state), vm_state_name(c->b->state));
		if (c->what & VM_CHG_PATH)
			printf("  %s -> %s", c->a->path ? c->a->path : "(anonymous)", c->b->path ? c->b->path : "(anonymous)");
		putchar('\n');
	}
	printf("modules: %zu loaded, %zu unloaded\n", d->nloaded, d->nunloaded);
	for (size_t i = 0; i < d->nloaded; i++)
		printf("  + %s at 0x%llx\n", d->loaded[i]->name, (unsigned long long)d->loaded[i]->base);
	for (size_t i = 0; i < d->nunloaded; i++)
		printf("  - %s at 0x%llx\n", d->unloaded[i]->name, (unsigned long long)d->unloaded[i]->base);
	printf("threads: %zu started, %zu ended\n", d->nstarted, d->nended);
	for (size_t i = 0; i < d->nstarted; i++)
		printf("  + %lld (%s)\n", (long long)d->started[i]->tid, d->started[i]->name ? d->started[i]->name : "");
	for (size_t i = 0; i < d->nended; i++)
		printf("  - %lld (%s)\n", (long long)d->ended[i]->tid, d->ended[i]->name ? d->ended[i]->name : "");
	printf("heaps:\n");
	size_t same = 0;
	for (size_t i = 0; i < d->narenas; i++) {
		const vm_arena *x = d->arenas[i].a, *y = d->arenas[i].b;
		uint64_t addr = y ? y->addr : x->addr;
		/* an arena that did not change is counted, not listed (--json
		 * lists every one) */
		if (x && y && x->used_bytes == y->used_bytes && x->nused == y->nused && x->system_mem == y->system_mem) {
			same++;
			continue;
		}
		printf("  arena 0x%llx: ", (unsigned long long)addr);
		if (!x)
			printf("new, %s in use in %zu chunks\n", fmt_size(y->used_bytes, a, sizeof a), y->nused);
		else if (!y)
			printf("gone\n");
		else
			printf("in use %s -> %s (%zu -> %zu chunks), system memory %s -> %s\n",
			       fmt_size(x->used_bytes, a, sizeof a), fmt_size(y->used_bytes, b, sizeof b), x->nused,
			       y->nused, fmt_size(x->system_mem, sa, sizeof sa), fmt_size(y->system_mem, sb, sizeof sb));
	}
	if (same)
		printf("  %zu arena%s unchanged\n", same, same == 1 ? "" : "s");
	if (d->have_chunks) {
		printf("  %zu blocks allocated, %zu freed\n", d->nallocated, d->nfreed);
		chunks_text(d->allocated, d->nallocated, '+');
		chunks_text(d->freed, d->nfreed, '-');
	}
	if (d->have_pages) {
		printf("pages changed: %s in %zu ranges\n", fmt_size(d->pages_bytes, a, sizeof a), d->npages);
		for (size_t i = 0; i < d->npages; i++)
			printf("  %016llx %9s  %s\n", (unsigned long long)d->pages[i].addr,
			       fmt_size(d->pages[i].size, a, sizeof a),
			       d->pages[i].region->path ? d->pages[i].region->path : vm_usage_name(d->pages[i].region->usage));
	} else {
		printf("pages: no page hashes on both sides (snapshot --data)\n");
	}
}

static void json_region(json_writer *w, const vm_region *r)
{
	char p[5];
	vm_region_prot_string(r, p);
	json_obj_begin(w);
	json_kaddr(w, "base", r->base);
	json_ku64(w, "size", r->size);
	json_kstr(w, "prot", p);
	json_kstr(w, "state", vm_state_name(r->state));
	json_kstr(w, "usage", vm_usage_name(r->usage));
	json_kstr(w, "path", r->path);
	json_obj_end(w);
}

void cli_diff_json(FILE *f, const vm_diff *d)
{
	json_writer *w = xmalloc(sizeof *w);
	json_init(w, f, true);
	json_obj_begin(w);
	json_key(w, "regions");
	json_obj_begin(w);
	json_key(w, "added");
	json_arr_begin(w);
	for (size_t i = 0; i < d->nadded; i++)
		json_region(w, d->added[i]);
	json_arr_end(w);
	json_key(w, "removed");
	json_arr_begin(w);
	for (size_t i = 0; i < d->nremoved; i++)
		json_region(w, d->removed[i]);
	json_arr_end(w);
	json_key(w, "changed");
	json_arr_begin(w);
	for (size_t i = 0; i < d->nchanged; i++) {
		json_obj_begin(w);
		json_key(w, "before");
		json_region(w, d->changed[i].a);
		json_key(w, "after");
		json_region(w, d->changed[i].b);
		json_key(w, "what");
		json_arr_begin(w);
		if (d->changed[i].what & VM_CHG_SIZE) json_str(w, "resized");
		if (d->changed[i].what & VM_CHG_PROT) json_str(w, "reprotected");
		if (d->changed[i].what & VM_CHG_STATE) json_str(w, "state");
		if (d->changed[i].what & VM_CHG_PATH) json_str(w, "path");
		json_arr_end(w);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
	json_key(w, "modules");
	json_obj_begin(w);
	json_key(w, "added");
	json_arr_begin(w);
	for (size_t i = 0; i < d->nloaded; i++) {
		json_obj_begin(w);
		json_kstr(w, "name", d->loaded[i]->name);
		json_kstr(w, "path", d->loaded[i]->path);
		json_kaddr(w, "base", d->loaded[i]->base);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_key(w, "removed");
	json_arr_begin(w);
	for (size_t i = 0; i < d->nunloaded; i++) {
		json_obj_begin(w);
		json_kstr(w, "name", d->unloaded[i]->name);
		json_kstr(w, "path", d->unloaded[i]->path);
		json_kaddr(w, "base", d->unloaded[i]->base);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
	json_key(w, "threads");
	json_obj_begin(w);
	json_key(w, "added");
	json_arr_begin(w);
	for (size_t i = 0; i < d->nstarted; i++) {
		json_obj_begin(w);
		json_ki64(w, "tid", d->started[i]->tid);
		json_kstr(w, "name", d->started[i]->name);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_key(w, "removed");
	json_arr_begin(w);
	for (size_t i = 0; i < d->nended; i++) {
		json_obj_begin(w);
		json_ki64(w, "tid", d->ended[i]->tid);
		json_kstr(w, "name", d->ended[i]->name);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
	json_key(w, "heaps");
	json_obj_begin(w);
	json_key(w, "arenas");
	json_arr_begin(w);
	for (size_t i = 0; i < d->narenas; i++) {
		const vm_arena *x = d->arenas[i].a, *y = d->arenas[i].b;
		json_obj_begin(w);
		json_kaddr(w, "addr", y ? y->addr : x->addr);
		json_key(w, "in_use");
		json_arr_begin(w);
		x ? json_u64(w, x->used_bytes) : json_null(w);
		y ? json_u64(w, y->used_bytes) : json_null(w);
		json_arr_end(w);
		json_key(w, "chunks");
		json_arr_begin(w);
		x ? json_u64(w, x->nused) : json_null(w);
		y ? json_u64(w, y->nused) : json_null(w);
		json_arr_end(w);
		json_key(w, "system_mem");
		json_arr_begin(w);
		x ? json_u64(w, x->system_mem) : json_null(w);
		y ? json_u64(w, y->system_mem) : json_null(w);
		json_arr_end(w);
		json_obj_end(w);
	}
	json_arr_end(w);
	if (d->have_chunks) {
		const vm_chunk **lists[2] = { d->allocated, d->freed };
		size_t ns[2] = { d->nallocated, d->nfreed };
		const char *names[2] = { "allocated", "freed" };
		for (int l = 0; l < 2; l++) {
			json_key(w, names[l]);
			json_arr_begin(w);
			for (size_t i = 0; i < ns[l]; i++) {
				json_obj_begin(w);
				json_kaddr(w, "addr", lists[l][i]->addr);
				json_ku64(w, "size", lists[l][i]->size);
				json_obj_end(w);
			}
			json_arr_end(w);
		}
	}
	json_obj_end(w);
	json_key(w, "pages_changed");
	if (d->have_pages) {
		json_arr_begin(w);
		for (size_t i = 0; i < d->npages; i++) {
			json_obj_begin(w);
			json_kaddr(w, "addr", d->pages[i].addr);
			json_ku64(w, "size", d->pages[i].size);
			json_kaddr(w, "region", d->pages[i].region->base);
			json_kstr(w, "usage", vm_usage_name(d->pages[i].region->usage));
			json_kstr(w, "path", d->pages[i].region->path);
			json_obj_end(w);
		}
		json_arr_end(w);
	} else {
		json_null(w);
	}
	json_obj_end(w);
	json_done(w);
	free(w);
}

bool cli_is_snapshot_file(const char *what)
{
	return !is_live(what) && !is_dump(what);
}

/* a note on stderr when A and B are different processes */
static void note_processes(const vm_snapshot *a, const vm_snapshot *b)
{
	const vm_target_info *ia = &a->map->info, *ib = &b->map->info;
	if (ia->pid != ib->pid || (ia->start_time && ib->start_time && ia->start_time != ib->start_time))
		fprintf(stderr, "vmatlas: note: A and B are different processes (pid %lld%s, pid %lld)\n",
			(long long)ia->pid, ia->pid == ib->pid ? " started earlier" : "", (long long)ib->pid);
}

int cli_diff_load(const char *wa, const char *wb, cli_diff_sides *s)
{
	*s = (cli_diff_sides){ 0 };
	/* a file side first, so a live side can be read to match it */
	bool live_a = is_live(wa);
	const char *first = live_a ? wb : wa, *second = live_a ? wa : wb;
	vm_snapshot *f = live_a ? &s->b : &s->a, *g = live_a ? &s->a : &s->b;
	vm_target **tf = live_a ? &s->tb : &s->ta, **tg = live_a ? &s->ta : &s->tb;
	if (load_side(first, NULL, f, tf) < 0)
		return cli_error(EXIT_RUNTIME, "%s", vm_error());
	if (load_side(second, f, g, tg) < 0) {
		int rc = cli_error(EXIT_RUNTIME, "%s", vm_error());
		vm_snapshot_free(f);
		vm_target_close(*tf);
		return rc;
	}
	note_processes(&s->a, &s->b);
	return 0;
}

void cli_diff_release(cli_diff_sides *s)
{
	if (s->ta)
		cli_print_warnings(s->a.map);
	if (s->tb)
		cli_print_warnings(s->b.map);
	vm_snapshot_free(&s->a);
	vm_snapshot_free(&s->b);
	vm_target_close(s->ta);
	vm_target_close(s->tb);
}

static int diff_run(cli_ctx *ctx)
{
	char **argv = ctx->argv;
	cli_diff_sides s;
	int rc = cli_diff_load(argv[0], argv[1], &s);
	if (rc)
		return rc;
	vm_diff d;
	vm_diff_compute(&s.a, &s.b, &d);
	ctx->json ? cli_diff_json(stdout, &d) : text(&d);
	fflush(stdout);
	vm_diff_free(&d);
	cli_diff_release(&s);
	return rc;
}

const cli_command cli_cmd_diff = {
	.name = "diff",
	.summary = "what changed between two snapshots, or a snapshot and now",
	.usage = "[OPTIONS] A B",
	.about = "What changed from A to B. Each is a snapshot file ('vmatlas snapshot') or\n"
		 "a TARGET: a process ID, 'self', an ELF core file or a Windows minidump,\n"
		 "read with the same options the snapshot on the other side has.\n"
		 "Reports regions added, removed, resized and re-protected, modules\n"
		 "loaded and unloaded, threads started and ended, heaps grown or shrunk\n"
		 "(and, when both hold heap blocks, the blocks allocated and freed), and\n"
		 "with page hashes the pages whose contents changed.\n",
	.args_error = "two snapshots (or a snapshot and a TARGET) please",
	.min_args = 2,
	.max_args = 2,
	.run = diff_run,
};
