/* The debugger's expressions: the view grammar (numbers, module!symbol,
 * registers, [EXPR]) with every register part, byte|word|dword|qword
 * [EXPR], module+RVA, and C's operators down to && and ||. Parsed once
 * into a tree (symbols resolved then), evaluated at each use: a
 * breakpoint's condition runs on every hit, so evaluation must be cheap.
 *
 *   or   := and ('||' and)*           and := cmp ('&&' cmp)*
 *   cmp  := bor (CMPOP bor)?          bor := bxor ('|' bxor)*
 *   bxor := band ('^' band)*          band := shift ('&' shift)*
 *   shift:= add (('<<'|'>>') add)*    add := mul (('+'|'-') mul)*
 *   mul  := unary (('*'|'/'|'%') unary)*
 *   unary:= ('!'|'~'|'-') unary | prim
 *   prim := NUMBER | NAME | '(' or ')' | SIZE? '[' or ']' */
#include "dbg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define MAX_DEPTH 64

enum { N_CONST, N_REG, N_MEM, N_UNARY, N_BIN, N_AND, N_OR };

struct dx_node {
	int kind;
	int op;        /* the operator's first char, or a code below */
	int size;      /* N_MEM: bytes */
	uint64_t value;
	char reg[12];
	dx_node *a, *b;
};

/* two-character operators */
enum { OP_EQ = 256, OP_NE, OP_LE, OP_GE, OP_SHL, OP_SHR };

typedef struct parser {
	vm_dbg *d;
	const char *text, *p;
	int depth;
	bool failed;
} parser;

static dx_node *p_or(parser *ps);

static void fail(parser *ps, const char *what)
{
	if (!ps->failed)
		vm_seterr("bad expression '%s' at column %d: %s", ps->text, (int)(ps->p - ps->text) + 1, what);
	ps->failed = true;
}

static void skip(parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

static dx_node *node(int kind, int op, dx_node *a, dx_node *b)
{
	dx_node *n = xmalloc(sizeof *n);
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->op = op;
	n->a = a;
	n->b = b;
	return n;
}

void dx_free(dx_node *n)
{
	if (!n)
		return;
	dx_free(n->a);
	dx_free(n->b);
	free(n);
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$' || c == '@';
}

static const vm_module *module_named(vm_dbg *d, const char *name, size_t len)
{
	const vm_map *m = d->m;
	for (size_t i = 0; m && i < m->nmodules; i++)
		if (m->modules[i].name && strlen(m->modules[i].name) == len &&
		    !strncmp(m->modules[i].name, name, len))
			return &m->modules[i];
	return NULL;
}

/* A name: module!symbol, a register, a module (its base, for
 * module+RVA), or a symbol. Module names may hold '-' and '+'
 * (ld-linux-x86-64.so.2, libstdc++.so.6): the longest run that names a
 * module wins; elsewhere they are operators. */
static dx_node *name(parser *ps)
{
	const char *q = ps->p;
	while (name_char(*q) || *q == '-' || *q == '+')
		q++;
	if (*q == '!') {
		char *mod = xstrndup(ps->p, (size_t)(q - ps->p));
		const char *s = q + 1, *e = s + vm_symbol_name_len(s);
		char *sym = vm_symbol_name_dup(s, (size_t)(e - s));
		uint64_t v = 0;
		if (!*sym || !ps->d->sym || !vm_symbol_lookup(ps->d->sym, mod, sym, &v)) {
			vm_seterr("no symbol '%s!%s'", mod, sym);
			ps->failed = true;
		}
		free(mod);
		free(sym);
		ps->p = e;
		dx_node *n = node(N_CONST, 0, NULL, NULL);
		n->value = v;
		return n;
	}
	for (const char *end = q; end > ps->p; end--) {
		if (*end && *end != '-' && *end != '+')
			continue;
		const vm_module *m = module_named(ps->d, ps->p, (size_t)(end - ps->p));
		if (m && memchr(ps->p, '.', (size_t)(end - ps->p))) {
			ps->p = end;
			dx_node *n = node(N_CONST, 0, NULL, NULL);
			n->value = m->base;
			return n;
		}
	}
	const char *s = ps->p;
	ps->p += vm_symbol_name_len(ps->p); /* ns::Class::method, 'f(int)' too */
	char *tok = vm_symbol_name_dup(s, (size_t)(ps->p - s));
	dx_node *n = NULL;
	if (dbg_is_reg(tok) && strlen(tok) < sizeof n->reg) {
		n = node(N_REG, 0, NULL, NULL);
		strcpy(n->reg, tok);
	} else {
		n = node(N_CONST, 0, NULL, NULL);
		if (!ps->d->sym || !vm_symbol_lookup(ps->d->sym, NULL, tok, &n->value)) {
			const vm_module *m = module_named(ps->d, tok, strlen(tok));
			if (m)
				n->value = m->base;
			else {
				vm_seterr("no symbol or register '%s'", tok);
				ps->failed = true;
			}
		}
	}
	free(tok);
	return n;
}

static int size_word(parser *ps)
{
	static const struct {
		const char *w;
		int size;
	} words[] = { { "byte", 1 }, { "word", 2 }, { "dword", 4 }, { "qword", 8 } };
	for (size_t i = 0; i < 4; i++) {
		size_t n = strlen(words[i].w);
		if (!strncmp(ps->p, words[i].w, n)) {
			const char *r = ps->p + n;
			while (*r == ' ' || *r == '\t')
				r++;
			if (*r == '[') {
				ps->p = r;
				return words[i].size;
			}
		}
	}
	return 0;
}

static dx_node *prim(parser *ps)
{
	skip(ps);
	if (ps->failed)
		return NULL;
	if (++ps->depth > MAX_DEPTH) {
		fail(ps, "nested too deeply");
		return NULL;
	}
	dx_node *n = NULL;
	int size = size_word(ps);
	char c = *ps->p;
	if (c == '(' || c == '[') {
		ps->p++;
		dx_node *in = p_or(ps);
		skip(ps);
		char want = c == '(' ? ')' : ']';
		if (*ps->p != want)
			fail(ps, c == '(' ? "')' expected" : "']' expected");
		else
			ps->p++;
		if (c == '[') {
			n = node(N_MEM, 0, in, NULL);
			n->size = size ? size : ps->d->bits / 8;
		} else {
			n = in;
		}
	} else if (isdigit((unsigned char)c)) {
		const char *s = ps->p;
		while (isalnum((unsigned char)*ps->p))
			ps->p++;
		char *tok = xstrndup(s, (size_t)(ps->p - s));
		n = node(N_CONST, 0, NULL, NULL);
		if (!parse_u64(tok, &n->value))
			fail(ps, "not a number");
		free(tok);
	} else if (name_char(c) || c == '\'') {
		n = name(ps);
	} else {
		fail(ps, c ? "a number, name, '(' or '[' expected" : "unexpected end");
	}
	ps->depth--;
	return n;
}

static dx_node *unary(parser *ps)
{
	skip(ps);
	char c = *ps->p;
	if ((c == '!' && ps->p[1] != '=') || c == '~' || c == '-') {
		ps->p++;
		if (++ps->depth > MAX_DEPTH) {
			fail(ps, "nested too deeply");
			return NULL;
		}
		dx_node *n = node(N_UNARY, c, unary(ps), NULL);
		ps->depth--;
		return n;
	}
	return prim(ps);
}

/* the operator at p among ops (longest first): its code, 0 none */
static int match_op(parser *ps, const char *const *ops, const int *codes, size_t n)
{
	skip(ps);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(ops[i]);
		if (strncmp(ps->p, ops[i], len))
			continue;
		char c = ps->p[0], next = ps->p[1];
		/* '&' is not the start of '&&', '<' not of '<<' or '<=' */
		if (len == 1 && strchr("&|<>", c) && (next == c || ((c == '<' || c == '>') && next == '=')))
			continue;
		ps->p += len;
		return codes[i];
	}
	return 0;
}

static int two_char_code(const char *s)
{
	static const char *const names[] = { "==", "!=", "<=", ">=", "<<", ">>" };
	for (int i = 0; i < 6; i++)
		if (!strcmp(s, names[i]))
			return OP_EQ + i;
	return '&'; /* && and ||: their node kind says which */
}

static dx_node *level(parser *ps, dx_node *(*next)(parser *), int kind, const char *const *ops, size_t n)
{
	int codes[8];
	for (size_t i = 0; i < n; i++)
		codes[i] = ops[i][1] ? two_char_code(ops[i]) : ops[i][0];
	dx_node *a = next(ps);
	for (int op; !ps->failed && (op = match_op(ps, ops, codes, n));)
		a = node(kind, op, a, next(ps));
	return a;
}

#define OPS(...) (const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *)
static dx_node *p_mul(parser *ps) { return level(ps, unary, N_BIN, OPS("*", "/", "%")); }
static dx_node *p_add(parser *ps) { return level(ps, p_mul, N_BIN, OPS("+", "-")); }
static dx_node *p_shift(parser *ps) { return level(ps, p_add, N_BIN, OPS("<<", ">>")); }
static dx_node *p_band(parser *ps) { return level(ps, p_shift, N_BIN, OPS("&")); }
static dx_node *p_bxor(parser *ps) { return level(ps, p_band, N_BIN, OPS("^")); }
static dx_node *p_bor(parser *ps) { return level(ps, p_bxor, N_BIN, OPS("|")); }
static dx_node *p_cmp(parser *ps) { return level(ps, p_bor, N_BIN, OPS("==", "!=", "<=", ">=", "<", ">")); }
static dx_node *p_and(parser *ps) { return level(ps, p_cmp, N_AND, OPS("&&")); }
static dx_node *p_or(parser *ps) { return level(ps, p_and, N_OR, OPS("||")); }

dx_node *dx_parse(vm_dbg *d, const char *text)
{
	parser ps = { d, text, text, 0, false };
	dx_node *n = p_or(&ps);
	skip(&ps);
	if (!ps.failed && *ps.p)
		fail(&ps, "unexpected characters");
	if (ps.failed) {
		dx_free(n);
		return NULL;
	}
	return n;
}

static int bin(int op, uint64_t a, uint64_t b, uint64_t *v)
{
	switch (op) {
	case '+': *v = a + b; break;
	case '-': *v = a - b; break;
	case '*': *v = a * b; break;
	case '/':
	case '%':
		if (!b) {
			vm_seterr("division by zero");
			return -1;
		}
		*v = op == '/' ? a / b : a % b;
		break;
	case '&': *v = a & b; break;
	case '|': *v = a | b; break;
	case '^': *v = a ^ b; break;
	case OP_SHL: *v = b < 64 ? a << b : 0; break;
	case OP_SHR: *v = b < 64 ? a >> b : 0; break;
	/* comparisons are unsigned, as addresses are */
	case OP_EQ: *v = a == b; break;
	case OP_NE: *v = a != b; break;
	case OP_LE: *v = a <= b; break;
	case OP_GE: *v = a >= b; break;
	case '<': *v = a < b; break;
	case '>': *v = a > b; break;
	default: vm_seterr("bad operator"); return -1;
	}
	return 0;
}

int dx_eval(vm_dbg *d, const dx_node *n, uint64_t *out)
{
	uint64_t a = 0, b = 0;
	switch (n->kind) {
	case N_CONST:
		*out = n->value;
		return 0;
	case N_REG:
		if (dbg_refresh_regs(d) < 0)
			return -1;
		return dbg_reg_lookup(&d->regs, n->reg, out);
	case N_MEM: {
		if (dx_eval(d, n->a, &a) < 0)
			return -1;
		uint64_t v = 0;
		if (vm_dbg_read(d, a, &v, (size_t)n->size) != n->size) {
			vm_seterr("cannot read %d bytes at 0x%llx", n->size, (unsigned long long)a);
			return -1;
		}
		*out = v; /* little-endian: the low bytes */
		return 0;
	}
	case N_UNARY:
		if (dx_eval(d, n->a, &a) < 0)
			return -1;
		*out = n->op == '!' ? !a : n->op == '~' ? ~a : (uint64_t)0 - a;
		return 0;
	case N_AND:
	case N_OR:
		if (dx_eval(d, n->a, &a) < 0)
			return -1;
		if ((n->kind == N_AND) != (a != 0)) {
			*out = a != 0;
			return 0;
		}
		if (dx_eval(d, n->b, &b) < 0)
			return -1;
		*out = b != 0;
		return 0;
	default:
		if (dx_eval(d, n->a, &a) < 0 || dx_eval(d, n->b, &b) < 0)
			return -1;
		return bin(n->op, a, b, out);
	}
}

int vm_dbg_eval(vm_dbg *d, const char *text, uint64_t *out)
{
	dx_node *n = dx_parse(d, text);
	if (!n)
		return -1;
	int rc = dx_eval(d, n, out);
	dx_free(n);
	return rc;
}
