/* The CPU window's watcher on a terminal (cpu_int.h): while the target
 * runs, a thread is the terminal's only reader (ncurses reads nothing
 * then): it takes ^C and F12 (terminfo's kf12) from the bytes of fd 0 as
 * a pause and keeps the other bytes. Keys ncurses had already read are
 * taken out of it before the run (before[]); after the run both go back,
 * in the order typed, with ungetch. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tui/cpu_int.h"

struct watcher {
	vm_dbg *d;
	int wake[2];
	int before[128];
	size_t nbefore;
	char f12[16];          /* the terminal's F12 (kf12) */
	unsigned char kept[256];
	size_t nkept;
	pthread_t th;
};

/* the key an escape sequence at b[0, n) stands for, as ncurses would
 * decode it (key_defined: the terminal's keys and xterm's modified ones,
 * ^Left ...): its length, 0 when b is no escape sequence; *key 0 for one
 * ncurses does not know (dropped rather than given back as bytes) */
static size_t match_key(const unsigned char *b, size_t n, int *key)
{
	*key = 0;
	if (n < 2 || b[0] != 27)
		return 0;
	size_t l = 0;
	if (b[1] == 'O' && n >= 3)
		l = 3;
	else if (b[1] == '[')
		for (size_t i = 2; i < n && i < 32 && !l; i++)
			if (b[i] >= 0x40 && b[i] <= 0x7e) /* a CSI's final byte */
				l = i + 1;
	if (!l)
		return 0;
	char seq[40];
	memcpy(seq, b, l);
	seq[l] = 0;
	int k = key_defined(seq);
	*key = k > 0 ? k : 0;
	return l;
}

/* does the escape sequence starting at b[0, n) still miss bytes */
static bool partial_seq(const unsigned char *b, size_t n)
{
	if (!n || b[0] != 27)
		return false;
	if (n == 1)
		return true;
	if (b[1] != '[' && b[1] != 'O')
		return false;
	for (size_t i = 2; i < n; i++)
		if (b[i] >= 0x40 && b[i] <= 0x7e) /* a CSI's final byte */
			return false;
	return n < 16;
}

/* where the last escape sequence of kept starts (nkept: none) */
static size_t last_esc(const watcher *w)
{
	for (size_t i = w->nkept; i-- > 0;)
		if (w->kept[i] == 27)
			return i;
	return w->nkept;
}

static void *watch_keys(void *arg)
{
	watcher *w = arg;
	bool stopping = false;
	for (;;) {
		/* asked to stop: take what is there, and the rest of a key
		 * sequence cut in the middle (a key is never split between
		 * the two readers) */
		size_t e = last_esc(w);
		bool cut = e < w->nkept && partial_seq(w->kept + e, w->nkept - e);
		int tmo = !stopping ? -1 : cut ? 300 : 0;
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = w->wake[0], .events = POLLIN } };
		int r = poll(p, stopping ? 1 : 2, tmo);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (r == 0)
			return NULL; /* stopping, nothing more */
		if (!stopping && (p[1].revents & POLLIN)) {
			char x;
			ssize_t rd = read(w->wake[0], &x, 1);
			(void)rd;
			stopping = true;
			continue;
		}
		if (!(p[0].revents & POLLIN))
			return NULL;
		unsigned char ch;
		if (read(0, &ch, 1) != 1)
			return NULL;
		if (ch == 3) {
			if (!stopping)
				vm_dbg_interrupt(w->d);
			continue;
		}
		if (w->nkept < sizeof w->kept)
			w->kept[w->nkept++] = ch;
		size_t l = strlen(w->f12);
		if (l && w->nkept >= l && !memcmp(w->kept + w->nkept - l, w->f12, l)) {
			if (!stopping)
				vm_dbg_interrupt(w->d);
			w->nkept -= l;
		}
	}
}

watcher *cw_watch_start(cpu *c)
{
	watcher *w = xcalloc(1, sizeof *w);
	w->d = c->d;
	w->wake[0] = w->wake[1] = -1;
	/* the keys ncurses has read and not handed out yet come first */
	timeout(0);
	int k;
	while (w->nbefore < sizeof w->before / sizeof w->before[0] && (k = getch()) != ERR)
		w->before[w->nbefore++] = k;
	const char *f12 = tigetstr((char *)"kf12");
	if (f12 && f12 != (char *)-1)
		snprintf(w->f12, sizeof w->f12, "%s", f12);
	raw(); /* ^C is a key for the watcher, not a SIGINT */
	if (pipe(w->wake) < 0) {
		w->wake[0] = w->wake[1] = -1;
		return w;
	}
	if (pthread_create(&w->th, NULL, watch_keys, w) != 0) {
		close(w->wake[0]);
		close(w->wake[1]);
		w->wake[0] = w->wake[1] = -1;
	}
	return w;
}

void cw_watch_stop(watcher *w)
{
	if (w->wake[1] >= 0) {
		ssize_t wr = write(w->wake[1], "x", 1);
		(void)wr;
		pthread_join(w->th, NULL);
		close(w->wake[0]);
		close(w->wake[1]);
	}
	noraw();
	cbreak();
	int keys[512];
	size_t nk = 0;
	for (size_t i = 0; i < w->nbefore; i++)
		keys[nk++] = w->before[i];
	for (size_t i = 0; i < w->nkept && nk < sizeof keys / sizeof keys[0];) {
		int key = 0;
		size_t l = match_key(w->kept + i, w->nkept - i, &key);
		if (l) {
			if (key)
				keys[nk++] = key;
			i += l;
		} else {
			keys[nk++] = w->kept[i++];
		}
	}
	/* ungetch puts a key in front: the last first */
	for (size_t i = nk; i-- > 0;)
		ungetch(keys[i]);
	free(w);
}
