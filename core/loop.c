#include "loop.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct loop {
    struct event_base *base;
    uint64_t callbacks;

    /* Deferred calls, loop thread only: FIFO list processed by defer_event. */
    loop_post_node *defer_head;
    loop_post_node *defer_tail;
    struct event *defer_event;

    /* Posts from any thread: mutex-protected FIFO, woken through an eventfd. */
    pthread_mutex_t post_lock;
    loop_post_node *post_head;
    loop_post_node *post_tail;
    size_t post_count;
    int post_fd;
    struct event *post_event;
};

struct loop_timer {
    loop *lp;
    struct event *ev;
    loop_fn fn;
    void *arg;
    uint64_t delay_ms;
    bool repeat;
};

struct loop_watch {
    loop *lp;
    struct event *ev;
    int fd;
    unsigned events;
    loop_watch_cb fn;
    void *arg;
};

struct loop_signal {
    loop *lp;
    struct event *ev;
    loop_fn fn;
    void *arg;
};

static void run_node_list(loop *lp, loop_post_node *node)
{
    while (node != NULL) {
        loop_post_node *next = node->next;
        loop_fn fn = node->fn;
        void *arg = node->arg;
        if (node->heap)
            free(node);
        lp->callbacks++;
        fn(arg);
        node = next;
    }
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    loop *lp = arg;
    /* Take the current batch; calls deferred while it runs form the next one. */
    loop_post_node *batch = lp->defer_head;
    lp->defer_head = lp->defer_tail = NULL;
    run_node_list(lp, batch);
}

static void on_post_wakeup(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    loop *lp = arg;
    uint64_t counter;
    while (read(fd, &counter, sizeof(counter)) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&lp->post_lock);
    loop_post_node *batch = lp->post_head;
    lp->post_head = lp->post_tail = NULL;
    lp->post_count = 0;
    pthread_mutex_unlock(&lp->post_lock);
    run_node_list(lp, batch);
}

loop *loop_new(void)
{
    loop *lp = calloc(1, sizeof(*lp));
    if (lp == NULL)
        return NULL;
    lp->post_fd = -1;
    pthread_mutex_init(&lp->post_lock, NULL);
    lp->base = event_base_new();
    if (lp->base == NULL)
        goto fail;
    lp->defer_event = event_new(lp->base, -1, 0, on_defer, lp);
    lp->post_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (lp->defer_event == NULL || lp->post_fd < 0)
        goto fail;
    lp->post_event = event_new(lp->base, lp->post_fd, EV_READ | EV_PERSIST, on_post_wakeup, lp);
    if (lp->post_event == NULL || event_add(lp->post_event, NULL) != 0)
        goto fail;
    return lp;
fail:
    loop_free(lp);
    return NULL;
}

static void free_node_list(loop_post_node *node)
{
    while (node != NULL) {
        loop_post_node *next = node->next;
        if (node->heap)
            free(node);
        node = next;
    }
}

void loop_free(loop *lp)
{
    if (lp == NULL)
        return;
    free_node_list(lp->defer_head);
    free_node_list(lp->post_head);
    if (lp->post_event != NULL)
        event_free(lp->post_event);
    if (lp->defer_event != NULL)
        event_free(lp->defer_event);
    if (lp->post_fd >= 0)
        close(lp->post_fd);
    if (lp->base != NULL)
        event_base_free(lp->base);
    pthread_mutex_destroy(&lp->post_lock);
    free(lp);
}

int loop_run(loop *lp)
{
    return event_base_loop(lp->base, 0) < 0 ? -1 : 0;
}

void loop_break(loop *lp)
{
    event_base_loopbreak(lp->base);
}

uint64_t loop_callbacks_dispatched(const loop *lp)
{
    return lp->callbacks;
}

/* ---- timers ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    loop_timer *t = arg;
    t->lp->callbacks++;
    t->fn(t->arg);
}

loop_timer *loop_timer_new(loop *lp, loop_fn fn, void *arg)
{
    loop_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->lp = lp;
    t->fn = fn;
    t->arg = arg;
    t->ev = event_new(lp->base, -1, 0, on_timer, t);
    if (t->ev == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void loop_timer_start(loop_timer *t, uint64_t delay_ms, bool repeat)
{
    event_del(t->ev);
    if (repeat != t->repeat) {
        /* EV_PERSIST is fixed at assignment; re-assign the event. */
        event_assign(t->ev, t->lp->base, -1, repeat ? EV_PERSIST : 0, on_timer, t);
        t->repeat = repeat;
    }
    t->delay_ms = delay_ms;
    struct timeval tv = {.tv_sec = (time_t)(delay_ms / 1000),
                         .tv_usec = (suseconds_t)((delay_ms % 1000) * 1000)};
    event_add(t->ev, &tv);
}

void loop_timer_stop(loop_timer *t)
{
    event_del(t->ev);
}

void loop_timer_free(loop_timer *t)
{
    if (t == NULL)
        return;
    event_free(t->ev);
    free(t);
}

/* ---- fd watches ---- */

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    loop_watch *w = arg;
    unsigned events = 0;
    if (what & EV_READ)
        events |= LOOP_READ;
    if (what & EV_WRITE)
        events |= LOOP_WRITE;
    w->lp->callbacks++;
    w->fn((int)fd, events, w->arg);
}

static short to_libevent(unsigned events)
{
    short what = EV_PERSIST;
    if (events & LOOP_READ)
        what |= EV_READ;
    if (events & LOOP_WRITE)
        what |= EV_WRITE;
    return what;
}

loop_watch *loop_watch_new(loop *lp, int fd, unsigned events, loop_watch_cb fn, void *arg)
{
    loop_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->lp = lp;
    w->fd = fd;
    w->fn = fn;
    w->arg = arg;
    w->events = events;
    w->ev = event_new(lp->base, fd, to_libevent(events), on_watch, w);
    if (w->ev == NULL) {
        free(w);
        return NULL;
    }
    if (events != 0 && event_add(w->ev, NULL) != 0) {
        event_free(w->ev);
        free(w);
        return NULL;
    }
    return w;
}

void loop_watch_update(loop_watch *w, unsigned events)
{
    if (events == w->events)
        return;
    event_del(w->ev);
    event_assign(w->ev, w->lp->base, w->fd, to_libevent(events), on_watch, w);
    w->events = events;
    if (events != 0)
        event_add(w->ev, NULL);
}

void loop_watch_free(loop_watch *w)
{
    if (w == NULL)
        return;
    event_free(w->ev);
    free(w);
}

/* ---- deferred calls and posts ---- */

int loop_defer(loop *lp, const void *owner, loop_fn fn, void *arg)
{
    loop_post_node *node = malloc(sizeof(*node));
    if (node == NULL)
        return -1;
    *node = (loop_post_node){.owner = owner, .fn = fn, .arg = arg, .heap = true};
    if (lp->defer_tail != NULL)
        lp->defer_tail->next = node;
    else
        lp->defer_head = node;
    lp->defer_tail = node;
    if (!event_pending(lp->defer_event, EV_TIMEOUT, NULL))
        event_active(lp->defer_event, EV_TIMEOUT, 0);
    return 0;
}

static void post_enqueue(loop *lp, loop_post_node *node, bool bounded, int *result)
{
    pthread_mutex_lock(&lp->post_lock);
    if (bounded && lp->post_count >= LOOP_POST_QUEUE_MAX) {
        pthread_mutex_unlock(&lp->post_lock);
        *result = -2;
        return;
    }
    bool was_empty = lp->post_head == NULL;
    node->next = NULL;
    if (lp->post_tail != NULL)
        lp->post_tail->next = node;
    else
        lp->post_head = node;
    lp->post_tail = node;
    if (bounded)
        lp->post_count++;
    pthread_mutex_unlock(&lp->post_lock);
    if (was_empty) {
        uint64_t one = 1;
        while (write(lp->post_fd, &one, sizeof(one)) < 0 && errno == EINTR) {
        }
    }
    *result = 0;
}

int loop_post(loop *lp, const void *owner, loop_fn fn, void *arg)
{
    loop_post_node *node = malloc(sizeof(*node));
    if (node == NULL)
        return -1;
    *node = (loop_post_node){.owner = owner, .fn = fn, .arg = arg, .heap = true};
    int result;
    post_enqueue(lp, node, true, &result);
    if (result != 0)
        free(node);
    return result;
}

void loop_post_node_submit(loop *lp, loop_post_node *node)
{
    int result;
    node->heap = false;
    post_enqueue(lp, node, false, &result);
}

/* Removes the heap nodes of `owner` from a list; returns how many. */
static size_t cancel_in_list(loop_post_node **head, loop_post_node **tail, const void *owner,
                             size_t *bounded_count)
{
    size_t dropped = 0;
    loop_post_node *prev = NULL;
    for (loop_post_node *node = *head; node != NULL;) {
        loop_post_node *next = node->next;
        if (node->owner == owner && node->heap) {
            if (prev != NULL)
                prev->next = next;
            else
                *head = next;
            if (*tail == node)
                *tail = prev;
            free(node);
            dropped++;
            if (bounded_count != NULL && *bounded_count > 0)
                (*bounded_count)--;
        } else {
            prev = node;
        }
        node = next;
    }
    return dropped;
}

size_t loop_cancel_owner(loop *lp, const void *owner)
{
    size_t dropped = cancel_in_list(&lp->defer_head, &lp->defer_tail, owner, NULL);
    pthread_mutex_lock(&lp->post_lock);
    dropped += cancel_in_list(&lp->post_head, &lp->post_tail, owner, &lp->post_count);
    pthread_mutex_unlock(&lp->post_lock);
    return dropped;
}

/* ---- signals ---- */

static void on_signal(evutil_socket_t signo, short what, void *arg)
{
    (void)signo;
    (void)what;
    loop_signal *s = arg;
    s->lp->callbacks++;
    s->fn(s->arg);
}

loop_signal *loop_signal_new(loop *lp, int signo, loop_fn fn, void *arg)
{
    loop_signal *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->lp = lp;
    s->fn = fn;
    s->arg = arg;
    s->ev = evsignal_new(lp->base, signo, on_signal, s);
    if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
        if (s->ev != NULL)
            event_free(s->ev);
        free(s);
        return NULL;
    }
    return s;
}

void loop_signal_free(loop_signal *s)
{
    if (s == NULL)
        return;
    event_free(s->ev);
    free(s);
}

void loop_drain_pending(loop *lp)
{
    for (int round = 0; round < 64 && (lp->defer_head != NULL || lp->post_head != NULL); round++) {
        on_post_wakeup(lp->post_fd, EV_READ, lp);
        on_defer(-1, EV_TIMEOUT, lp);
    }
}
