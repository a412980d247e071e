/* The Windows build (mingw-w64) includes this first in every file
 * (Makefile, WIN_CPPFLAGS): the few POSIX names the portable code uses,
 * over the C runtime and Win32, implemented in base/win/os_windows.c and
 * the files beside it. The Linux build never sees it. */
#ifndef VMATLAS_WIN_COMPAT_H
#define VMATLAS_WIN_COMPAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>
#include <time.h>
#include <stdio.h>

/* descriptors are not inherited by children (_O_NOINHERIT; <io.h> is not
 * included here: its open and close would clash with static functions of
 * those names) */
#define O_CLOEXEC  0x0080
#define O_NONBLOCK 0
#define O_NOCTTY   0
#define F_GETFL 3
#define F_SETFL 4
int fcntl(int fd, int cmd, ...);
/* lstat tells directories, reparse points (as S_IFLNK), devices and
 * pipes apart without following a link (base/win/replace.c) */
int vm_win_lstat(const char *path, void *st);
#define lstat(p, s) vm_win_lstat(p, s)
#define S_IFLNK     0xA000
#define S_ISLNK(m)  (((m) & 0xF000) == S_IFLNK)
#define S_ISSOCK(m) 0

/* signals Windows does not have: never raised, handlers never installed */
#define SIGHUP  1
#define SIGQUIT 3
#define SIGBUS  10
#define SIGPIPE 13
/* the debugger's vocabulary (src/debug), with Linux's numbers: the
 * Windows execution control reports exceptions as these; SIGSTOP is the
 * interrupt of a debuggee (kill() breaks into it with DebugBreakProcess);
 * SIGEXC is a Windows exception with no POSIX meaning (the event keeps
 * its NTSTATUS code) */
#define SIGTRAP   5
#define SIGALRM   14
#define SIGCHLD   17
#define SIGSTOP   19
#define SIGURG    23
#define SIGVTALRM 26
#define SIGPROF   27
#define SIGWINCH  28
#define SIGIO     29
#define SIGEXC    40
#define SI_USER   0
#define SI_KERNEL 0x80
#define SI_QUEUE  (-1)
#define SI_TKILL  (-6)
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define BUS_ADRALN  1
#define BUS_ADRERR  2
#define BUS_OBJERR  3
#define FPE_INTDIV  1
#define FPE_INTOVF  2
#define FPE_FLTDIV  3
#define ILL_ILLOPC  1
#define ILL_ILLOPN  2
#define ILL_PRVOPC  5

/* sigaction over the C runtime's signal(), which resets the handler
 * before calling it (SA_RESETHAND always); no alternate stack; an
 * SA_SIGINFO handler gets the signal number only. SIGINT (Ctrl-C and
 * Ctrl-Break) and SIGTERM (the console closed, logoff, shutdown) come
 * from the console's control events instead, on a thread of their own,
 * and stay installed (base/win/console_signals.c). */
#define SA_RESETHAND 0x1
#define SA_ONSTACK   0x2
#define SA_SIGINFO   0x4
#define SA_RESTART   0x8 /* nothing is interrupted: signals come on a thread of their own */
typedef struct {
	int si_signo;
} siginfo_t;
struct sigaction {
	void (*sa_handler)(int);
	void (*sa_sigaction)(int, siginfo_t *, void *);
	int sa_mask;
	int sa_flags;
};
typedef int sigset_t;
typedef struct {
	void *ss_sp;
	int ss_flags;
	size_t ss_size;
} stack_t;
int sigaltstack(const stack_t *ss, stack_t *old);
int sigaddset(int *set, int sig);
int sigemptyset(int *set);
int sigaction(int sig, const struct sigaction *sa, struct sigaction *old);
int kill(int pid, int sig);
const char *sigabbrev_np(int sig);

#include <stdio.h>
ssize_t getline(char **line, size_t *cap, FILE *f);
ssize_t pread(int fd, void *buf, size_t n, off_t off);
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);
/* the file is created with an owner-only DACL, as POSIX creates it 0600
 * (base/win/private_file.c); fchmod does nothing */
int mkostemp(char *tmpl, int flags);
int fchmod(int fd, int mode);
int fsync(int fd);
char *realpath(const char *path, char *resolved);
void *memmem(const void *hay, size_t hlen, const void *needle, size_t nlen);
struct tm *gmtime_r(const time_t *t, struct tm *out);
int vasprintf(char **out, const char *fmt, va_list ap);
/* glibc's argument order: cmp(a, b, arg) */
void qsort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg);

/* open_memstream over a temporary file deleted when closed: the buffer
 * and length are set by fclose (memstream.c), not by fflush */
FILE *open_memstream(char **buf, size_t *len);
int vm_win_fclose(FILE *f);
#define fclose(f) vm_win_fclose(f)

/* rename over an existing file (atomic replace: MoveFileExW), never over
 * a directory or a reparse point (base/win/replace.c) */
int vm_win_rename(const char *from, const char *to);
#define rename(a, b) vm_win_rename(a, b)

#define _SC_NPROCESSORS_ONLN 84
#define _SC_PAGESIZE 30
long sysconf(int name);

#endif
