#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "base/json.h"

/* render with fn into a string */
static char *render(void (*fn)(json_writer *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	static json_writer w; /* 64 KiB: not on the stack */
	json_init(&w, f, false);
	fn(&w);
	json_done(&w);
	fclose(f);
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = 0; /* json_done ends the document with a newline */
	return buf;
}

static void doc_nested(json_writer *w)
{
	json_obj_begin(w);
	json_kstr(w, "a", "x");
	json_key(w, "b");
	json_arr_begin(w);
	json_u64(w, 1);
	json_i64(w, -2);
	json_obj_begin(w);
	json_obj_end(w);
	json_arr_begin(w);
	json_arr_end(w);
	json_arr_end(w);
	json_kaddr(w, "c", 0x7fff0000);
	json_kstr(w, "d", NULL);
	json_kbool(w, "e", true);
	json_obj_end(w);
}

static void nested(void)
{
	char *s = render(doc_nested);
	CHECK_STR(s, "{\"a\":\"x\",\"b\":[1,-2,{},[]],\"c\":\"0x7fff0000\",\"d\":null,\"e\":true}");
	free(s);
}

static void doc_escapes(json_writer *w)
{
	json_str(w, "q\"b\\n\nt\tc\001\x7f");
}

static void escapes(void)
{
	char *s = render(doc_escapes);
	CHECK_STR(s, "\"q\\\"b\\\\n\\nt\\tc\\u0001\\u007f\"");
	free(s);
}

static void doc_utf8(json_writer *w)
{
	json_arr_begin(w);
	json_str(w, "caf\xc3\xa9");          /* valid */
	json_str(w, "bad\xe9!");             /* lone latin-1 byte */
	json_str(w, "\xed\xa0\x80");         /* surrogate */
	json_str(w, "\xc0\xaf");             /* overlong */
	json_str(w, "\xf0\x9f\x98\x80");     /* 4 bytes */
	json_str(w, "\xe2\x82");             /* truncated */
	json_arr_end(w);
}

static void utf8(void)
{
	char *s = render(doc_utf8);
	CHECK_STR(s, "[\"caf\xc3\xa9\",\"bad\\ufffd!\",\"\\ufffd\\ufffd\\ufffd\",\"\\ufffd\\ufffd\","
		     "\"\xf0\x9f\x98\x80\",\"\\ufffd\\ufffd\"]");
	free(s);
}

const unit_test json_tests[] = {
	{ "json/nested", nested },
	{ "json/escapes", escapes },
	{ "json/utf8", utf8 },
	{ NULL, NULL },
};
