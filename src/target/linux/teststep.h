/* A test-only hook: with VMATLAS_TEST_STOP_AT_STEP=N in the environment,
 * vmatlas stops itself (SIGSTOP) at the Nth step of a ptrace injection or
 * of `track start`, so that a test can kill it there and check that the
 * target is left as it was. Steps are counted in one process only. */
#ifndef VMATLAS_LX_TESTSTEP_H
#define VMATLAS_LX_TESTSTEP_H

/* a step: stop here if it is the Nth */
void lx_test_step(void);
/* no more steps in this process (a forked helper) */
void lx_test_steps_off(void);

#endif
