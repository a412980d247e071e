/* The command language of the batch mode and the CPU window's ':' line:
 * one command a line, words split on blanks, "quoted text" one word.
 * Each command prints its result (text, or one JSON object with
 * "command" and "ok") through the functions of cmd_show.c. */
#include "cmdi.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define MAX_WORDS 64

/* split line into words; "..." is one word (\" and \\ inside) */
static int split(char *line, char **w)
{
	int n = 0;
	char *p = line;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#' || n == MAX_WORDS)
			return n;
		if (*p == '"') {
			char *o = ++p;
			w[n++] = o;
			while (*p && *p != '"') {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				*o++ = *p++;
			}
			if (*p)
				p++;
			*o = 0;
			continue;
		}
		w[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
	}
}

static bool is_kw(const char *w, const char *const *kws)
{
	for (; *kws; kws++)
		if (!strcmp(w, *kws))
			return true;
	return false;
}

/* words [*i, n) joined until a keyword: one expression */
static char *join_until(char **w, int n, int *i, const char *const *kws)
{
	size_t len = 0;
	int j;
	for (j = *i; j < n && !is_kw(w[j], kws); j++)
		len += strlen(w[j]) + 1;
	char *s = xcalloc(1, len + 1);
	for (int k = *i; k < j; k++) {
		if (k > *i)
			strcat(s, " ");
		strcat(s, w[k]);
	}
	*i = j;
	return s;
}

static bool parse_num(const char *s, uint64_t *v)
{
	return parse_u64(s, v);
}

static int do_break(cmd_out *o, char **w, int n, bool temporary, bool watch)
{
	static const char *const kws[] = { "if", "pass", "log", "group", "LEN", "len", "w", "rw", "x", NULL };
	static const char *const bkws[] = { "if", "pass", "log", "group", NULL };
	/* hbreak: a debug register on execution (watch EXPR x) */
	vm_bp_spec s = { .temporary = temporary, .rw = !strcmp(w[0], "hbreak") ? VM_DR_RW_EXEC : VM_DR_RW_WRITE };
	int i = 1;
	char *expr = join_until(w, n, &i, watch ? kws : bkws), *cond = NULL;
	int rc = -1, id = 0;
	if (!*expr) {
		vm_seterr("usage: %s EXPR [if COND] [pass N] [log \"TEXT {EXPR}\"] [group NAME]", w[0]);
		goto out;
	}
	while (i < n) {
		const char *k = w[i++];
		uint64_t v;
		if (!strcmp(k, "if")) {
			free(cond);
			cond = join_until(w, n, &i, watch ? kws : bkws);
			s.cond = cond;
		} else if (!strcmp(k, "pass") && i < n && parse_num(w[i], &v)) {
			s.pass = v;
			i++;
		} else if (!strcmp(k, "log") && i < n) {
			s.log = w[i++];
		} else if (!strcmp(k, "group") && i < n) {
			s.group = w[i++];
		} else if (watch && (!strcmp(k, "LEN") || !strcmp(k, "len")) && i < n && parse_num(w[i], &v) && v <= 8) {
			s.len = (int)v;
			i++;
		} else if (watch && (!strcmp(k, "w") || !strcmp(k, "rw") || !strcmp(k, "x"))) {
			s.rw = k[0] == 'w' ? VM_DR_RW_WRITE : k[0] == 'r' ? VM_DR_RW_RW : VM_DR_RW_EXEC;
		} else {
			vm_seterr("%s: unexpected '%s'", w[0], k);
			goto out;
		}
	}
	rc = watch ? vm_dbg_watch(o->d, expr, &s, &id) : vm_dbg_break(o->d, expr, &s, &id);
	if (rc == 0)
		show_bp_set(o, id);
out:
	free(expr);
	free(cond);
	return rc;
}

/* bpm r|w|rw|x EXPR LEN [if COND] [pass N] [log "..."] [group NAME] [--pages] [--fast] [--uffd] [--guard] */
static int do_bpm(cmd_out *o, char **w, int n)
{
	static const char *const kws[] = { "if", "pass", "log", "group", "--pages", "--fast", "--uffd", "--guard", NULL };
	vm_bp_spec s = { 0 };
	int access = n > 1 ? (!strcmp(w[1], "r") ? VM_BPM_READ : !strcmp(w[1], "w") ? VM_BPM_WRITE
						: !strcmp(w[1], "rw") ? VM_BPM_RW : !strcmp(w[1], "x") ? VM_BPM_EXEC : 0)
			   : 0;
	int i = 2, rc = -1, id = 0;
	char *expr = access ? join_until(w, n, &i, kws) : NULL, *cond = NULL;
	uint64_t len = 0;
	/* LEN is the last word before the keywords */
	char *sp = expr ? strrchr(expr, ' ') : NULL;
	if (!access || !sp || !parse_num(sp + 1, &len)) {
		vm_seterr("usage: bpm r|w|rw|x EXPR LEN [if COND] [pass N] [log \"TEXT {EXPR}\"] [group NAME] [--pages] "
			  "[--fast] [--uffd] [--guard]");
		goto out;
	}
	*sp = 0;
	while (i < n) {
		const char *k = w[i++];
		uint64_t v;
		if (!strcmp(k, "if")) {
			free(cond);
			cond = join_until(w, n, &i, kws);
			s.cond = cond;
		} else if (!strcmp(k, "pass") && i < n && parse_num(w[i], &v)) {
			s.pass = v;
			i++;
		} else if (!strcmp(k, "log") && i < n) {
			s.log = w[i++];
		} else if (!strcmp(k, "group") && i < n) {
			s.group = w[i++];
		} else if (!strcmp(k, "--pages")) {
			s.pages = true;
		} else if (!strcmp(k, "--fast")) {
			s.fast = s.pages = true;
		} else if (!strcmp(k, "--uffd")) {
			s.uffd = s.pages = true;
		} else if (!strcmp(k, "--guard")) {
			s.guard = s.pages = true;
		} else {
			vm_seterr("bpm: unexpected '%s'", k);
			goto out;
		}
	}
	rc = vm_dbg_bpm(o->d, access, expr, len, &s, &id);
	if (rc == 0)
		show_bp_set(o, id);
out:
	free(expr);
	free(cond);
	return rc;
}

static int do_id_or_group(cmd_out *o, char **w, int n)
{
	uint64_t id;
	bool on = !strcmp(w[0], "enable");
	int rc;
	if (n == 3 && !strcmp(w[1], "group"))
		rc = vm_dbg_enable_group(o->d, w[2], on);
	else if (n == 2 && !strcmp(w[0], "delete") && !strcmp(w[1], "all"))
		rc = vm_dbg_delete(o->d, 0);
	else if (n == 2 && parse_num(w[1], &id) && id > 0 && id < INT32_MAX)
		rc = !strcmp(w[0], "delete") ? vm_dbg_delete(o->d, (int)id) : vm_dbg_enable(o->d, (int)id, on);
	else {
		vm_seterr("usage: %s ID|%s", w[0], !strcmp(w[0], "delete") ? "all" : "group NAME");
		return -1;
	}
	if (rc == 0)
		show_ok(o);
	return rc;
}

/* words [from, to) as one expression */
static int eval_word(cmd_out *o, char **w, int n, int from, int to, uint64_t *v)
{
	int i = from;
	static const char *const none[] = { NULL };
	char *e = join_until(w, to < n ? to : n, &i, none);
	int rc = *e ? vm_dbg_eval(o->d, e, v) : (vm_seterr("an expression is needed"), -1);
	free(e);
	return rc;
}

static int do_mem(cmd_out *o, char **w, int n)
{
	/* mem EXPR [N] [UNIT]: the unit and count are the last words when
	 * they look like one */
	const char *unit = "u8";
	uint64_t count = 0, v;
	int end = n;
	if (end > 2 && show_unit_size(w[end - 1]) >= 0)
		unit = w[--end];
	if (end > 2 && parse_num(w[end - 1], &count))
		end--;
	if (end < 2 || eval_word(o, w, n, 1, end, &v) < 0) {
		if (end < 2)
			vm_seterr("usage: mem EXPR [N] [u8|u16|u32|u64|f32|f64|f80|ascii|utf16|ptr]");
		return -1;
	}
	return show_mem(o, v, count, unit);
}

static int do_write(cmd_out *o, char **w, int n)
{
	uint64_t addr;
	if (n < 3 || eval_word(o, w, n, 1, n - 1, &addr) < 0) {
		if (n < 3)
			vm_seterr("usage: write EXPR HEXBYTES");
		return -1;
	}
	const char *h = w[n - 1];
	size_t len = strlen(h);
	if (len % 2 || !len) {
		vm_seterr("write: '%s' is not an even count of hex digits", h);
		return -1;
	}
	uint8_t *buf = xmalloc(len / 2);
	for (size_t i = 0; i < len / 2; i++) {
		char two[3] = { h[2 * i], h[2 * i + 1], 0 };
		char *end;
		buf[i] = (uint8_t)strtoul(two, &end, 16);
		if (*end || !isxdigit((unsigned char)two[0])) {
			free(buf);
			vm_seterr("write: '%s' is not hex", h);
			return -1;
		}
	}
	int rc = vm_dbg_write(o->d, addr, buf, len / 2);
	free(buf);
	if (rc == 0)
		show_ok(o);
	return rc;
}

/* the two-way settings: set NAME ON|OFF, ON the first word */
static const struct setting {
	const char *name, *on, *off;
	void (*apply)(vm_dbg *d, bool on);
} settings[] = {
	{ "syntax", "att", "intel", vm_dbg_set_att },
	{ "bpm-mode", "fast", "stop", vm_dbg_set_bpm_fast },
	{ "bpm-emulate", "on", "off", vm_dbg_set_bpm_emulate },
	{ "follow-fork", "child", "parent", vm_dbg_follow_fork },
};

static int do_set(cmd_out *o, char **w, int n)
{
	for (size_t k = 0; n >= 2 && k < sizeof settings / sizeof settings[0]; k++) {
		const struct setting *st = &settings[k];
		if (strcmp(w[1], st->name))
			continue;
		if (n != 3 || (strcmp(w[2], st->on) && strcmp(w[2], st->off))) {
			vm_seterr("usage: set %s %s|%s", st->name, st->on, st->off);
			return -1;
		}
		st->apply(o->d, !strcmp(w[2], st->on));
		show_ok(o);
		return 0;
	}
	/* set REG = EXPR, blanks around '=' or not */
	static const char *const none[] = { NULL };
	int i = 1;
	char *all = join_until(w, n, &i, none), *eq = strchr(all, '=');
	char reg[32];
	uint64_t v;
	int rc = -1;
	if (!eq) {
		vm_seterr("usage: set REG = EXPR");
		goto out;
	}
	*eq = 0;
	if (sscanf(all, " %31s", reg) != 1) {
		vm_seterr("usage: set REG = EXPR");
		goto out;
	}
	if (vm_dbg_eval(o->d, eq + 1, &v) == 0 && vm_dbg_reg_set(o->d, reg, v) == 0) {
		show_ok(o);
		rc = 0;
	}
out:
	free(all);
	return rc;
}

static int do_handle(cmd_out *o, char **w, int n)
{
	int sig = n >= 2 ? dbg_signum(w[1]) : -1;
	if (sig < 0 || n < 3) {
		vm_seterr("usage: handle SIG stop|nostop|pass|nopass|print|noprint ...");
		return -1;
	}
	/* every word read first: one bad word changes nothing */
	int stop = -1, pass = -1, print = -1;
	for (int i = 2; i < n; i++) {
		if (!strcmp(w[i], "stop"))
			stop = 1;
		else if (!strcmp(w[i], "nostop"))
			stop = 0;
		else if (!strcmp(w[i], "pass"))
			pass = 1;
		else if (!strcmp(w[i], "nopass"))
			pass = 0;
		else if (!strcmp(w[i], "print"))
			print = 1;
		else if (!strcmp(w[i], "noprint"))
			print = 0;
		else {
			vm_seterr("handle: '%s' is not stop, nostop, pass, nopass, print or noprint", w[i]);
			return -1;
		}
	}
	vm_dbg_handle(o->d, sig, stop, pass, print);
	show_ok(o);
	return 0;
}

static int do_run(cmd_out *o, char **w, int n)
{
	const char *c = w[0];
	uint64_t v = 1;
	int rc;
	if (!strcmp(c, "continue") || !strcmp(c, "c")) {
		if (n > 1) {
			vm_seterr("usage: continue (no count: give a breakpoint one with 'break EXPR pass N')");
			return -1;
		}
		rc = vm_dbg_continue(o->d);
	} else if (!strcmp(c, "stepi") || !strcmp(c, "si")) {
		if (n > 2 || (n == 2 && !parse_num(w[1], &v))) {
			vm_seterr("usage: stepi [N]");
			return -1;
		}
		rc = vm_dbg_stepi(o->d, v);
	} else if (!strcmp(c, "nexti") || !strcmp(c, "ni") || !strcmp(c, "step") || !strcmp(c, "s") ||
		   !strcmp(c, "next") || !strcmp(c, "n")) {
		if (n > 2 || (n == 2 && (!parse_num(w[1], &v) || !v || v > 1000000))) {
			vm_seterr("usage: %s [N]", c);
			return -1;
		}
		/* N times, as gdb's: fewer when something else stops it (a
		 * breakpoint, a signal, the exit) */
		bool insn = !strcmp(c, "nexti") || !strcmp(c, "ni"), over = c[0] == 'n';
		rc = 0;
		for (uint64_t i = 0; i < v && rc == 0; i++) {
			rc = insn ? vm_dbg_nexti(o->d) : vm_dbg_step_line(o->d, over);
			if (rc == 0 && vm_dbg_last_stop(o->d)->kind != VM_DBG_EV_STEP)
				break;
		}
	} else if (!strcmp(c, "finish")) {
		if (n > 1) {
			vm_seterr("usage: finish (no argument: the current function's caller)");
			return -1;
		}
		rc = vm_dbg_finish(o->d, &v) < 0 ? -1 : 0;
	}
	else { /* until */
		if (n < 2 || eval_word(o, w, n, 1, n, &v) < 0) {
			if (n < 2)
				vm_seterr("usage: until EXPR");
			return -1;
		}
		rc = vm_dbg_until(o->d, v);
	}
	if (rc == 0)
		show_ok(o);
	return rc;
}

static int do_thread(cmd_out *o, char **w, int n)
{
	uint64_t tid;
	if (n == 2) {
		if (!parse_num(w[1], &tid) || vm_dbg_set_thread(o->d, (int64_t)tid) < 0) {
			if (!vm_has_error())
				vm_seterr("usage: thread TID");
			return -1;
		}
	}
	return show_threads(o);
}

static int dispatch(cmd_out *o, char **w, int n)
{
	const char *c = w[0];
	vm_dbg *d = o->d;
	if (!strcmp(c, "break") || !strcmp(c, "b"))
		return do_break(o, w, n, false, false);
	if (!strcmp(c, "tbreak"))
		return do_break(o, w, n, true, false);
	if (!strcmp(c, "watch") || !strcmp(c, "hbreak"))
		return do_break(o, w, n, false, true);
	if (!strcmp(c, "bpm"))
		return do_bpm(o, w, n);
	if (!strcmp(c, "info") && n == 2 && !strcmp(w[1], "bpm"))
		return show_breakpoints_of(o, true);
	if (!strcmp(c, "delete") || !strcmp(c, "enable") || !strcmp(c, "disable"))
		return do_id_or_group(o, w, n);
	if (!strcmp(c, "info") && n == 2 && (!strcmp(w[1], "breakpoints") || !strcmp(w[1], "break") || !strcmp(w[1], "b")))
		return show_breakpoints(o);
	if (!strcmp(c, "regs") && n == 2 && (!strcmp(w[1], "avx") || !strcmp(w[1], "all")))
		return show_regs_of(o, w[1][0] == 'a' && w[1][1] == 'v' ? 1 : 2);
	if ((!strcmp(c, "info") && n == 2 && !strcmp(w[1], "registers")) || (!strcmp(c, "regs") && n == 1))
		return show_regs(o);
	if (!strcmp(c, "regs")) {
		vm_seterr("usage: regs [avx|all]");
		return -1;
	}
	if (!strcmp(c, "stack")) {
		uint64_t v = 16;
		if (n > 2 || (n == 2 && (!parse_num(w[1], &v) || !v || v > 4096))) {
			vm_seterr("usage: stack [N] (1 to 4096 slots)");
			return -1;
		}
		return show_stack(o, v);
	}
	if ((!strcmp(c, "info") && n == 2 && !strcmp(w[1], "threads")) || !strcmp(c, "threads"))
		return show_threads(o);
	if (!strcmp(c, "continue") || !strcmp(c, "c") || !strcmp(c, "stepi") || !strcmp(c, "si") ||
	    !strcmp(c, "nexti") || !strcmp(c, "ni") || !strcmp(c, "step") || !strcmp(c, "s") ||
	    !strcmp(c, "next") || !strcmp(c, "n") || !strcmp(c, "finish") || !strcmp(c, "until"))
		return do_run(o, w, n);
	if (!strcmp(c, "thread"))
		return do_thread(o, w, n);
	if (!strcmp(c, "bt") || !strcmp(c, "backtrace")) {
		/* bt N: the innermost N frames, bt -N: the outermost N (gdb's) */
		uint64_t v = 0;
		bool outer = n == 2 && w[1][0] == '-';
		if (n > 2 || (n == 2 && (!parse_num(w[1] + outer, &v) || !v || v > 100000))) {
			vm_seterr("usage: bt [N|-N] (the innermost or outermost N frames)");
			return -1;
		}
		return show_bt(o, v, outer);
	}
	if (!strcmp(c, "print") || !strcmp(c, "p")) {
		uint64_t v;
		if (n < 2 || eval_word(o, w, n, 1, n, &v) < 0) {
			if (n < 2)
				vm_seterr("usage: print EXPR");
			return -1;
		}
		return show_value(o, v);
	}
	if (!strcmp(c, "mem") || !strcmp(c, "x"))
		return do_mem(o, w, n);
	if (!strcmp(c, "write"))
		return do_write(o, w, n);
	if (!strcmp(c, "set"))
		return do_set(o, w, n);
	if (!strcmp(c, "disasm") || !strcmp(c, "u")) {
		uint64_t v, count = 10;
		int end = n;
		if (n > 2 && parse_num(w[n - 1], &count))
			end--;
		if (end < 2) {
			if (vm_dbg_reg_get(d, "rip", &v) < 0)
				return -1;
		} else if (eval_word(o, w, n, 1, end, &v) < 0) {
			return -1;
		}
		return show_disasm(o, v, count);
	}
	if (!strcmp(c, "handle"))
		return do_handle(o, w, n);
	if (!strcmp(c, "pause")) { /* nothing runs between batch commands */
		show_ok(o);
		return 0;
	}
	if (!strcmp(c, "help"))
		return show_help(o);
	vm_seterr("unknown command '%s' (try help)", c);
	return -1;
}

static const char *const ending[] = { "detach", "kill", "quit", "q", NULL };

bool vm_dbg_ends_session(const char *line)
{
	char *copy = xstrdup(line), *w[MAX_WORDS];
	bool ends = split(copy, w) > 0 && is_kw(w[0], ending);
	free(copy);
	return ends;
}

int vm_dbg_exec(vm_dbg *d, const char *line, FILE *out)
{
	char *copy = xstrdup(line), *w[MAX_WORDS];
	size_t len = strlen(copy);
	while (len && (copy[len - 1] == '\n' || copy[len - 1] == '\r'))
		copy[--len] = 0;
	int n = split(copy, w);
	if (n == 0) {
		free(copy);
		return 0;
	}
	cmd_out o = { d, out, d->o.json, w[0] };
	vm_clearerr();
	if (is_kw(w[0], ending)) {
		vm_dbg_end how = !strcmp(w[0], "detach") ? VM_DBG_DETACH : !strcmp(w[0], "kill") ? VM_DBG_KILL : VM_DBG_QUIT;
		bool launched = d->o.launched, gone = !d->alive;
		int rc = vm_dbg_close(d, how);
		o.d = NULL;
		/* an exited process was neither killed nor let go */
		const char *res = how == VM_DBG_KILL || (how == VM_DBG_QUIT && launched) ? "killed" : "detached";
		show_end(&o, gone ? "exited" : res, rc);
		free(copy);
		return 1;
	}
	if (!d->alive && strcmp(w[0], "help") && strcmp(w[0], "info") && strcmp(w[0], "handle")) {
		vm_seterr("the process has exited: only quit is left");
		show_error(&o);
		free(copy);
		return -1;
	}
	int rc = dispatch(&o, w, n);
	if (rc < 0)
		show_error(&o);
	free(copy);
	return rc < 0 ? -1 : 0;
}
