/* The stand-in regcomp when build/win-deps has no TRE (scripts/win_deps.sh
 * could not fetch or build it): every pattern is refused with a message
 * that says so; everything else about search works. */
#include <regex.h>
#include <stdio.h>
#include <string.h>

int regcomp(regex_t *re, const char *pattern, int flags)
{
	(void)pattern;
	(void)flags;
	re->re_nsub = 0;
	return REG_BADPAT;
}

int regexec(const regex_t *re, const char *s, size_t n, regmatch_t *m, int flags)
{
	(void)re;
	(void)s;
	(void)n;
	(void)m;
	(void)flags;
	return REG_NOMATCH;
}

size_t regerror(int code, const regex_t *re, char *buf, size_t size)
{
	(void)code;
	(void)re;
	const char *msg = "regular expressions are not in this Windows build (scripts/win_deps.sh could not build TRE)";
	if (size)
		snprintf(buf, size, "%s", msg);
	return strlen(msg) + 1;
}

void regfree(regex_t *re)
{
	(void)re;
}
