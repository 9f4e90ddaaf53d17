#include "reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listener.h"
#include "wire.h"

typedef struct read_request {
    struct read_request *next;
    bool all; /* read_all; else read_changes(since) */
    uint64_t since;
    char since_text[24];
    trellis_store_visit_fn visit;
    trellis_store_read_done_fn done;
    void *arg;
    uint64_t deadline_ns;
} read_request;

typedef struct reader_slot {
    reader_pool *pool;
    pg_conn *conn;
    read_request *request; /* in flight on this connection */
} reader_slot;

struct reader_pool {
    store_pg *s;
    reader_slot *slots;
    unsigned count;
    read_request *head; /* waiting for a connection, oldest first */
    read_request *tail;
    size_t outstanding; /* queued + in flight */
    trellis_timer *kick_timer;
    trellis_timer *deadline_timer;
    bool stopping;
    bool closed;
};

/* ---- the queue ---- */

static void queue_push_back(reader_pool *r, read_request *q)
{
    q->next = NULL;
    if (r->tail != NULL)
        r->tail->next = q;
    else
        r->head = q;
    r->tail = q;
}

static void queue_push_front(reader_pool *r, read_request *q)
{
    q->next = r->head;
    r->head = q;
    if (r->tail == NULL)
        r->tail = q;
}

static read_request *queue_pop(reader_pool *r)
{
    read_request *q = r->head;
    if (q != NULL) {
        r->head = q->next;
        if (r->head == NULL)
            r->tail = NULL;
        q->next = NULL;
    }
    return q;
}

/* Answers and frees a request that is no longer queued or in flight. */
static void finish(reader_pool *r, read_request *q, trellis_status status, uint64_t revision,
                   const char *message)
{
    r->outstanding--;
    trellis_store_read_done_fn done = q->done;
    void *arg = q->arg;
    free(q);
    done(arg, status, revision, message);
}

static void arm_deadline(reader_pool *r)
{
    uint64_t earliest = UINT64_MAX;
    for (read_request *q = r->head; q != NULL; q = q->next) {
        if (q->deadline_ns < earliest)
            earliest = q->deadline_ns;
    }
    const trellis_host *h = r->s->host;
    if (earliest == UINT64_MAX) {
        h->timer_stop(r->deadline_timer);
        return;
    }
    uint64_t now = h->monotonic_ns();
    h->timer_start(r->deadline_timer,
                   earliest > now ? (earliest - now + 999999) / 1000000 : 0, false);
}

static void schedule_kick(reader_pool *r)
{
    if (!r->closed)
        r->s->host->timer_start(r->kick_timer, 0, false);
}

/* ---- answers ---- */

static bool int8_at(const PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
        return false;
    *out = wire_get_int8(PQgetvalue(res, row, col));
    return true;
}

static void answer_read_all(reader_pool *r, read_request *q, const PGresult *res)
{
    int64_t head = 0;
    if (PQntuples(res) < 1 || PQnfields(res) != 5 || !int8_at(res, 0, 0, &head)) {
        finish(r, q, TRELLIS_ERR, 0, "the database's answer to read_all has an unexpected shape");
        return;
    }
    int rows = PQntuples(res);
    /* Check every row before visiting any: all or nothing. */
    for (int i = 0; i < rows; i++) {
        int64_t v;
        if (!PQgetisnull(res, i, 1) &&
            (PQgetisnull(res, i, 2) || !int8_at(res, i, 3, &v) || !int8_at(res, i, 4, &v))) {
            finish(r, q, TRELLIS_ERR, 0, "the database returned a malformed record");
            return;
        }
    }
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(res, i, 1))
            continue; /* the meta row alone: no records */
        int64_t version = 0, revision = 0;
        int8_at(res, i, 3, &version);
        int8_at(res, i, 4, &revision);
        trellis_store_record rec = {.key = PQgetvalue(res, i, 1),
                                    .value = PQgetvalue(res, i, 2),
                                    .value_len = (size_t)PQgetlength(res, i, 2),
                                    .version = (uint64_t)version,
                                    .revision = (uint64_t)revision};
        q->visit(q->arg, &rec);
    }
    r->s->host->metric_add(r->s->metrics.reads, 1);
    store_pg_saw_revision(r->s, (uint64_t)head);
    change_cache_reset_at(&r->s->changes, (uint64_t)head);
    finish(r, q, TRELLIS_OK, (uint64_t)head, NULL);
}

/* What a read brought, for the next catch-up (change_cache.h). */
static void cache_changes(store_pg *s, uint64_t since, uint64_t head, const PGresult *res)
{
    int rows = PQntuples(res);
    change_input *in = malloc((size_t)rows * sizeof(*in));
    if (in == NULL) {
        change_cache_invalidate(&s->changes);
        return;
    }
    size_t n = 0;
    for (int i = 0; i < rows; i++) {
        int64_t revision = 0, version = 0;
        if (PQgetisnull(res, i, 2))
            continue;
        int8_at(res, i, 2, &revision);
        int8_at(res, i, 5, &version);
        bool deleted = PQgetisnull(res, i, 4);
        in[n++] = (change_input){.revision = (uint64_t)revision,
                                 .version = (uint64_t)version,
                                 .key = PQgetvalue(res, i, 3),
                                 .key_len = (size_t)PQgetlength(res, i, 3),
                                 .value = deleted ? NULL : PQgetvalue(res, i, 4),
                                 .value_len = deleted ? 0 : (size_t)PQgetlength(res, i, 4)};
    }
    change_cache_add(&s->changes, since, head, in, n);
    free(in);
}

static void answer_read_changes(reader_pool *r, read_request *q, const PGresult *res)
{
    int64_t head = 0, floor = 0;
    if (PQntuples(res) < 1 || PQnfields(res) != 6 || !int8_at(res, 0, 0, &head) ||
        !int8_at(res, 0, 1, &floor)) {
        finish(r, q, TRELLIS_ERR, 0,
               "the database's answer to read_changes has an unexpected shape");
        return;
    }
    char message[300];
    if (q->since < (uint64_t)floor) {
        snprintf(message, sizeof(message),
                 "history starts after revision %lld (history_revisions); read everything with "
                 "read_all()",
                 (long long)floor);
        finish(r, q, TRELLIS_ERR_NOT_FOUND, 0, message);
        return;
    }
    if (q->since > (uint64_t)head) {
        snprintf(message, sizeof(message),
                 "revision %llu is newer than the database's newest (%lld): the database was "
                 "replaced or restored from an older backup; read everything with read_all()",
                 (unsigned long long)q->since, (long long)head);
        finish(r, q, TRELLIS_ERR_NOT_FOUND, 0, message);
        return;
    }
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        int64_t v;
        if (!PQgetisnull(res, i, 2) &&
            (!int8_at(res, i, 2, &v) || PQgetisnull(res, i, 3) || !int8_at(res, i, 5, &v))) {
            finish(r, q, TRELLIS_ERR, 0, "the database returned a malformed change");
            return;
        }
    }
    cache_changes(r->s, q->since, (uint64_t)head, res);
    uint64_t newest = q->since;
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(res, i, 2))
            continue; /* no changes after `since` */
        int64_t revision = 0, version = 0;
        int8_at(res, i, 2, &revision);
        int8_at(res, i, 5, &version);
        bool deleted = PQgetisnull(res, i, 4);
        trellis_store_record rec = {.key = PQgetvalue(res, i, 3),
                                    .value = deleted ? NULL : PQgetvalue(res, i, 4),
                                    .value_len = deleted ? 0 : (size_t)PQgetlength(res, i, 4),
                                    .version = (uint64_t)version,
                                    .revision = (uint64_t)revision};
        q->visit(q->arg, &rec);
        newest = (uint64_t)revision;
    }
    r->s->host->metric_add(r->s->metrics.reads, 1);
    store_pg_saw_revision(r->s, (uint64_t)head);
    finish(r, q, TRELLIS_OK, newest, NULL);
}

static void on_reply(void *arg, const pg_reply *reply)
{
    reader_slot *slot = arg;
    reader_pool *r = slot->pool;
    read_request *q = slot->request;
    slot->request = NULL;
    switch (reply->kind) {
    case PG_REPLY_OK:
        if (q->all)
            answer_read_all(r, q, reply->result);
        else
            answer_read_changes(r, q, reply->result);
        break;
    case PG_REPLY_ERROR: {
        char message[600];
        snprintf(message, sizeof(message), "the database refused the read (SQLSTATE %s): %s",
                 reply->sqlstate, reply->message);
        finish(r, q,
               pg_sqlstate_transient(reply->sqlstate) ? TRELLIS_ERR_UNAVAILABLE : TRELLIS_ERR, 0,
               message);
        break;
    }
    case PG_REPLY_LOST:
        if (r->closed || r->s->host->monotonic_ns() >= q->deadline_ns) {
            char message[600];
            snprintf(message, sizeof(message), "the database is unavailable: %s", reply->message);
            finish(r, q, TRELLIS_ERR_UNAVAILABLE, 0, message);
        } else {
            queue_push_front(r, q); /* reads change nothing: try another connection */
            arm_deadline(r);
        }
        break;
    }
    schedule_kick(r);
    store_pg_check_drained(r->s);
}

static void on_kick(void *arg)
{
    reader_pool *r = arg;
    uint64_t now = r->s->host->monotonic_ns();
    for (unsigned i = 0; i < r->count && r->head != NULL; i++) {
        reader_slot *slot = &r->slots[i];
        if (!pg_conn_idle(slot->conn))
            continue;
        read_request *q = queue_pop(r);
        uint64_t left_ms = q->deadline_ns > now ? (q->deadline_ns - now) / 1000000 : 0;
        if (left_ms == 0)
            left_ms = 1;
        slot->request = q;
        bool sent;
        if (q->all) {
            sent = pg_conn_send(slot->conn, STMT_READ_ALL, 0, NULL, NULL, NULL, 1, left_ms,
                                on_reply, slot);
        } else {
            const char *values[1] = {q->since_text};
            sent = pg_conn_send(slot->conn, STMT_READ_CHANGES, 1, values, NULL, NULL, 1, left_ms,
                                on_reply, slot);
        }
        if (!sent) {
            slot->request = NULL;
            queue_push_front(r, q);
        }
    }
    arm_deadline(r);
}

static void on_deadline(void *arg)
{
    reader_pool *r = arg;
    uint64_t now = r->s->host->monotonic_ns();
    char message[300];
    snprintf(message, sizeof(message),
             "no connection to the database within read_timeout_ms (%llu ms): %s",
             (unsigned long long)r->s->settings.read_timeout_ms, reader_pool_problem(r));
    /* Take the expired ones out first: answering may queue new reads. */
    read_request *expired = NULL, **link = &r->head;
    r->tail = NULL;
    while (*link != NULL) {
        read_request *q = *link;
        if (q->deadline_ns <= now) {
            *link = q->next;
            q->next = expired;
            expired = q;
        } else {
            r->tail = q;
            link = &q->next;
        }
    }
    while (expired != NULL) {
        read_request *q = expired;
        expired = q->next;
        finish(r, q, TRELLIS_ERR_UNAVAILABLE, 0, message);
    }
    arm_deadline(r);
    store_pg_check_drained(r->s);
}

/* ---- connections ---- */

static void on_up(void *owner, pg_conn *conn)
{
    reader_slot *slot = owner;
    (void)conn;
    schedule_kick(slot->pool);
    store_pg_update_readiness(slot->pool->s);
    /* A read may have failed while this connection was down: catch up. */
    listener_poke(slot->pool->s->listener);
}

static void on_down(void *owner, pg_conn *conn, const char *why)
{
    reader_slot *slot = owner;
    (void)conn;
    (void)why;
    store_pg_update_readiness(slot->pool->s);
}

static const pg_conn_events reader_events = {.up = on_up, .down = on_down, .input = NULL};

/* ---- public ---- */

reader_pool *reader_pool_new(store_pg *s)
{
    reader_pool *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->s = s;
    r->count = s->settings.pool_size;
    r->slots = calloc(r->count, sizeof(*r->slots));
    r->kick_timer = s->host->timer_new(s->ctx, on_kick, r);
    r->deadline_timer = s->host->timer_new(s->ctx, on_deadline, r);
    if (r->slots == NULL || r->kick_timer == NULL || r->deadline_timer == NULL) {
        reader_pool_free(r);
        return NULL;
    }
    for (unsigned i = 0; i < r->count; i++) {
        char name[32];
        snprintf(name, sizeof(name), "reads %u", i + 1);
        r->slots[i].pool = r;
        r->slots[i].conn = pg_conn_new(&s->shared, name, PG_ROLE_READER,
                                       s->settings.read_timeout_ms * 3 / 4, &reader_events,
                                       &r->slots[i]);
        if (r->slots[i].conn == NULL) {
            reader_pool_free(r);
            return NULL;
        }
    }
    return r;
}

void reader_pool_start(reader_pool *r)
{
    for (unsigned i = 0; i < r->count; i++)
        pg_conn_start(r->slots[i].conn);
}

static trellis_status enqueue(reader_pool *r, bool all, uint64_t since,
                              trellis_store_visit_fn visit, trellis_store_read_done_fn done,
                              void *arg)
{
    store_pg *s = r->s;
    if (r->closed || r->stopping || s->fatal)
        return TRELLIS_ERR_UNAVAILABLE;
    if (visit == NULL || done == NULL)
        return TRELLIS_ERR_INVALID;
    if (r->outstanding >= s->settings.max_pending_reads)
        return TRELLIS_ERR_LIMIT;
    read_request *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return TRELLIS_ERR_NOMEM;
    q->all = all;
    q->since = since;
    snprintf(q->since_text, sizeof(q->since_text), "%llu", (unsigned long long)since);
    q->visit = visit;
    q->done = done;
    q->arg = arg;
    q->deadline_ns = s->host->monotonic_ns() + s->settings.read_timeout_ms * 1000000ull;
    queue_push_back(r, q);
    r->outstanding++;
    schedule_kick(r); /* done() must not run inside read_*() */
    return TRELLIS_OK;
}

trellis_status reader_read_all(reader_pool *r, trellis_store_visit_fn visit,
                               trellis_store_read_done_fn done, void *arg)
{
    return enqueue(r, true, 0, visit, done, arg);
}

trellis_status reader_read_changes(reader_pool *r, uint64_t since, trellis_store_visit_fn visit,
                                   trellis_store_read_done_fn done, void *arg)
{
    store_pg *s = r->s;
    if (since > (uint64_t)INT64_MAX)
        return TRELLIS_ERR_INVALID;
    if (!r->closed && !r->stopping && !s->fatal && visit != NULL && done != NULL &&
        change_cache_covers(&s->changes, since, s->newest_revision)) {
        /* Everything after `since` that this instance knows of is in memory
         * (as store.file does, the answer comes before the call returns). */
        uint64_t newest = change_cache_visit(&s->changes, since, visit, arg);
        s->host->metric_add(s->metrics.cached_reads, 1);
        done(arg, TRELLIS_OK, newest, NULL);
        return TRELLIS_OK;
    }
    return enqueue(r, false, since, visit, done, arg);
}

unsigned reader_pool_up(const reader_pool *r)
{
    unsigned up = 0;
    for (unsigned i = 0; i < r->count; i++)
        up += pg_conn_get_state(r->slots[i].conn) == PG_CONN_UP;
    return up;
}

const char *reader_pool_problem(const reader_pool *r)
{
    for (unsigned i = 0; i < r->count; i++) {
        if (pg_conn_get_state(r->slots[i].conn) != PG_CONN_UP)
            return pg_conn_problem(r->slots[i].conn);
    }
    return "";
}

bool reader_pool_drained(const reader_pool *r)
{
    return r->outstanding == 0;
}

void reader_pool_stop(reader_pool *r)
{
    r->stopping = true;
}

void reader_pool_close(reader_pool *r, const char *why)
{
    if (r->closed)
        return;
    r->closed = true;
    r->s->host->timer_stop(r->kick_timer);
    r->s->host->timer_stop(r->deadline_timer);
    for (unsigned i = 0; i < r->count; i++)
        pg_conn_close(r->slots[i].conn); /* reads in flight come back LOST: answered */
    read_request *q;
    while ((q = queue_pop(r)) != NULL)
        finish(r, q, TRELLIS_ERR_UNAVAILABLE, 0, why);
}

void reader_pool_free(reader_pool *r)
{
    if (r == NULL)
        return;
    if (r->slots != NULL) {
        reader_pool_close(r, "the store was shut down");
        for (unsigned i = 0; i < r->count; i++)
            pg_conn_free(r->slots[i].conn);
    }
    r->s->host->timer_free(r->kick_timer);
    r->s->host->timer_free(r->deadline_timer);
    free(r->slots);
    free(r);
}
