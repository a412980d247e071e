/* The VMATLAS_TEST_STOP_AT_STEP hook (teststep.h). Async-signal-safe once
 * the variable has been read: the injection runs at signal time too. */
#include "teststep.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_int stop_at = -1; /* -1: not read yet, 0: off */
static atomic_int steps;

void lx_test_step(void)
{
	int at = atomic_load(&stop_at);
	if (at < 0) {
		const char *e = getenv("VMATLAS_TEST_STOP_AT_STEP");
		at = e ? atoi(e) : 0;
		atomic_store(&stop_at, at > 0 ? at : 0);
	}
	if (at > 0 && atomic_fetch_add(&steps, 1) + 1 == at)
		raise(SIGSTOP);
}

void lx_test_steps_off(void)
{
	atomic_store(&stop_at, 0);
}
