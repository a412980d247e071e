/* A small streaming JSON writer. It keeps the comma/nesting state so
 * callers only say what comes next. Strings are written as valid UTF-8:
 * bytes that are not UTF-8 become U+FFFD. 64-bit addresses go out as
 * "0x..." strings (JSON numbers lose precision above 2^53). */
#ifndef VMATLAS_JSON_H
#define VMATLAS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64

typedef struct json_writer {
	FILE *f;
	char buf[1 << 16]; /* written out when full and by json_done */
	size_t len;
	int depth;
	bool pretty;
	bool first[JSON_MAX_DEPTH]; /* nothing written yet at this level */
	bool after_key;
} json_writer;

void json_init(json_writer *w, FILE *f, bool pretty);
void json_obj_begin(json_writer *w);
void json_obj_end(json_writer *w);
void json_arr_begin(json_writer *w);
void json_arr_end(json_writer *w);
void json_key(json_writer *w, const char *key);
void json_str(json_writer *w, const char *s);
void json_strn(json_writer *w, const char *s, size_t n);
void json_u64(json_writer *w, uint64_t v);
void json_i64(json_writer *w, int64_t v);
void json_double(json_writer *w, double v);
void json_bool(json_writer *w, bool v);
void json_null(json_writer *w);
void json_addr(json_writer *w, uint64_t v); /* "0x1234" */
/* key + value shorthands */
void json_kstr(json_writer *w, const char *k, const char *s); /* null if s is NULL */
void json_ku64(json_writer *w, const char *k, uint64_t v);
void json_ki64(json_writer *w, const char *k, int64_t v);
void json_kbool(json_writer *w, const char *k, bool v);
void json_kaddr(json_writer *w, const char *k, uint64_t v);
/* finish the document: newline and flush */
void json_done(json_writer *w);

#endif
