/* The HTML report's page: a fixed frame, our CSS and script, the data. */
#include "report.h"

#include <stdbool.h>
#include <string.h>

#include "base/atomic_file.h"
#include "vmatlas/vmatlas.h"

/* what goes before the CSS, between the CSS and the data, and after it */
static const char head[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	/* nothing is fetched: no network, no external scripts or fonts */
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	"style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
	"<meta name=\"generator\" content=\"vmatlas " VMATLAS_VERSION "\">\n"
	"<title>vmatlas report</title>\n<style>\n";
static const char mid[] =
	"</style>\n</head>\n<body>\n"
	"<noscript><p>This report draws itself with JavaScript; the data is in the "
	"element <code>#vmatlas-data</code> as JSON.</p></noscript>\n"
	"<div id=\"app\"><p class=\"loading\">Loading the map&hellip;</p></div>\n"
	"<script type=\"application/json\" id=\"vmatlas-data\">";
static const char tail1[] = "</script>\n<script>\n";
static const char tail2[] = "</script>\n</body>\n</html>\n";

typedef struct sink {
	FILE *f;
	atomic_file *af;
} sink;

static void put(sink *s, const char *p, size_t n)
{
	if (s->af)
		af_write(s->af, p, n);
	else
		fwrite(p, 1, n, s->f);
}

/* the JSON without the whitespace between tokens, and with '<' as \u003c
 * (it occurs only inside strings) */
static void put_json(sink *s, const char *j, size_t len)
{
	char buf[1 << 16];
	size_t n = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < len; i++) {
		char c = j[i];
		if (n > sizeof buf - 8) {
			put(s, buf, n);
			n = 0;
		}
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
			continue;
		}
		if (c == '<') {
			memcpy(buf + n, "\\u003c", 6);
			n += 6;
		} else {
			buf[n++] = c;
		}
	}
	put(s, buf, n);
}

static void write_page(sink *s, const char *json, size_t len)
{
	put(s, head, sizeof head - 1);
	put(s, report_css, strlen(report_css));
	put(s, mid, sizeof mid - 1);
	put_json(s, json, len);
	put(s, tail1, sizeof tail1 - 1);
	put(s, report_js, strlen(report_js));
	put(s, tail2, sizeof tail2 - 1);
}

void report_write_html(FILE *f, const char *json, size_t len)
{
	sink s = { f, NULL };
	write_page(&s, json, len);
}

int report_write_file(const char *path, const char *json, size_t len)
{
	atomic_file af;
	if (af_open(&af, path) < 0)
		return -1;
	sink s = { NULL, &af };
	write_page(&s, json, len);
	return af_commit(&af);
}
