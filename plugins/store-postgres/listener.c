#include "listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct listener {
    store_pg *s;
    pg_conn *conn;
    trellis_store_notify_fn notify;
    void *notify_arg;
    uint64_t newest_heard; /* from notifications, own commits and keepalives */
    trellis_timer *keepalive_timer;
    trellis_timer *poke_timer; /* 0 ms: one notify for everything heard in a callback */
    bool closed;
};

void listener_poke(listener *l)
{
    if (l != NULL && !l->closed && l->notify != NULL)
        l->s->host->timer_start(l->poke_timer, 0, false);
}

static void on_poke(void *arg)
{
    listener *l = arg;
    if (!l->closed && l->notify != NULL)
        l->notify(l->notify_arg);
}

static void heard(listener *l, uint64_t revision)
{
    if (revision > l->newest_heard)
        l->newest_heard = revision;
    store_pg_saw_revision(l->s, revision);
}

/* Payload "<tag> <revision>" (schema.c: commit_batch). */
static void on_input(void *owner, pg_conn *conn)
{
    listener *l = owner;
    PGconn *pg = pg_conn_get0_pgconn(conn);
    if (pg == NULL)
        return;
    PGnotify *n;
    bool others = false;
    while ((n = PQnotifies(pg)) != NULL) {
        const char *space = strchr(n->extra, ' ');
        size_t tag_len = space ? (size_t)(space - n->extra) : strlen(n->extra);
        bool own = tag_len == strlen(l->s->notify_tag) &&
                   memcmp(n->extra, l->s->notify_tag, tag_len) == 0;
        if (space != NULL)
            heard(l, strtoull(space + 1, NULL, 10));
        if (!own) {
            others = true;
            l->s->host->metric_add(l->s->metrics.notifications, 1);
        }
        PQfreemem(n);
    }
    if (others)
        listener_poke(l);
}

static void on_head(void *arg, const pg_reply *reply)
{
    listener *l = arg;
    if (reply->kind != PG_REPLY_OK)
        return; /* a lost connection is replaced; an error waits for the next tick */
    if (PQntuples(reply->result) != 1)
        return;
    uint64_t head = strtoull(PQgetvalue(reply->result, 0, 0), NULL, 10);
    if (head > l->newest_heard) {
        /* Committed, yet never announced to us: a notification was lost. */
        l->s->host->log(l->s->ctx, TRELLIS_LOG_DEBUG, "missed_notification",
                        "revision %llu was never announced (newest heard %llu); catching up",
                        (unsigned long long)head, (unsigned long long)l->newest_heard);
        heard(l, head);
        listener_poke(l);
    }
}

static void on_keepalive(void *arg)
{
    listener *l = arg;
    if (l->closed || !pg_conn_idle(l->conn))
        return;
    /* No answer within the interval: the connection is dead, replace it. */
    uint64_t timeout = l->s->settings.keepalive_ms < 1000 ? 1000 : l->s->settings.keepalive_ms;
    pg_conn_send(l->conn, STMT_HEAD, 0, NULL, NULL, NULL, 0, timeout, on_head, l);
}

static void on_up(void *owner, pg_conn *conn)
{
    listener *l = owner;
    (void)conn;
    l->s->host->timer_start(l->keepalive_timer, l->s->settings.keepalive_ms, true);
    store_pg_update_readiness(l->s);
    /* Whatever was announced while we were not listening: catch up once. */
    listener_poke(l);
}

static void on_down(void *owner, pg_conn *conn, const char *why)
{
    listener *l = owner;
    (void)conn;
    (void)why;
    l->s->host->timer_stop(l->keepalive_timer);
    store_pg_update_readiness(l->s);
}

static const pg_conn_events listener_events = {.up = on_up, .down = on_down, .input = on_input};

listener *listener_new(store_pg *s)
{
    listener *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->s = s;
    l->conn = pg_conn_new(&s->shared, "listen", PG_ROLE_LISTENER, s->settings.read_timeout_ms,
                          &listener_events, l);
    l->keepalive_timer = s->host->timer_new(s->ctx, on_keepalive, l);
    l->poke_timer = s->host->timer_new(s->ctx, on_poke, l);
    if (l->conn == NULL || l->keepalive_timer == NULL || l->poke_timer == NULL) {
        listener_free(l);
        return NULL;
    }
    return l;
}

void listener_start(listener *l)
{
    pg_conn_start(l->conn);
}

void listener_watch(listener *l, trellis_store_notify_fn notify, void *arg)
{
    l->notify = notify;
    l->notify_arg = arg;
    /* Commits may have landed between the core's read and this call. */
    if (pg_conn_get_state(l->conn) == PG_CONN_UP)
        listener_poke(l);
}

void listener_own_revision(listener *l, uint64_t revision)
{
    if (revision > l->newest_heard)
        l->newest_heard = revision;
}

bool listener_ready(const listener *l)
{
    return pg_conn_get_state(l->conn) == PG_CONN_UP;
}

const char *listener_problem(const listener *l)
{
    return pg_conn_problem(l->conn);
}

void listener_close(listener *l)
{
    if (l->closed)
        return;
    l->closed = true;
    l->s->host->timer_stop(l->keepalive_timer);
    l->s->host->timer_stop(l->poke_timer);
    pg_conn_close(l->conn);
}

void listener_free(listener *l)
{
    if (l == NULL)
        return;
    if (l->conn != NULL)
        listener_close(l);
    pg_conn_free(l->conn);
    l->s->host->timer_free(l->keepalive_timer);
    l->s->host->timer_free(l->poke_timer);
    free(l);
}
