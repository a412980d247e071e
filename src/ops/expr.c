/* A recursive-descent evaluator for address expressions (see expr.h). */
#include "vmatlas/expr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"
#include "vmatlas/layout.h"

#define MAX_DEPTH 64

typedef struct parser {
	const vm_expr_ctx *c;
	const char *text, *p;
	int depth;
	bool failed;
	bool malformed; /* the failure is in the text, not in the target */
} parser;

static uint64_t expr(parser *ps);

static void fail(parser *ps, const char *what)
{
	if (!ps->failed)
		vm_seterr("bad expression '%s' at column %d: %s", ps->text, (int)(ps->p - ps->text) + 1, what);
	if (!ps->failed)
		ps->malformed = true;
	ps->failed = true;
}

static void skip(parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$' || c == '-' || c == '+';
}

static const vm_thread *thread_of(parser *ps, int64_t tid)
{
	const vm_map *m = ps->c->m;
	for (size_t i = 0; i < m->nthreads; i++)
		if (tid ? m->threads[i].tid == tid : m->threads[i].is_main)
			return &m->threads[i];
	return tid || !m->nthreads ? NULL : &m->threads[0];
}

/* a word of the target's at addr */
static bool read_word(const vm_expr_ctx *c, uint64_t addr, size_t w, uint64_t *v)
{
	vm_reader r = c->t ? vm_reader_target(c->t) : (vm_reader){ 0 };
	return c->t && vm_reader_word(&r, addr, w, v);
}

/* a WoW64 thread's 32-bit TEB: TEB64.WowTebOffset from the TEB64 (0: the
 * classic place, 0x2000 above it); a 32-bit TEB's Self names itself */
static bool teb32_of(const vm_expr_ctx *c, uint64_t teb, uint64_t *out)
{
	vm_layout t64, t32;
	uint64_t off = 0, self = 0;
	if (c->m->info.bits == 32) {
		*out = teb;
		return true;
	}
	vm_layout_get(&t64, "teb", 64, 0);
	vm_layout_get(&t32, "teb32", 32, 0);
	if (read_word(c, teb + vm_layout_off(&t64, "WowTebOffset"), 4, &off) && off)
		off = (uint64_t)(int64_t)(int32_t)(uint32_t)off;
	else
		off = 0x2000;
	*out = teb + off;
	return read_word(c, *out + vm_layout_off(&t32, "NtTib.Self"), 4, &self) && self == *out;
}

/* WinDbg's pseudo-registers of a Windows target: $teb, $peb, their WoW64
 * 32-bit twins $teb32 and $peb32, and $kuser (KUSER_SHARED_DATA) */
static bool win_pseudo(const vm_expr_ctx *c, const vm_thread *th, const char *name, uint64_t *v)
{
	if (c->m->info.os != VM_OS_WINDOWS || name[0] != '$')
		return false;
	if (!strcmp(name, "$kuser")) {
		*v = 0x7ffe0000;
		return true;
	}
	if (!th || !th->tp)
		return false;
	int bits = c->m->info.bits == 32 ? 32 : 64;
	vm_layout L;
	if (!strcmp(name, "$teb")) {
		*v = th->tp;
		return true;
	}
	if (!strcmp(name, "$peb")) {
		vm_layout_get(&L, "teb", bits, 0);
		return read_word(c, th->tp + vm_layout_off(&L, "ProcessEnvironmentBlock"), (size_t)bits / 8, v);
	}
	uint64_t t32;
	if (strcmp(name, "$teb32") && strcmp(name, "$peb32"))
		return false;
	if (!teb32_of(c, th->tp, &t32))
		return false;
	if (!strcmp(name, "$teb32")) {
		*v = t32;
		return true;
	}
	vm_layout_get(&L, "teb32", 32, 0);
	return read_word(c, t32 + vm_layout_off(&L, "ProcessEnvironmentBlock"), 4, v);
}

static bool reg_value(const vm_thread *th, const char *name, uint64_t *v)
{
	for (size_t i = 0; i < th->nregs; i++)
		if (strcmp(th->regs[i].name, name) == 0) {
			*v = th->regs[i].value;
			return true;
		}
	if (th->sp_valid && (!strcmp(name, "sp") || !strcmp(name, "pc"))) {
		*v = name[0] == 's' ? th->sp : th->pc;
		return true;
	}
	return false;
}

/* A data object a shared library exports that the executable refers to
 * is copied into the executable (a COPY relocation) and every module is
 * bound to that copy: the dynamic linker looks in the executable first.
 * module!name of such an object is the copy in use, not the original
 * the library still holds. */
static uint64_t bound_copy(const vm_expr_ctx *c, const char *module, const char *name, uint64_t addr)
{
	const vm_module *exe = NULL;
	for (size_t i = 0; i < c->m->nmodules && !exe; i++)
		if (c->m->modules[i].loader_index == 0 ||
		    (c->m->info.exe && c->m->modules[i].path && !strcmp(c->m->modules[i].path, c->m->info.exe)))
			exe = &c->m->modules[i];
	if (!exe || !strcmp(exe->name, module) || (exe->path && !strcmp(exe->path, module)))
		return addr;
	const vm_export *xs;
	size_t n = vm_exports(c->s, &xs);
	bool exported_object = false;
	for (size_t i = 0; i < n && !exported_object; i++) {
		const char *xn = xs[i].mangled ? xs[i].mangled : xs[i].name;
		exported_object = xs[i].addr == addr && xs[i].exported && !strcmp(xs[i].kind, "object") &&
				  !strcmp(xn, name) && xs[i].module != exe;
	}
	if (!exported_object)
		return addr;
	for (size_t i = 0; i < n; i++) {
		const char *xn = xs[i].mangled ? xs[i].mangled : xs[i].name;
		if (xs[i].module == exe && xs[i].exported && !strcmp(xs[i].kind, "object") && !strcmp(xn, name))
			return xs[i].addr;
	}
	return addr;
}

/* a name: module!symbol, symbol, register@tid or register. A module name
 * may hold '-' and '+' (ld-linux-x86-64.so.2!_r_debug); elsewhere they
 * are operators. */
static uint64_t name(parser *ps)
{
	const char *q = ps->p;
	while (*q && (ident_char(*q) || *q == '@'))
		q++;
	char *module = NULL;
	if (*q == '!') {
		module = xstrndup(ps->p, (size_t)(q - ps->p));
		ps->p = q + 1;
	}
	const char *start = ps->p;
	ps->p += vm_symbol_name_len(ps->p); /* ns::Class::method, 'f(int)' too */
	char *tok = vm_symbol_name_dup(start, (size_t)(ps->p - start));
	uint64_t v = 0;
	char *at = strchr(tok, '@');
	if (module) {
		if (!*tok || !vm_symbol_lookup(ps->c->s, module, tok, &v)) {
			vm_seterr("no symbol '%s!%s'", module, tok);
			ps->failed = true;
		} else {
			v = bound_copy(ps->c, module, tok, v);
		}
	} else if (at && at[1] && isdigit((unsigned char)at[1])) {
		*at = 0;
		uint64_t tid;
		const vm_thread *th = parse_u64(at + 1, &tid) ? thread_of(ps, (int64_t)tid) : NULL;
		if (!th) {
			vm_seterr("no thread %s", at + 1);
			ps->failed = true;
		} else if (!reg_value(th, tok, &v) && !win_pseudo(ps->c, th, tok, &v)) {
			vm_seterr("thread %s has no register '%s' (or it could not be read)", at + 1, tok);
			ps->failed = true;
		}
	} else {
		const vm_thread *th = thread_of(ps, 0);
		if (!(th && reg_value(th, tok, &v)) && !win_pseudo(ps->c, th, tok, &v) &&
		    !vm_symbol_lookup(ps->c->s, NULL, tok, &v)) {
			vm_seterr("no symbol or register '%s'", tok);
			ps->failed = true;
		}
	}
	free(tok);
	free(module);
	return v;
}

static uint64_t factor(parser *ps)
{
	skip(ps);
	if (ps->failed)
		return 0;
	if (++ps->depth > MAX_DEPTH) {
		fail(ps, "nested too deeply");
		return 0;
	}
	uint64_t v = 0;
	char c = *ps->p;
	if (c == '(' || c == '[') {
		ps->p++;
		v = expr(ps);
		skip(ps);
		char want = c == '(' ? ')' : ']';
		if (*ps->p != want) {
			fail(ps, c == '(' ? "')' expected" : "']' expected");
		} else {
			ps->p++;
			if (c == '[' && !ps->failed) {
				size_t w = ps->c->m->info.bits == 32 ? 4 : 8;
				uint64_t word = 0;
				vm_reader r = ps->c->t ? vm_reader_target(ps->c->t) : (vm_reader){ 0 };
				if (!ps->c->t) { /* a map read back from a snapshot */
					vm_seterr("no memory to read: cannot dereference 0x%llx", (unsigned long long)v);
					ps->failed = true;
				} else if (!vm_reader_word(&r, v, w, &word)) {
					vm_seterr("cannot dereference 0x%llx: unreadable", (unsigned long long)v);
					ps->failed = true;
				}
				v = word;
			}
		}
	} else if (isdigit((unsigned char)c)) {
		const char *start = ps->p;
		while (isalnum((unsigned char)*ps->p))
			ps->p++;
		char *tok = xstrndup(start, (size_t)(ps->p - start));
		if (!parse_u64(tok, &v))
			fail(ps, "not a number");
		free(tok);
	} else if ((ident_char(c) && c != '-' && c != '+') || c == '\'') {
		v = name(ps);
	} else {
		fail(ps, c ? "a number, name, '(' or '[' expected" : "unexpected end");
	}
	ps->depth--;
	return v;
}

static uint64_t term(parser *ps)
{
	uint64_t v = factor(ps);
	for (;;) {
		skip(ps);
		if (ps->failed || *ps->p != '*')
			return v;
		ps->p++;
		uint64_t r = factor(ps);
		if (!ps->failed && __builtin_mul_overflow(v, r, &v))
			fail(ps, "the product overflows 64 bits");
	}
}

static uint64_t expr(parser *ps)
{
	uint64_t v = term(ps);
	for (;;) {
		skip(ps);
		char op = *ps->p;
		if (ps->failed || (op != '+' && op != '-'))
			return v;
		ps->p++;
		uint64_t r = term(ps);
		if (ps->failed)
			return v;
		/* an address past the top or below zero is a mistake, not a wrap */
		if (op == '+' ? __builtin_add_overflow(v, r, &v) : __builtin_sub_overflow(v, r, &v))
			fail(ps, op == '+' ? "the sum overflows 64 bits" : "the difference is below zero");
	}
}

int vm_expr_eval(const vm_expr_ctx *c, const char *text, uint64_t *out)
{
	parser ps = { c, text, text, 0, false, false };
	uint64_t v = expr(&ps);
	skip(&ps);
	if (!ps.failed && *ps.p)
		fail(&ps, "unexpected characters");
	if (ps.failed)
		return ps.malformed ? -2 : -1;
	*out = v;
	return 0;
}
