/* The stand-in <regex.h> when build/win-deps has no TRE (mingw-w64 ships
 * no POSIX regular expressions; scripts/win_deps.sh builds TRE from
 * Debian's source): regcomp (nolib/regex_none.c) refuses every pattern
 * with a message that says so; everything else about search works. */
#ifndef VMATLAS_WIN_REGEX_H
#define VMATLAS_WIN_REGEX_H
#include <stddef.h>

typedef struct { size_t re_nsub; } regex_t;
typedef long regoff_t;
typedef struct { regoff_t rm_so, rm_eo; } regmatch_t;

#define REG_EXTENDED 1
#define REG_ICASE    2
#define REG_NOSUB    4
#define REG_NEWLINE  8
#define REG_NOTBOL   1
#define REG_NOTEOL   2
#define REG_NOMATCH  1
#define REG_BADPAT   2

int regcomp(regex_t *re, const char *pattern, int flags);
int regexec(const regex_t *re, const char *s, size_t n, regmatch_t *m, int flags);
size_t regerror(int code, const regex_t *re, char *buf, size_t size);
void regfree(regex_t *re);
#endif
