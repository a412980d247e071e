/* A growable NUL-terminated string. */
#ifndef VMATLAS_STRBUF_H
#define VMATLAS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct strbuf {
	char *buf;
	size_t len, cap;
} strbuf;

#define STRBUF_INIT { NULL, 0, 0 }

void sb_add(strbuf *sb, const char *s, size_t n);
void sb_puts(strbuf *sb, const char *s);
void sb_putc(strbuf *sb, char c);
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(strbuf *sb, const char *fmt, va_list ap);
/* the contents (never NULL; "" when empty) */
const char *sb_str(const strbuf *sb);
/* hand the buffer to the caller and reset */
char *sb_detach(strbuf *sb);
void sb_free(strbuf *sb);

#endif
