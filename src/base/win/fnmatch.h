/* fnmatch for the Windows build (base/os_windows.c): *, ? and [sets] */
#ifndef VMATLAS_WIN_FNMATCH_H
#define VMATLAS_WIN_FNMATCH_H
#define FNM_NOMATCH 1
int fnmatch(const char *pattern, const char *s, int flags);
#endif
