/*
 * The offload pool: a fixed set of worker threads for blocking work (fsync,
 * synchronous client libraries). A job's work() runs on a worker, its done()
 * back on the loop thread. The queue is bounded.
 */
#ifndef TRELLIS_CORE_OFFLOAD_H
#define TRELLIS_CORE_OFFLOAD_H

#include <stddef.h>

#include "loop.h"

typedef struct offload_pool offload_pool;

/* Per-owner accounting lets the host wait for an instance's jobs before
 * destroying it. The counter lives in the owner; touched on the loop thread. */
typedef struct offload_owner {
    size_t jobs_in_flight;
    void (*on_idle)(void *arg); /* called on the loop thread when jobs_in_flight drops to 0 */
    void *on_idle_arg;
} offload_owner;

offload_pool *offload_pool_new(loop *lp, unsigned threads, size_t queue_max);
/* Finishes queued jobs (their done() runs only if the loop runs afterwards),
 * joins the workers and frees the pool. */
void offload_pool_free(offload_pool *pool);

/* 0, -1 on allocation failure, -2 when the queue is full. Loop thread. */
int offload_submit(offload_pool *pool, offload_owner *owner, loop_fn work, loop_fn done,
                   void *arg);

size_t offload_queue_depth(offload_pool *pool);
unsigned offload_thread_count(const offload_pool *pool);

#endif
