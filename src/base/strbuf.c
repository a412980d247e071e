#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void reserve(strbuf *sb, size_t extra)
{
	size_t need;
	if (__builtin_add_overflow(sb->len, extra, &need) ||
	    __builtin_add_overflow(need, 1, &need)) {
		fprintf(stderr, "vmatlas: string too long\n");
		exit(1);
	}
	ARRAY_GROW(sb->buf, sb->cap, need);
}

void sb_add(strbuf *sb, const char *s, size_t n)
{
	reserve(sb, n);
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
}

void sb_puts(strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_putc(strbuf *sb, char c)
{
	sb_add(sb, &c, 1);
}

void sb_vprintf(strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n <= 0)
		return;
	reserve(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void sb_printf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

const char *sb_str(const strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

char *sb_detach(strbuf *sb)
{
	char *p = sb->buf ? sb->buf : xstrdup("");
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return p;
}

void sb_free(strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}
