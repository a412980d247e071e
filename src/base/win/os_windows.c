/* The POSIX names of base/win/compat.h over the C runtime and Win32, for
 * the Windows build only (the Makefile's Windows source list). */
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "base/win/console_signals.h"

/* every file is opened binary (no CR/LF translation, no ^Z end), the
 * standard streams too */
__attribute__((constructor)) static void binary_mode(void)
{
	_fmode = _O_BINARY;
	for (int fd = 0; fd < 3; fd++)
		_setmode(fd, _O_BINARY);
}

/* F_GETFL/F_SETFL of O_NONBLOCK, which is 0 here */
int fcntl(int fd, int cmd, ...)
{
	(void)fd;
	(void)cmd;
	return 0;
}

/* A read at an offset as seek, read and seek back, under one lock (the
 * search's threads share the descriptor), not ReadFile with an OVERLAPPED
 * offset: Wine takes 20-30 us for that form against 4 us for these four
 * calls (a 112 MB Wine dump: map 11 s -> 1.7 s),
 * and the readers make many small reads. The position is kept, as pread
 * keeps it. */
static SRWLOCK seek_lock = SRWLOCK_INIT;

static BOOL seek_read(HANDLE h, void *buf, DWORD n, off_t off, DWORD *got)
{
	LARGE_INTEGER zero = { 0 }, cur, to;
	to.QuadPart = off;
	AcquireSRWLockExclusive(&seek_lock);
	BOOL ok = SetFilePointerEx(h, zero, &cur, FILE_CURRENT) && SetFilePointerEx(h, to, NULL, FILE_BEGIN);
	if (ok) {
		ok = ReadFile(h, buf, n, got, NULL);
		DWORD e = GetLastError();
		SetFilePointerEx(h, cur, NULL, FILE_BEGIN);
		SetLastError(e);
	}
	ReleaseSRWLockExclusive(&seek_lock);
	return ok;
}

static ssize_t pio(int fd, void *buf, size_t n, off_t off, bool write)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	if (h == INVALID_HANDLE_VALUE || off < 0) {
		errno = EBADF;
		return -1;
	}
	if (n > 0x7fffffff)
		n = 0x7fffffff;
	OVERLAPPED ov;
	memset(&ov, 0, sizeof ov);
	ov.Offset = (DWORD)((uint64_t)off & 0xffffffffu);
	ov.OffsetHigh = (DWORD)((uint64_t)off >> 32);
	DWORD got = 0;
	BOOL ok = write ? WriteFile(h, buf, (DWORD)n, &got, &ov) : seek_read(h, buf, (DWORD)n, off, &got);
	if (!ok) {
		DWORD e = GetLastError();
		if (e == ERROR_HANDLE_EOF)
			return 0;
		errno = e == ERROR_INVALID_HANDLE ? EBADF : EIO;
		return -1;
	}
	return (ssize_t)got;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return pio(fd, buf, n, off, false);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pio(fd, (void *)buf, n, off, true);
}

/* nothing to do: mkostemp (private_file.c) created the file owner-only */
int fchmod(int fd, int mode)
{
	(void)fd;
	(void)mode;
	return 0;
}

int fsync(int fd)
{
	return _commit(fd);
}

char *realpath(const char *path, char *resolved)
{
	char *r = _fullpath(resolved, path, resolved ? MAX_PATH : 0);
	if (!r)
		errno = ENOENT;
	return r;
}

void *memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
	const unsigned char *h = hay, *n = needle;
	if (!nlen)
		return (void *)h;
	for (size_t i = 0; nlen <= hlen && i <= hlen - nlen; i++) {
		const unsigned char *p = memchr(h + i, n[0], hlen - nlen - i + 1);
		if (!p)
			return NULL;
		i = (size_t)(p - h);
		if (!memcmp(p, n, nlen))
			return (void *)p;
	}
	return NULL;
}

struct tm *gmtime_r(const time_t *t, struct tm *out)
{
	return gmtime_s(out, t) == 0 ? out : NULL;
}

int vasprintf(char **out, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	*out = NULL;
	if (n < 0 || !(*out = malloc((size_t)n + 1)))
		return -1;
	return vsnprintf(*out, (size_t)n + 1, fmt, ap);
}

struct sort_ctx {
	int (*cmp)(const void *, const void *, void *);
	void *arg;
};

static int sort_tramp(void *ctx, const void *a, const void *b)
{
	struct sort_ctx *c = ctx;
	return c->cmp(a, b, c->arg);
}

void qsort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg)
{
	struct sort_ctx c = { cmp, arg };
	qsort_s(base, n, size, sort_tramp, &c);
}

long sysconf(int name)
{
	SYSTEM_INFO si;
	GetSystemInfo(&si);
	if (name == _SC_NPROCESSORS_ONLN)
		return (long)si.dwNumberOfProcessors;
	if (name == _SC_PAGESIZE)
		return (long)si.dwPageSize;
	errno = EINVAL;
	return -1;
}

/* ---- signals: Ctrl-C and termination through the C runtime ---- */

int sigemptyset(int *set)
{
	*set = 0;
	return 0;
}

int sigaddset(int *set, int sig)
{
	if (sig > 0 && sig < 32)
		*set |= 1 << sig;
	return 0;
}

int sigaltstack(const stack_t *ss, stack_t *old)
{
	(void)ss;
	(void)old;
	errno = ENOSYS;
	return -1;
}

/* the signals the C runtime raises: Ctrl-C, termination, and its own
 * crashes; the others (SIGHUP, SIGPIPE ...) are never delivered here */
static void (*g_siginfo_fn[NSIG])(int, siginfo_t *, void *);

static void siginfo_call(int sig)
{
	siginfo_t si = { .si_signo = sig };
	if (sig > 0 && sig < NSIG && g_siginfo_fn[sig])
		g_siginfo_fn[sig](sig, &si, NULL);
}

int sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	if (sig == SIGINT) /* the console's Ctrl-C and Ctrl-Break */
		return vm_win_console_sigaction(sig, sa, old);
	if (sig == SIGTERM && sa && vm_win_console_sigaction(sig, sa, NULL) < 0) /* close, logoff, shutdown */
		return -1;
	if (old)
		memset(old, 0, sizeof *old);
	if (sig != SIGINT && sig != SIGTERM && sig != SIGSEGV && sig != SIGILL && sig != SIGFPE && sig != SIGABRT)
		return 0;
	void (*h)(int) = SIG_DFL;
	void (*prev_fn)(int, siginfo_t *, void *) = g_siginfo_fn[sig];
	if (sa && (sa->sa_flags & SA_SIGINFO)) {
		g_siginfo_fn[sig] = sa->sa_sigaction;
		h = siginfo_call;
	} else if (sa) {
		h = sa->sa_handler;
	}
	void (*prev)(int) = signal(sig, h);
	if (prev == SIG_ERR)
		return -1;
	if (!sa) /* only asked: the handler stays */
		signal(sig, prev);
	if (old && prev == siginfo_call) {
		old->sa_sigaction = prev_fn;
		old->sa_flags = SA_SIGINFO;
	} else if (old) {
		old->sa_handler = prev;
	}
	return 0;
}

/* kill(pid, 0): does the process exist? (the only use) */
int kill(int pid, int sig)
{
	if (sig == SIGSTOP) {
		/* a debuggee's interrupt: a thread of the system's breaks in
		 * (its debugger reports it as SIGSTOP) */
		HANDLE p = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)pid);
		BOOL ok = p && DebugBreakProcess(p);
		if (p)
			CloseHandle(p);
		if (ok)
			return 0;
		errno = ESRCH;
		return -1;
	}
	if (sig != 0) {
		errno = EINVAL;
		return -1;
	}
	HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
	if (!h) {
		errno = GetLastError() == ERROR_INVALID_PARAMETER ? ESRCH : EPERM;
		return -1;
	}
	DWORD code = 0;
	BOOL gone = GetExitCodeProcess(h, &code) && code != STILL_ACTIVE;
	CloseHandle(h);
	if (gone) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

/* The only signal numbers named are those of Linux cores (their
 * NT_PRSTATUS/siginfo), not this C runtime's (its SIGABRT is 22): the
 * names glibc gives, by Linux's numbers. */
const char *sigabbrev_np(int sig)
{
	static const char *const names[] = {
		NULL, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
		"SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",
		"TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "POLL", "PWR", "SYS",
	};
	/* the debugger's own: a fast-fail is this runtime's SIGABRT (22, which
	 * Linux's SIGTTOU shares: no core is made by SIGTTOU) */
	if (sig == SIGABRT)
		return "ABRT";
	if (sig == SIGEXC)
		return "EXC";
	return sig > 0 && (size_t)sig < sizeof names / sizeof names[0] ? names[sig] : NULL;
}

/* ---- fnmatch: *, ?, [set] with ranges and ! or ^ ---- */

static const char *set_end(const char *p)
{
	const char *q = p + 1;
	if (*q == '!' || *q == '^')
		q++;
	if (*q == ']')
		q++;
	while (*q && *q != ']')
		q++;
	return *q ? q : NULL;
}

static bool in_set(const char *p, const char *end, unsigned char c)
{
	bool neg = p[1] == '!' || p[1] == '^', hit = false;
	for (const char *q = p + 1 + neg; q < end; q++) {
		if (q + 2 < end && q[1] == '-') {
			hit |= c >= (unsigned char)q[0] && c <= (unsigned char)q[2];
			q += 2;
		} else {
			hit |= c == (unsigned char)*q;
		}
	}
	return hit != neg;
}

int fnmatch(const char *p, const char *s, int flags)
{
	(void)flags;
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*p == '*') {
			star = ++p;
			resume = s;
			continue;
		}
		const char *next = NULL, *end = *p == '[' ? set_end(p) : NULL;
		if (*p == '?')
			next = p + 1;
		else if (end)
			next = in_set(p, end, (unsigned char)*s) ? end + 1 : NULL;
		else if (*p && *p == *s)
			next = p + 1; /* a '[' with no ']' is itself */
		if (next) {
			p = next;
			s++;
			continue;
		}
		if (!star)
			return FNM_NOMATCH;
		p = star;
		s = ++resume;
	}
	while (*p == '*')
		p++;
	return *p ? FNM_NOMATCH : 0;
}

/* ---- what the Windows build does not have ---- */

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	(void)addr;
	(void)len;
	(void)prot;
	(void)flags;
	(void)fd;
	(void)off;
	errno = ENODEV;
	return MAP_FAILED;
}

int munmap(void *addr, size_t len)
{
	(void)addr;
	(void)len;
	return 0;
}

/* ---- getline: one line with its newline, the buffer grown ---- */

ssize_t getline(char **line, size_t *cap, FILE *f)
{
	size_t n = 0;
	for (;;) {
		int ch = fgetc(f);
		if (ch == EOF)
			break;
		if (n + 2 > *cap || !*line) {
			size_t nc = *cap && *line ? *cap * 2 : 128;
			char *p = realloc(*line, nc);
			if (!p) {
				errno = ENOMEM;
				return -1;
			}
			*line = p;
			*cap = nc;
		}
		(*line)[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (!n)
		return -1;
	(*line)[n] = 0;
	return (ssize_t)n;
}
