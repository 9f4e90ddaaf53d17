/*
 * core/loop.c and core/offload.c: deferred calls run in order after the
 * current callback, posts from other threads arrive in order on the loop
 * thread, offload work runs on a worker and its completion on the loop
 * thread, queues are bounded, and an owner's pending calls can be dropped.
 *
 * Every loop_run() here is bounded by a watchdog timer that fails the test.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "offload.h"
#include "test_check.h"

#define WATCHDOG_MS 10000

static loop *lp;
static pthread_t loop_thread;

static void on_watchdog(void *arg)
{
    const char *what = arg;
    fprintf(stderr, "watchdog: %s did not finish within %d ms\n", what, WATCHDOG_MS);
    CHECK(!"watchdog fired");
    loop_break(lp);
}

/* Runs the loop until a callback calls loop_break(), at most WATCHDOG_MS. */
static void run_bounded(const char *what)
{
    loop_timer *watchdog = loop_timer_new(lp, on_watchdog, (void *)what);
    loop_timer_start(watchdog, WATCHDOG_MS, false);
    CHECK_INT(loop_run(lp), 0);
    loop_timer_free(watchdog);
}

/* ---- deferred calls ---- */

static char order[32];

static void append_and_maybe_stop(const char *tag, bool stop)
{
    strcat(order, tag);
    if (stop)
        loop_break(lp);
}

static void deferred_d(void *arg)
{
    (void)arg;
    append_and_maybe_stop("D", true);
}

static void deferred_a(void *arg)
{
    (void)arg;
    append_and_maybe_stop("A", false);
    /* Deferred from inside a deferred call: after the current batch. */
    CHECK_INT(loop_defer(lp, NULL, deferred_d, NULL), 0);
}

static void deferred_b(void *arg)
{
    (void)arg;
    append_and_maybe_stop("B", false);
}

static void deferred_c(void *arg)
{
    (void)arg;
    append_and_maybe_stop("C", false);
}

static void test_defer_order(void)
{
    order[0] = '\0';
    loop_defer(lp, NULL, deferred_a, NULL);
    loop_defer(lp, NULL, deferred_b, NULL);
    loop_defer(lp, NULL, deferred_c, NULL);
    CHECK_STR(order, ""); /* nothing runs inside loop_defer() */
    run_bounded("deferred calls");
    CHECK_STR(order, "ABCD");
}

/* ---- posts from another thread ---- */

#define POSTS 2000

static atomic_int posts_received;
static int posts_out_of_order;
static int posts_off_loop;
static int next_expected;

static void on_post(void *arg)
{
    int value = (int)(intptr_t)arg;
    if (value != next_expected)
        posts_out_of_order++;
    next_expected = value + 1;
    if (!pthread_equal(pthread_self(), loop_thread))
        posts_off_loop++;
    if (atomic_fetch_add(&posts_received, 1) + 1 == POSTS)
        loop_break(lp);
}

static void *poster_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < POSTS; i++) {
        while (loop_post(lp, NULL, on_post, (void *)(intptr_t)i) != 0)
            usleep(100); /* full: the loop drains it */
    }
    return NULL;
}

static void test_post_from_thread(void)
{
    pthread_t poster;
    CHECK_INT(pthread_create(&poster, NULL, poster_main, NULL), 0);
    run_bounded("posts from a thread");
    pthread_join(poster, NULL);
    CHECK_INT(atomic_load(&posts_received), POSTS);
    CHECK_INT(posts_out_of_order, 0);
    CHECK_INT(posts_off_loop, 0);
}

static void count_call(void *arg)
{
    (*(int *)arg)++;
}

static void test_post_queue_bound(void)
{
    int ran = 0;
    int accepted = 0;
    while (accepted < LOOP_POST_QUEUE_MAX && loop_post(lp, NULL, count_call, &ran) == 0)
        accepted++;
    CHECK_INT(accepted, LOOP_POST_QUEUE_MAX);
    CHECK_INT(loop_post(lp, NULL, count_call, &ran), -2);
    /* A preallocated node is never refused, even with the queue full. */
    loop_post_node node = {.fn = count_call, .arg = &ran};
    loop_post_node_submit(lp, &node);
    loop_drain_pending(lp);
    CHECK_INT(ran, LOOP_POST_QUEUE_MAX + 1);
    CHECK_INT(loop_post(lp, NULL, count_call, &ran), 0);
    loop_drain_pending(lp);
    CHECK_INT(ran, LOOP_POST_QUEUE_MAX + 2);
}

/* ---- cancel_owner ---- */

static void test_cancel_owner(void)
{
    int owner_x = 0, owner_y = 0; /* only their addresses matter */
    int ran_x = 0, ran_y = 0;
    loop_defer(lp, &owner_x, count_call, &ran_x);
    loop_defer(lp, &owner_y, count_call, &ran_y);
    loop_defer(lp, &owner_x, count_call, &ran_x);
    loop_post(lp, &owner_x, count_call, &ran_x);
    loop_post(lp, &owner_y, count_call, &ran_y);
    CHECK_INT(loop_cancel_owner(lp, &owner_x), 3);
    CHECK_INT(loop_cancel_owner(lp, &owner_x), 0);
    loop_drain_pending(lp);
    CHECK_INT(ran_x, 0);
    CHECK_INT(ran_y, 2);
    /* The queues still work after removing from their middle and tail. */
    loop_defer(lp, &owner_x, count_call, &ran_x);
    loop_post(lp, &owner_x, count_call, &ran_x);
    loop_drain_pending(lp);
    CHECK_INT(ran_x, 2);
}

/* ---- offload ---- */

#define JOBS 8

typedef struct job {
    bool work_off_loop;
    bool done_on_loop;
    bool done_ran;
} job;

static job jobs[JOBS];
static int idle_calls;
static offload_owner owner;

static void job_work(void *arg)
{
    job *j = arg;
    j->work_off_loop = !pthread_equal(pthread_self(), loop_thread);
    usleep(2000); /* blocking is what workers are for */
}

static void job_done(void *arg)
{
    job *j = arg;
    j->done_on_loop = pthread_equal(pthread_self(), loop_thread);
    j->done_ran = true;
}

static void on_idle(void *arg)
{
    (void)arg;
    idle_calls++;
    CHECK_INT(owner.jobs_in_flight, 0);
    loop_break(lp);
}

static void test_offload(void)
{
    offload_pool *pool = offload_pool_new(lp, 2, 64);
    CHECK(pool != NULL);
    CHECK_INT(offload_thread_count(pool), 2);
    owner = (offload_owner){.on_idle = on_idle};
    for (int i = 0; i < JOBS; i++)
        CHECK_INT(offload_submit(pool, &owner, job_work, job_done, &jobs[i]), 0);
    CHECK_INT(owner.jobs_in_flight, JOBS);
    run_bounded("offload jobs");
    CHECK_INT(idle_calls, 1);
    for (int i = 0; i < JOBS; i++) {
        CHECK(jobs[i].done_ran);
        CHECK(jobs[i].work_off_loop);
        CHECK(jobs[i].done_on_loop);
    }
    offload_pool_free(pool);
}

/* A worker held inside work() until released, to fill the queue behind it. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static atomic_int gate_entered;

static void gated_work(void *arg)
{
    (void)arg;
    atomic_fetch_add(&gate_entered, 1);
    pthread_mutex_lock(&gate_lock);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

static int gated_done_calls;

static void gated_done(void *arg)
{
    (void)arg;
    gated_done_calls++;
}

static void on_gated_idle(void *arg)
{
    (void)arg;
    loop_break(lp);
}

static void test_offload_queue_bound(void)
{
    offload_pool *pool = offload_pool_new(lp, 1, 2);
    offload_owner gated_owner = {.on_idle = on_gated_idle};
    CHECK_INT(offload_submit(pool, &gated_owner, gated_work, gated_done, NULL), 0);
    /* Wait (bounded) until the single worker holds the first job. */
    for (int i = 0; i < 5000 && atomic_load(&gate_entered) == 0; i++)
        usleep(1000);
    CHECK_INT(atomic_load(&gate_entered), 1);
    CHECK_INT(offload_submit(pool, &gated_owner, gated_work, gated_done, NULL), 0);
    CHECK_INT(offload_submit(pool, &gated_owner, gated_work, gated_done, NULL), 0);
    CHECK_INT(offload_queue_depth(pool), 2);
    CHECK_INT(offload_submit(pool, &gated_owner, gated_work, gated_done, NULL), -2);
    CHECK_INT(gated_owner.jobs_in_flight, 3);
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    run_bounded("gated offload jobs");
    CHECK_INT(gated_done_calls, 3);
    CHECK_INT(gated_owner.jobs_in_flight, 0);
    offload_pool_free(pool);
}

/* ---- timers and watches ---- */

static int repeat_fired;
static loop_timer *repeat_timer;

static void on_repeat(void *arg)
{
    (void)arg;
    if (++repeat_fired == 3) {
        loop_timer_stop(repeat_timer);
        loop_break(lp);
    }
}

static int watch_events;
static char watch_data[16];

static void on_readable(int fd, unsigned events, void *arg)
{
    (void)arg;
    watch_events = (int)events;
    ssize_t n = read(fd, watch_data, sizeof(watch_data) - 1);
    watch_data[n > 0 ? n : 0] = '\0';
    loop_break(lp);
}

static void test_timers_and_watches(void)
{
    repeat_timer = loop_timer_new(lp, on_repeat, NULL);
    loop_timer_start(repeat_timer, 5, true);
    uint64_t before = loop_callbacks_dispatched(lp);
    run_bounded("repeating timer");
    CHECK_INT(repeat_fired, 3);
    CHECK(loop_callbacks_dispatched(lp) >= before + 3);
    loop_timer_free(repeat_timer);

    int fds[2];
    CHECK_INT(pipe(fds), 0);
    loop_watch *w = loop_watch_new(lp, fds[0], LOOP_READ, on_readable, NULL);
    CHECK(w != NULL);
    CHECK_INT(write(fds[1], "ping", 4), 4);
    run_bounded("fd watch");
    CHECK_INT(watch_events, LOOP_READ);
    CHECK_STR(watch_data, "ping");
    loop_watch_free(w);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    loop_thread = pthread_self();
    lp = loop_new();
    if (lp == NULL) {
        fprintf(stderr, "loop_new failed\n");
        return 2;
    }
    test_defer_order();
    test_post_from_thread();
    test_post_queue_bound();
    test_cancel_owner();
    test_offload();
    test_offload_queue_bound();
    test_timers_and_watches();
    loop_free(lp);
    return test_finish("unit_loop");
}
