/* The HTML report: one self-contained page (our own CSS and script,
 * embedded in the binary, no network) around the map's data as JSON. */
#ifndef VMATLAS_REPORT_H
#define VMATLAS_REPORT_H

#include <stddef.h>
#include <stdio.h>

/* The page, with `json` (one JSON document: the object the script reads,
 * see report.js) embedded compacted, every '<' in it written as \u003c so
 * no string from the target can end the script element. */
void report_write_html(FILE *f, const char *json, size_t len);

/* report_write_html to path through the atomic output helper (0600, a
 * non-regular file is never replaced; "-" is standard output): 0, or -1
 * with the error set */
int report_write_file(const char *path, const char *json, size_t len);

/* the embedded assets (assets.c), each NUL-terminated */
extern const char report_css[], report_js[];

#endif
