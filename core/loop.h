/*
 * The event loop: one libevent base owned by the core. Timers, fd watches,
 * deferred calls, a thread-safe post queue and signal handlers. Everything here
 * runs on the loop thread except loop_post(), which any thread may call.
 *
 * Every call made on behalf of a plugin instance carries an `owner` tag so the
 * host can drop what an instance left behind (loop_cancel_owner).
 */
#ifndef TRELLIS_CORE_LOOP_H
#define TRELLIS_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct loop loop;
typedef struct loop_timer loop_timer;
typedef struct loop_watch loop_watch;
typedef struct loop_signal loop_signal;

typedef void (*loop_fn)(void *arg);
typedef void (*loop_watch_cb)(int fd, unsigned events, void *arg);

#define LOOP_READ 0x1u
#define LOOP_WRITE 0x2u

/* Post queue bound for loop_post(); preallocated posts (loop_post_node) are not counted. */
#define LOOP_POST_QUEUE_MAX 65536

loop *loop_new(void);
void loop_free(loop *lp);

/* Runs until loop_break(). Returns 0, or -1 if libevent failed. */
int loop_run(loop *lp);
void loop_break(loop *lp);

/* Number of callbacks the loop has dispatched (for metrics). */
uint64_t loop_callbacks_dispatched(const loop *lp);

loop_timer *loop_timer_new(loop *lp, loop_fn fn, void *arg);
void loop_timer_start(loop_timer *t, uint64_t delay_ms, bool repeat);
void loop_timer_stop(loop_timer *t);
void loop_timer_free(loop_timer *t);

loop_watch *loop_watch_new(loop *lp, int fd, unsigned events, loop_watch_cb fn, void *arg);
void loop_watch_update(loop_watch *w, unsigned events);
void loop_watch_free(loop_watch *w);

/* Run fn(arg) once on the loop thread after the current callback. 0 or -1 (ENOMEM). */
int loop_defer(loop *lp, const void *owner, loop_fn fn, void *arg);

/* Any thread. 0, -1 on allocation failure, -2 when the queue is full. */
int loop_post(loop *lp, const void *owner, loop_fn fn, void *arg);

/* A post whose node the caller preallocated: never fails, not bounded. The
 * node must stay valid until fn runs. Any thread. */
typedef struct loop_post_node {
    struct loop_post_node *next;
    const void *owner;
    loop_fn fn;
    void *arg;
    bool heap; /* internal: freed by the loop after running */
} loop_post_node;
void loop_post_node_submit(loop *lp, loop_post_node *node);

/* Drop pending deferred calls and posts made for `owner` without running them.
 * Loop thread. Returns how many were dropped. */
size_t loop_cancel_owner(loop *lp, const void *owner);

loop_signal *loop_signal_new(loop *lp, int signo, loop_fn fn, void *arg);
void loop_signal_free(loop_signal *s);

/* Run every pending deferred call and post now (used once at shutdown, after
 * the offload pool has joined, so no completion is left unrun). */
void loop_drain_pending(loop *lp);

#endif

