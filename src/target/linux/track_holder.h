/* The holder of a userfaultfd write tracking: a small process named
 * vmatlas-track that keeps the descriptor (and so the write protection)
 * alive after `track start` returns (track.c). It is started before the
 * descriptor is made and is given it, step by step, over a socket:
 *   holder -> 'R'  named and ready (track start waits for it)
 *   'U' + fd       the userfaultfd, taken out of the target
 *   'C'            the target's own copy is closed again
 *   'H'            handed over: the state file is written
 *   holder -> 'A'  holding (it keeps the state file open: its mark)
 * If the socket closes before 'H' (vmatlas died or gave up), the holder
 * closes whatever userfaultfd vmatlas may have left in the target and
 * exits, which ends the write protection. */
#ifndef VMATLAS_LX_TRACK_HOLDER_H
#define VMATLAS_LX_TRACK_HOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LX_HOLDER_NAME "vmatlas-track"

typedef struct lx_holder {
	pid_t pid;
	uint64_t start_time;
	int link; /* the socket, -1 once handed over or given up */
} lx_holder;

/* End the holders of target that no state file names (track_orphans.c) (left by a start
 * that was killed, or whose state file was removed); -1 with an error
 * when target is tracked already, or another start is under way. */
int lx_holder_clear_orphans(pid_t target);
/* fork the holder of target; returns once it is named and ready */
int lx_holder_spawn(pid_t target, const char *state_path, lx_holder *h);
/* give it the userfaultfd / say the target's copy is closed */
int lx_holder_give(lx_holder *h, int ufd);
int lx_holder_target_closed(lx_holder *h);
/* the state file is written: it holds from now on */
int lx_holder_handover(lx_holder *h);
/* give up: it cleans up and exits; returns when it has */
void lx_holder_abort(lx_holder *h);

/* small /proc helpers of both files: a file of at most cap-1 bytes,
 * NUL-terminated; the number after "Key:\t" in a status or fdinfo text
 * (-1 if none); wait up to ms (-1: for ever) for the process behind
 * pidfd to end (true if it did) */
bool lx_read_small(const char *path, char *buf, size_t cap);
long long lx_field(const char *text, const char *key);
bool lx_wait_gone(int pidfd, int ms);

#endif
