/* The text of a log-only breakpoint: literal pieces and {EXPR}s, each
 * parsed once; {EXPR} prints in decimal, {EXPR:x} in hex, {EXPR:s} the C
 * string at the address. */
#include "dbg.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vmatlas/error.h"

void dbg_log_free(dbg_log *l)
{
	for (size_t i = 0; l->lit && i <= l->nparts; i++)
		free(l->lit[i]);
	for (size_t i = 0; i < l->nparts; i++)
		dx_free(l->ex[i]);
	free(l->lit);
	free(l->ex);
	free(l->fmt);
	memset(l, 0, sizeof *l);
}

int dbg_log_parse(vm_dbg *d, const char *text, dbg_log *out)
{
	memset(out, 0, sizeof *out);
	const char *p = text;
	for (;;) {
		const char *open = strchr(p, '{');
		out->lit = xrealloc(out->lit, (out->nparts + 1) * sizeof *out->lit);
		out->lit[out->nparts] = xstrndup(p, open ? (size_t)(open - p) : strlen(p));
		if (!open)
			return 0;
		const char *close = strchr(open, '}');
		if (!close) {
			vm_seterr("log text: '{' without '}'");
			dbg_log_free(out);
			return -1;
		}
		char *ex = xstrndup(open + 1, (size_t)(close - open - 1));
		out->fmt = xrealloc(out->fmt, out->nparts + 1);
		out->fmt[out->nparts] = 'd';
		size_t el = strlen(ex);
		if (el > 2 && ex[el - 2] == ':' && strchr("dxs", ex[el - 1])) {
			out->fmt[out->nparts] = ex[el - 1];
			ex[el - 2] = 0;
		}
		out->ex = xrealloc(out->ex, (out->nparts + 1) * sizeof *out->ex);
		out->ex[out->nparts] = dx_parse(d, ex);
		free(ex);
		out->nparts++;
		if (!out->ex[out->nparts - 1]) {
			/* dbg_log_free wants a literal after every expression */
			out->lit = xrealloc(out->lit, (out->nparts + 1) * sizeof *out->lit);
			out->lit[out->nparts] = NULL;
			dbg_log_free(out);
			return -1;
		}
		p = close + 1;
	}
}

/* {EXPR} in decimal, {EXPR:x} in hex, {EXPR:s} the C string there */
char *dbg_log_format(vm_dbg *d, const dbg_log *l)
{
	size_t cap = 256, len = 0;
	char *buf = xmalloc(cap);
	buf[0] = 0;
	for (size_t i = 0; i <= l->nparts; i++) {
		char piece[600];
		for (int k = 0; k < 2; k++) {
			if (k == 0 && i == 0)
				continue;
			const char *s = piece;
			if (k == 1) {
				s = l->lit[i];
			} else {
				uint64_t v;
				char f = l->fmt[i - 1];
				if (dx_eval(d, l->ex[i - 1], &v) < 0) {
					snprintf(piece, sizeof piece, "<%s>", vm_error());
				} else if (f == 's') {
					ssize_t got = vm_dbg_read(d, v, piece, 256);
					piece[got > 0 ? (size_t)got : 0] = 0;
					piece[256] = 0;
				} else {
					snprintf(piece, sizeof piece, f == 'x' ? "0x%llx" : "%llu", (unsigned long long)v);
				}
			}
			size_t n = strlen(s);
			while (len + n + 1 > cap)
				buf = xrealloc(buf, cap *= 2);
			memcpy(buf + len, s, n + 1);
			len += n;
		}
	}
	return buf;
}
