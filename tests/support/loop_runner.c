#include "loop_runner.h"

#include <stddef.h>

typedef struct run_state {
    loop *lp;
    bool (*until)(void *arg);
    void *arg;
} run_state;

static void on_poll(void *arg)
{
    run_state *rs = arg;
    if (rs->until(rs->arg))
        loop_break(rs->lp);
}

static void on_deadline(void *arg)
{
    loop_break(arg);
}

bool run_loop_until(loop *lp, bool (*until)(void *arg), void *arg, uint64_t timeout_ms)
{
    if (until(arg))
        return true;
    run_state rs = {.lp = lp, .until = until, .arg = arg};
    loop_timer *poll = loop_timer_new(lp, on_poll, &rs);
    loop_timer *deadline = loop_timer_new(lp, on_deadline, lp);
    if (poll == NULL || deadline == NULL) {
        loop_timer_free(poll);
        loop_timer_free(deadline);
        return false;
    }
    loop_timer_start(poll, 1, true);
    loop_timer_start(deadline, timeout_ms, false);
    loop_run(lp);
    loop_timer_free(poll);
    loop_timer_free(deadline);
    return until(arg);
}

void run_loop_for(loop *lp, uint64_t ms)
{
    loop_timer *deadline = loop_timer_new(lp, on_deadline, lp);
    loop_timer_start(deadline, ms, false);
    loop_run(lp);
    loop_timer_free(deadline);
}
