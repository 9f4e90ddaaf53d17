#include "offload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct offload_job {
    loop_post_node completion; /* first: the node posted back to the loop */
    struct offload_job *next;
    offload_owner *owner;
    loop_fn work;
    loop_fn done;
    void *arg;
} offload_job;

struct offload_pool {
    loop *lp;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    offload_job *head;
    offload_job *tail;
    size_t depth;
    size_t queue_max;
    bool shutting_down;
    unsigned thread_count;
    pthread_t *threads;
};

static void job_complete(void *arg)
{
    offload_job *job = arg;
    offload_owner *owner = job->owner;
    if (job->done != NULL)
        job->done(job->arg);
    free(job);
    if (owner != NULL && --owner->jobs_in_flight == 0 && owner->on_idle != NULL)
        owner->on_idle(owner->on_idle_arg);
}

static void *worker_main(void *arg)
{
    offload_pool *pool = arg;
    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (pool->head == NULL && !pool->shutting_down)
            pthread_cond_wait(&pool->wake, &pool->lock);
        offload_job *job = pool->head;
        if (job == NULL) { /* shutting down and drained */
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        pool->head = job->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pool->depth--;
        pthread_mutex_unlock(&pool->lock);

        job->work(job->arg);
        job->completion = (loop_post_node){.owner = job->owner, .fn = job_complete, .arg = job};
        loop_post_node_submit(pool->lp, &job->completion);
    }
}

offload_pool *offload_pool_new(loop *lp, unsigned threads, size_t queue_max)
{
    offload_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    pool->lp = lp;
    pool->queue_max = queue_max;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->threads = calloc(threads, sizeof(pthread_t));
    if (pool->threads == NULL) {
        offload_pool_free(pool);
        return NULL;
    }
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0) {
            offload_pool_free(pool);
            return NULL;
        }
        pool->thread_count++;
    }
    return pool;
}

void offload_pool_free(offload_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->shutting_down = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->thread_count; i++)
        pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

int offload_submit(offload_pool *pool, offload_owner *owner, loop_fn work, loop_fn done,
                   void *arg)
{
    offload_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return -1;
    job->owner = owner;
    job->work = work;
    job->done = done;
    job->arg = arg;
    pthread_mutex_lock(&pool->lock);
    if (pool->depth >= pool->queue_max) {
        pthread_mutex_unlock(&pool->lock);
        free(job);
        return -2;
    }
    if (pool->tail != NULL)
        pool->tail->next = job;
    else
        pool->head = job;
    pool->tail = job;
    pool->depth++;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    if (owner != NULL)
        owner->jobs_in_flight++;
    return 0;
}

size_t offload_queue_depth(offload_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    size_t depth = pool->depth;
    pthread_mutex_unlock(&pool->lock);
    return depth;
}

unsigned offload_thread_count(const offload_pool *pool)
{
    return pool->thread_count;
}
