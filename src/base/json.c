#include "json.h"

#include <math.h>
#include <string.h>

void json_init(json_writer *w, FILE *f, bool pretty)
{
	w->f = f;
	w->len = 0;
	w->depth = 0;
	w->pretty = pretty;
	w->after_key = false;
	memset(w->first, 0, sizeof w->first);
	w->first[0] = true;
}

/* Our own buffer: stdio's per-call locking costs more than the JSON */
static void flush(json_writer *w)
{
	if (w->len)
		fwrite(w->buf, 1, w->len, w->f);
	w->len = 0;
}

static void emit(json_writer *w, const char *s, size_t n)
{
	if (n > sizeof w->buf - w->len) {
		flush(w);
		if (n > sizeof w->buf) {
			fwrite(s, 1, n, w->f);
			return;
		}
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void emitc(json_writer *w, char c)
{
	if (w->len == sizeof w->buf)
		flush(w);
	w->buf[w->len++] = c;
}

static void emits(json_writer *w, const char *s)
{
	emit(w, s, strlen(s));
}

static void newline(json_writer *w)
{
	static const char spaces[] = "                                                                ";
	if (!w->pretty)
		return;
	emitc(w, '\n');
	size_t n = 2 * (size_t)w->depth;
	while (n > 0) {
		size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
		emit(w, spaces, k);
		n -= k;
	}
}

/* comma and indentation before a value or key */
static void before_value(json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		emitc(w, ',');
	if (w->depth > 0)
		newline(w);
	w->first[w->depth] = false;
}

static void open(json_writer *w, char c)
{
	before_value(w);
	emitc(w, c);
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void close(json_writer *w, char c)
{
	bool empty = w->first[w->depth];
	if (w->depth > 0)
		w->depth--;
	if (!empty)
		newline(w);
	emitc(w, c);
}

void json_obj_begin(json_writer *w) { open(w, '{'); }
void json_obj_end(json_writer *w) { close(w, '}'); }
void json_arr_begin(json_writer *w) { open(w, '['); }
void json_arr_end(json_writer *w) { close(w, ']'); }

/* length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void json_strn(json_writer *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	before_value(w);
	emitc(w, '"');
	size_t i = 0;
	while (i < n) {
		/* copy a run of plain ASCII at once */
		size_t j = i;
		while (j < n && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' && s[j] != '\\')
			j++;
		if (j > i) {
			emit(w, str + i, j - i);
			i = j;
			continue;
		}
		unsigned char c = s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			emit(w, esc, 2);
			i++;
		} else if (c == '\n') {
			emit(w, "\\n", 2);
			i++;
		} else if (c == '\t') {
			emit(w, "\\t", 2);
			i++;
		} else if (c == '\r') {
			emit(w, "\\r", 2);
			i++;
		} else if (c < 0x80) { /* other control characters and DEL */
			snprintf(esc, sizeof esc, "\\u%04x", c);
			emit(w, esc, 6);
			i++;
		} else {
			size_t l = utf8_len(s + i, n - i);
			if (l == 0) {
				emit(w, "\\ufffd", 6);
				i++;
			} else {
				emit(w, str + i, l);
				i += l;
			}
		}
	}
	emitc(w, '"');
}

void json_str(json_writer *w, const char *s)
{
	if (!s) {
		json_null(w);
		return;
	}
	json_strn(w, s, strlen(s));
}

void json_key(json_writer *w, const char *key)
{
	json_str(w, key);
	emits(w, w->pretty ? ": " : ":");
	w->after_key = true;
}

/* digits of v in base 10 or 16, written backwards from end */
static char *digits(uint64_t v, unsigned base, char *end)
{
	static const char hx[] = "0123456789abcdef";
	do {
		*--end = hx[v % base];
		v /= base;
	} while (v);
	return end;
}

void json_u64(json_writer *w, uint64_t v)
{
	char b[24], *p = digits(v, 10, b + sizeof b);
	before_value(w);
	emit(w, p, (size_t)(b + sizeof b - p));
}

void json_i64(json_writer *w, int64_t v)
{
	char b[24], *p = digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, b + sizeof b);
	if (v < 0)
		*--p = '-';
	before_value(w);
	emit(w, p, (size_t)(b + sizeof b - p));
}

void json_double(json_writer *w, double v)
{
	char b[32];
	before_value(w);
	if (isfinite(v)) {
		int n = snprintf(b, sizeof b, "%.17g", v);
		emit(w, b, (size_t)n);
	} else {
		emits(w, "null");
	}
}

void json_bool(json_writer *w, bool v)
{
	before_value(w);
	emits(w, v ? "true" : "false");
}

void json_null(json_writer *w)
{
	before_value(w);
	emits(w, "null");
}

void json_addr(json_writer *w, uint64_t v)
{
	char b[24], *end = b + sizeof b;
	*--end = '"';
	char *p = digits(v, 16, end);
	*--p = 'x';
	*--p = '0';
	*--p = '"';
	before_value(w);
	emit(w, p, (size_t)(b + sizeof b - p));
}

void json_kstr(json_writer *w, const char *k, const char *s) { json_key(w, k); json_str(w, s); }
void json_ku64(json_writer *w, const char *k, uint64_t v) { json_key(w, k); json_u64(w, v); }
void json_ki64(json_writer *w, const char *k, int64_t v) { json_key(w, k); json_i64(w, v); }
void json_kbool(json_writer *w, const char *k, bool v) { json_key(w, k); json_bool(w, v); }
void json_kaddr(json_writer *w, const char *k, uint64_t v) { json_key(w, k); json_addr(w, v); }

void json_done(json_writer *w)
{
	emitc(w, '\n');
	flush(w);
	fflush(w->f);
}
