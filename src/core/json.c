#include "json.h"

#include <math.h>
#include <string.h>

void json_init(json_writer *w, FILE *f, bool pretty)
{
	memset(w, 0, sizeof *w);
	w->f = f;
	w->pretty = pretty;
	w->first[0] = true;
}

static void newline(json_writer *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* comma and indentation before a value or key */
static void before_value(json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		fputc(',', w->f);
	if (w->depth > 0)
		newline(w);
	w->first[w->depth] = false;
}

static void open(json_writer *w, char c)
{
	before_value(w);
	fputc(c, w->f);
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
	fputc(c, w->f);
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
	fputc('"', w->f);
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', w->f);
			fputc(c, w->f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", w->f);
			i++;
		} else if (c == '\t') {
			fputs("\\t", w->f);
			i++;
		} else if (c == '\r') {
			fputs("\\r", w->f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(w->f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, w->f);
			i++;
		} else {
			size_t l = utf8_len(s + i, n - i);
			if (l == 0) {
				fputs("\\ufffd", w->f);
				i++;
			} else {
				fwrite(s + i, 1, l, w->f);
				i += l;
			}
		}
	}
	fputc('"', w->f);
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
	fputs(w->pretty ? ": " : ":", w->f);
	w->after_key = true;
}

void json_u64(json_writer *w, uint64_t v)
{
	before_value(w);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void json_i64(json_writer *w, int64_t v)
{
	before_value(w);
	fprintf(w->f, "%lld", (long long)v);
}

void json_double(json_writer *w, double v)
{
	before_value(w);
	if (isfinite(v))
		fprintf(w->f, "%.17g", v);
	else
		fputs("null", w->f);
}

void json_bool(json_writer *w, bool v)
{
	before_value(w);
	fputs(v ? "true" : "false", w->f);
}

void json_null(json_writer *w)
{
	before_value(w);
	fputs("null", w->f);
}

void json_addr(json_writer *w, uint64_t v)
{
	before_value(w);
	fprintf(w->f, "\"0x%llx\"", (unsigned long long)v);
}

void json_kstr(json_writer *w, const char *k, const char *s) { json_key(w, k); json_str(w, s); }
void json_ku64(json_writer *w, const char *k, uint64_t v) { json_key(w, k); json_u64(w, v); }
void json_ki64(json_writer *w, const char *k, int64_t v) { json_key(w, k); json_i64(w, v); }
void json_kbool(json_writer *w, const char *k, bool v) { json_key(w, k); json_bool(w, v); }
void json_kaddr(json_writer *w, const char *k, uint64_t v) { json_key(w, k); json_addr(w, v); }

void json_done(json_writer *w)
{
	fputc('\n', w->f);
	fflush(w->f);
}
