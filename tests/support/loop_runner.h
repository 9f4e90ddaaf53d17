/*
 * Running the core's loop from a test: for a while, or until something
 * happened. On the loop's own thread, which is the test's.
 */
#ifndef TRELLIS_TEST_LOOP_RUNNER_H
#define TRELLIS_TEST_LOOP_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

/* Runs `lp` until until(arg) is true (checked every millisecond) or
 * timeout_ms passed; returns until(arg). false at once if the timers
 * cannot be made. */
bool run_loop_until(loop *lp, bool (*until)(void *arg), void *arg, uint64_t timeout_ms);

/* Runs `lp` for `ms` milliseconds. */
void run_loop_for(loop *lp, uint64_t ms);

#endif
