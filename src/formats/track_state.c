/* The state of a write tracking between `track start` and `track stop`:
 * a small text file (what is tracked, and who holds it), written
 * atomically with mode 0600 and read back strictly. */
#include "vmatlas/track.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/slurp.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "vmatlas/error.h"

#define MAGIC "vmatlas-track"
#define MAX_STATE (64u << 20)

const char *vm_track_method_name(vm_track_method m)
{
	return m == VM_TRACK_SOFT_DIRTY ? "soft-dirty" : m == VM_TRACK_UFFD_WP ? "uffd-wp" : "auto";
}

int vm_track_state_write(const vm_track_state *st, const char *path)
{
	strbuf b = STRBUF_INIT;
	sb_printf(&b, "%s %d\nmethod %s\npid %" PRId64 "\nstart_time %" PRIu64 "\nholder %" PRId64
		      "\nholder_start %" PRIu64 "\nstarted_ms %" PRIu64 "\n",
		  MAGIC, VM_TRACK_VERSION, vm_track_method_name(st->method), st->pid, st->start_time, st->holder,
		  st->holder_start, st->started_ms);
	for (size_t i = 0; i < st->n; i++)
		sb_printf(&b, "range 0x%" PRIx64 " %" PRIu64 "\n", st->ranges[i].addr, st->ranges[i].size);
	for (size_t i = 0; i < st->nskipped; i++)
		sb_printf(&b, "skipped 0x%" PRIx64 " %" PRIu64 " %d\n", st->skipped[i].addr, st->skipped[i].size,
			  st->skipped[i].err);
	atomic_file f;
	int rc = -1;
	if (af_open(&f, path) == 0) {
		af_write(&f, sb_str(&b), b.len);
		rc = af_commit(&f);
	}
	sb_free(&b);
	return rc;
}

static bool word_u64(char **p, uint64_t *v)
{
	char *s = *p;
	while (*s == ' ')
		s++;
	char *e = s;
	while (*e && *e != ' ')
		e++;
	if (e == s)
		return false;
	char save = *e;
	*e = 0;
	bool ok = parse_u64(s, v);
	*e = save;
	*p = e;
	return ok;
}

static int parse(char *text, vm_track_state *st)
{
	size_t rcap = 0, scap = 0;
	int version = 0;
	bool have_method = false, have_pid = false;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *sp = strchr(line, ' ');
		if (!sp)
			return -1;
		*sp = 0;
		char *rest = sp + 1;
		uint64_t a, b, c;
		if (!strcmp(line, MAGIC)) {
			if (!word_u64(&rest, &a) || a == 0 || a > 1000)
				return -1;
			version = (int)a;
			if (version > VM_TRACK_VERSION)
				return -2;
		} else if (!version) {
			return -1;
		} else if (!strcmp(line, "method")) {
			if (!strcmp(rest, "soft-dirty"))
				st->method = VM_TRACK_SOFT_DIRTY;
			else if (!strcmp(rest, "uffd-wp"))
				st->method = VM_TRACK_UFFD_WP;
			else
				return -1;
			have_method = true;
		} else if (!strcmp(line, "range") || !strcmp(line, "skipped")) {
			bool skipped = line[0] == 's';
			if (!word_u64(&rest, &a) || !word_u64(&rest, &b) || b == 0 || a + b < a)
				return -1;
			vm_track_range *r = skipped ? ARRAY_PUSH(st->skipped, st->nskipped, scap)
						    : ARRAY_PUSH(st->ranges, st->n, rcap);
			r->addr = a;
			r->size = b;
			r->err = 0;
			if (skipped) {
				if (!word_u64(&rest, &c) || c > 4095)
					return -1;
				r->err = (int)c;
			}
		} else {
			if (!word_u64(&rest, &a))
				return -1;
			if (!strcmp(line, "pid"))
				st->pid = (int64_t)a, have_pid = a > 0 && a <= INT32_MAX;
			else if (!strcmp(line, "start_time"))
				st->start_time = a;
			else if (!strcmp(line, "holder"))
				st->holder = a <= INT32_MAX ? (int64_t)a : -1;
			else if (!strcmp(line, "holder_start"))
				st->holder_start = a;
			else if (!strcmp(line, "started_ms"))
				st->started_ms = a;
			/* other keys: a later minor revision; ignored */
		}
		if (*rest && line[0] != 'm')
			return -1; /* trailing words */
	}
	if (!have_method || !have_pid || st->holder < 0 || (st->method == VM_TRACK_UFFD_WP && st->holder <= 0))
		return -1;
	return 0;
}

int vm_track_state_parse(const uint8_t *buf, size_t len, vm_track_state *out)
{
	memset(out, 0, sizeof *out);
	char *text = xmalloc(len + 1);
	memcpy(text, buf, len);
	text[len] = 0;
	int rc = strlen(text) == len ? parse(text, out) : -1;
	free(text);
	if (rc < 0) {
		vm_track_state_free(out);
		if (rc == -2)
			vm_seterr("made by a newer vmatlas (tracking state version above %d)", VM_TRACK_VERSION);
		else
			vm_seterr("not a vmatlas tracking state file (or a damaged one)");
		return -1;
	}
	return 0;
}

static int parse_state(const uint8_t *buf, size_t len, void *out)
{
	return vm_track_state_parse(buf, len, out);
}

int vm_track_state_read(const char *path, vm_track_state *out)
{
	memset(out, 0, sizeof *out);
	return slurp_parse(path, MAX_STATE, "tracking state file", parse_state, out);
}

void vm_track_state_free(vm_track_state *st)
{
	free(st->ranges);
	free(st->skipped);
	memset(st, 0, sizeof *st);
}
