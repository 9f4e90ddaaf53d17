#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit_codec.h"
#include "listener.h"

/* How soon a failed outcome lookup is tried again on a live connection. */
#define RESOLVE_RETRY_MS 200
/* A batch hands back the change feed only when the cache is at most this
 * many revisions behind; further behind, the core's read goes to the
 * database as usual. */
#define CHANGES_WITH_BATCH_MAX 1024

typedef struct commit_list {
    pg_commit *head;
    pg_commit *tail;
    size_t count;
} commit_list;

struct writer {
    store_pg *s;
    pg_conn *conn;
    commit_list queue;    /* QUEUED, in call order */
    commit_list inflight; /* SENT: the batch on the wire */
    commit_list unknown;  /* UNKNOWN: to be looked up after reconnecting */
    bool resolving;       /* resolve_commits() on the wire */
    size_t unanswered;    /* commits whose done() has not run */
    uint64_t batch_sent_ns;
    int64_t batch_since; /* the change feed the batch on the wire asked for */
    trellis_timer *kick_timer;     /* 0 ms: the next batch, after the current callback */
    trellis_timer *deadline_timer; /* the earliest commit deadline */
    trellis_timer *resolve_timer;  /* retry of a failed lookup */
    pg_batch_params params;
    byte_buffer resolve_ids;
    bool stopping;
    bool closed;
    char problem[640];
};

/* ---- lists ---- */

static void list_push(commit_list *l, pg_commit *c)
{
    c->next = NULL;
    if (l->tail != NULL)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->count++;
}

static pg_commit *list_pop(commit_list *l)
{
    pg_commit *c = l->head;
    if (c == NULL)
        return NULL;
    l->head = c->next;
    if (l->head == NULL)
        l->tail = NULL;
    l->count--;
    c->next = NULL;
    return c;
}

static commit_list list_take(commit_list *l)
{
    commit_list taken = *l;
    *l = (commit_list){0};
    return taken;
}

static void list_append(commit_list *to, commit_list *from)
{
    pg_commit *c;
    while ((c = list_pop(from)) != NULL)
        list_push(to, c);
}

/* ---- answering ---- */

static void update_pending_gauge(writer *w)
{
    w->s->host->metric_set(w->s->metrics.pending, (double)w->unanswered);
}

/* Runs done() once. The commit stays owned by the caller. */
static void answer(writer *w, pg_commit *c, trellis_status status, uint64_t revision,
                   const char *message)
{
    if (c->answered)
        return;
    c->answered = true;
    w->unanswered--;
    store_pg *s = w->s;
    switch (status) {
    case TRELLIS_OK: s->host->metric_add(s->metrics.commits, 1); break;
    case TRELLIS_ERR_CONFLICT: s->host->metric_add(s->metrics.conflicts, 1); break;
    case TRELLIS_ERR_UNAVAILABLE: s->host->metric_add(s->metrics.unavailable, 1); break;
    case TRELLIS_ERR_IO: s->host->metric_add(s->metrics.unknown, 1); break;
    default: break;
    }
    c->done(c->arg, status, revision, message);
}

/* Answers and frees every commit of a detached list. */
static void answer_all(writer *w, commit_list *l, trellis_status status, const char *message)
{
    pg_commit *c;
    while ((c = list_pop(l)) != NULL) {
        answer(w, c, status, 0, message);
        free(c);
    }
}

static void schedule_kick(writer *w)
{
    if (!w->closed)
        w->s->host->timer_start(w->kick_timer, 0, false);
}

static void arm_deadline(writer *w)
{
    uint64_t earliest = UINT64_MAX;
    if (w->queue.head != NULL)
        earliest = w->queue.head->deadline_ns;
    if (w->inflight.head != NULL && w->inflight.head->deadline_ns < earliest)
        earliest = w->inflight.head->deadline_ns;
    for (pg_commit *c = w->unknown.head; c != NULL; c = c->next) {
        if (!c->answered && c->deadline_ns < earliest)
            earliest = c->deadline_ns;
    }
    const trellis_host *h = w->s->host;
    if (earliest == UINT64_MAX) {
        h->timer_stop(w->deadline_timer);
        return;
    }
    uint64_t now = h->monotonic_ns();
    uint64_t delay_ms = earliest > now ? (earliest - now + 999999) / 1000000 : 0;
    h->timer_start(w->deadline_timer, delay_ms, false);
}

/* After every change of the lists. */
static void settle(writer *w)
{
    update_pending_gauge(w);
    arm_deadline(w);
    store_pg_update_readiness(w->s);
    store_pg_check_drained(w->s);
}

/* ---- batches ---- */

static void on_batch_reply(void *arg, const pg_reply *reply);

static void send_batch(writer *w)
{
    store_pg *s = w->s;
    const pg_settings *st = &s->settings;
    size_t count = 0, bytes = 0;
    /* Take a prefix of the queue; the commits stay linked in call order. */
    pg_commit *first = w->queue.head;
    for (pg_commit *c = first; c != NULL && count < st->max_batch_commits; c = c->next) {
        if (count > 0 && bytes + c->payload > PG_BATCH_SOFT_MAX_BYTES)
            break;
        bytes += c->payload;
        count++;
    }
    commit_list batch = {0};
    for (size_t i = 0; i < count; i++) {
        pg_commit *c = list_pop(&w->queue);
        list_push(&batch, c);
    }
    /* Ask for the change feed after what the cache holds, so the core's
     * catch-up after this batch needs no round trip (change_cache.h). */
    w->batch_since = s->changes.valid ? (int64_t)s->changes.head : -1;
    pg_batch_settings bs = {.channel = st->channel,
                            .notify_tag = s->notify_tag,
                            .history_revisions = st->history_revisions,
                            .id_retention_s = st->commit_id_retention_s,
                            .since = w->batch_since,
                            .changes_revisions = CHANGES_WITH_BATCH_MAX};
    if (!pg_batch_encode(&w->params, batch.head, batch.count, &bs)) {
        answer_all(w, &batch, TRELLIS_ERR_NOMEM, "out of memory encoding the commit batch");
        settle(w);
        return;
    }
    w->inflight = batch;
    w->batch_sent_ns = s->host->monotonic_ns();
    if (!pg_conn_send(w->conn, STMT_COMMIT_BATCH, PG_BATCH_PARAMS, w->params.values,
                      w->params.lengths, w->params.formats, 1, 0, on_batch_reply, w)) {
        /* Not idle after all: put the batch back in front of the queue. */
        commit_list back = list_take(&w->inflight);
        list_append(&back, &w->queue);
        w->queue = back;
    }
}

static void send_resolve(writer *w);

static void on_kick(void *arg)
{
    writer *w = arg;
    if (w->closed || !pg_conn_idle(w->conn))
        return;
    if (w->unknown.count > 0) {
        /* Nothing new goes out before the lost batch is settled: a later
         * commit must never apply before an earlier one. */
        if (!w->resolving)
            send_resolve(w);
        return;
    }
    if (w->queue.count > 0)
        send_batch(w);
    settle(w);
}

/* Columns of commit_batch()'s rows (binary): kind int2, commit_index int4,
 * row_revision int8, conflict text, change_key text, change_value bytea,
 * change_version int8 (schema.c). */
enum { COL_KIND, COL_INDEX, COL_REVISION, COL_CONFLICT, COL_KEY, COL_VALUE, COL_VERSION };
enum { ROW_COMMIT = 1, ROW_CHANGE = 2, ROW_HEAD_WITH_CHANGES = 3, ROW_HEAD_ALONE = 4 };

static bool int_at(const PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    const char *p = PQgetvalue(res, row, col);
    switch (PQgetlength(res, row, col)) {
    case 2: *out = (int16_t)(((unsigned char)p[0] << 8) | (unsigned char)p[1]); return true;
    case 4: *out = wire_get_int4(p); return true;
    case 8: *out = wire_get_int8(p); return true;
    default: return false;
    }
}

/* Feeds the change rows to the cache before anyone is answered: the core
 * catches up right after the answers. false if the result is malformed. */
static bool cache_batch_changes(writer *w, const PGresult *res)
{
    store_pg *s = w->s;
    int rows = PQntuples(res);
    int64_t kind = 0, head = -1;
    size_t changes = 0;
    for (int r = 0; r < rows; r++) {
        if (!int_at(res, r, COL_KIND, &kind))
            return false;
        if (kind == ROW_CHANGE) {
            changes++;
        } else if (kind == ROW_HEAD_WITH_CHANGES || kind == ROW_HEAD_ALONE) {
            if (!int_at(res, r, COL_REVISION, &head))
                return false;
        }
    }
    if (head < 0)
        return false;
    store_pg_saw_revision(s, (uint64_t)head);
    int64_t last_kind = 0;
    int_at(res, rows - 1, COL_KIND, &last_kind);
    if (last_kind != ROW_HEAD_WITH_CHANGES || w->batch_since < 0) {
        change_cache_reset_at(&s->changes, (uint64_t)head);
        return true;
    }
    change_input *in = changes ? malloc(changes * sizeof(*in)) : NULL;
    if (changes && in == NULL) {
        change_cache_invalidate(&s->changes);
        return true;
    }
    size_t n = 0;
    for (int r = 0; r < rows; r++) {
        int64_t k = 0, revision = 0, version = 0;
        int_at(res, r, COL_KIND, &k);
        if (k != ROW_CHANGE)
            continue;
        if (!int_at(res, r, COL_REVISION, &revision) || !int_at(res, r, COL_VERSION, &version) ||
            PQgetisnull(res, r, COL_KEY)) {
            free(in);
            return false;
        }
        bool deleted = PQgetisnull(res, r, COL_VALUE);
        in[n++] = (change_input){.revision = (uint64_t)revision,
                                 .version = (uint64_t)version,
                                 .key = PQgetvalue(res, r, COL_KEY),
                                 .key_len = (size_t)PQgetlength(res, r, COL_KEY),
                                 .value = deleted ? NULL : PQgetvalue(res, r, COL_VALUE),
                                 .value_len = deleted ? 0 : (size_t)PQgetlength(res, r, COL_VALUE)};
    }
    change_cache_add(&s->changes, (uint64_t)w->batch_since, (uint64_t)head, in, n);
    free(in);
    return true;
}

/* The commit rows (kind 1: commit_index 1-based, revision or NULL, conflict
 * message), one per commit, in commit order. */
static void answer_batch(writer *w, commit_list *batch, const PGresult *res)
{
    store_pg *s = w->s;
    size_t n = batch->count;
    if (!cache_batch_changes(w, res)) {
        change_cache_invalidate(&s->changes);
        answer_all(w, batch, TRELLIS_ERR, "the database's answer to the commit is malformed");
        return;
    }
    int rows = PQntuples(res);
    int row = 0;
    size_t i = 0;
    pg_commit *c;
    while ((c = list_pop(batch)) != NULL) {
        i++;
        int64_t kind = 0, index = 0, revision = 0;
        while (row < rows && int_at(res, row, COL_KIND, &kind) && kind != ROW_COMMIT)
            row++;
        if (row >= rows || !int_at(res, row, COL_INDEX, &index) || index != (int64_t)i) {
            answer(w, c, TRELLIS_ERR, 0, "the database's answer left this commit out");
        } else if (int_at(res, row, COL_REVISION, &revision)) {
            listener_own_revision(s->listener, (uint64_t)revision);
            answer(w, c, TRELLIS_OK, (uint64_t)revision, NULL);
            row++;
        } else {
            answer(w, c, TRELLIS_ERR_CONFLICT, 0,
                   PQgetisnull(res, row, COL_CONFLICT) ? "a condition failed"
                                                       : PQgetvalue(res, row, COL_CONFLICT));
            row++;
        }
        free(c);
    }
    s->host->metric_add(s->metrics.batches, 1);
    s->host->metric_observe(s->metrics.batch_commits, (double)n);
}

static void on_batch_reply(void *arg, const pg_reply *reply)
{
    writer *w = arg;
    store_pg *s = w->s;
    commit_list batch = list_take(&w->inflight);
    s->host->metric_observe(s->metrics.batch_seconds,
                            (double)(s->host->monotonic_ns() - w->batch_sent_ns) / 1e9);
    switch (reply->kind) {
    case PG_REPLY_OK:
        answer_batch(w, &batch, reply->result);
        break;
    case PG_REPLY_ERROR: {
        /* The statement failed as a whole: its transaction rolled back. */
        char message[600];
        snprintf(message, sizeof(message), "the database refused the commit (SQLSTATE %s): %s",
                 reply->sqlstate, reply->message);
        trellis_status status =
            pg_sqlstate_transient(reply->sqlstate) ? TRELLIS_ERR_UNAVAILABLE : TRELLIS_ERR;
        s->host->log(s->ctx, TRELLIS_LOG_WARN, "commit_failed", "%zu commits: %s", batch.count,
                     message);
        answer_all(w, &batch, status, message);
        break;
    }
    case PG_REPLY_LOST:
        s->host->log(s->ctx, TRELLIS_LOG_WARN, "commit_outcome_unknown",
                     "the connection was lost with %zu commits in flight (%s); their outcome "
                     "will be looked up after reconnecting",
                     batch.count, reply->message);
        list_append(&w->unknown, &batch);
        break;
    }
    schedule_kick(w);
    settle(w);
}

/* ---- outcome lookup ---- */

/* A row of the commit lookup's answer, by commit id. */
typedef struct resolved_row {
    uint8_t id[PG_UUID_LEN];
    int row;
} resolved_row;

static int resolved_row_compare(const void *a, const void *b)
{
    return memcmp(((const resolved_row *)a)->id, ((const resolved_row *)b)->id, PG_UUID_LEN);
}

static void on_resolve_reply(void *arg, const pg_reply *reply);

static void send_resolve(writer *w)
{
    bb_reset(&w->resolve_ids);
    wire_array_begin(&w->resolve_ids, PG_OID_UUID, (uint32_t)w->unknown.count, false);
    for (pg_commit *c = w->unknown.head; c != NULL; c = c->next)
        wire_array_element(&w->resolve_ids, c->id, PG_UUID_LEN);
    if (bb_failed(&w->resolve_ids)) {
        w->s->host->timer_start(w->resolve_timer, RESOLVE_RETRY_MS, false);
        return;
    }
    const char *values[1] = {(const char *)w->resolve_ids.data};
    int lengths[1] = {(int)w->resolve_ids.len};
    int formats[1] = {1};
    w->resolving = pg_conn_send(w->conn, STMT_RESOLVE, 1, values, lengths, formats, 0,
                                w->s->settings.commit_timeout_ms, on_resolve_reply, w);
}

static void on_resolve_timer(void *arg)
{
    writer *w = arg;
    if (!w->closed && !w->resolving && w->unknown.count > 0 && pg_conn_idle(w->conn))
        send_resolve(w);
}

static void settle_unknown(writer *w, pg_commit *c, bool committed, uint64_t revision)
{
    store_pg *s = w->s;
    char id[PG_UUID_TEXT_LEN];
    wire_uuid_format(c->id, id);
    s->host->metric_add(s->metrics.resolved, 1);
    if (committed) {
        listener_own_revision(s->listener, revision);
        store_pg_saw_revision(s, revision);
    }
    if (!c->answered) {
        s->host->log(s->ctx, TRELLIS_LOG_INFO, "commit_outcome_found",
                     "commit %s %s", id, committed ? "had been applied" : "was not applied");
        if (committed)
            answer(w, c, TRELLIS_OK, revision, NULL);
        else
            answer(w, c, TRELLIS_ERR_UNAVAILABLE, 0,
                   "the connection to the database was lost while committing; the commit was "
                   "not applied");
        return;
    }
    /* Already answered "outcome unknown": say what it was. A commit that
     * applied reaches every catalog through the change feed. */
    s->host->log(s->ctx, TRELLIS_LOG_WARN, "commit_outcome_found",
                 "commit %s, answered 'outcome unknown' at its deadline, %s", id,
                 committed ? "had been applied" : "was not applied");
    if (committed)
        listener_poke(s->listener);
}

static void on_resolve_reply(void *arg, const pg_reply *reply)
{
    writer *w = arg;
    store_pg *s = w->s;
    w->resolving = false;
    if (reply->kind == PG_REPLY_LOST) {
        settle(w); /* looked up again once reconnected */
        return;
    }
    if (reply->kind == PG_REPLY_ERROR) {
        s->host->log(s->ctx, TRELLIS_LOG_WARN, "commit_lookup_failed",
                     "looking up %zu commits of unknown outcome failed (SQLSTATE %s): %s; "
                     "retrying",
                     w->unknown.count, reply->sqlstate, reply->message);
        s->host->timer_start(w->resolve_timer, RESOLVE_RETRY_MS, false);
        settle(w);
        return;
    }
    const PGresult *res = reply->result;
    /* The rows' ids parsed once and sorted: one lookup per commit, not one
     * pass over every row (batches reach max_batch_commits). */
    int rows = PQntuples(res);
    resolved_row *found = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*found));
    size_t found_count = 0;
    for (int r = 0; found != NULL && r < rows; r++) {
        if (wire_uuid_parse(PQgetvalue(res, r, 0), found[found_count].id))
            found[found_count++].row = r;
    }
    qsort(found, found_count, sizeof(*found), resolved_row_compare);
    commit_list pending = list_take(&w->unknown);
    pg_commit *c;
    while ((c = list_pop(&pending)) != NULL) {
        resolved_row key;
        memcpy(key.id, c->id, PG_UUID_LEN);
        const resolved_row *hit =
            found ? bsearch(&key, found, found_count, sizeof(*found), resolved_row_compare) : NULL;
        int row = hit ? hit->row : -1;
        if (row < 0) {
            list_push(&w->unknown, c); /* not settled: look it up again */
            continue;
        }
        bool committed = !PQgetisnull(res, row, 1);
        uint64_t revision = committed ? strtoull(PQgetvalue(res, row, 1), NULL, 10) : 0;
        settle_unknown(w, c, committed, revision);
        free(c);
    }
    free(found);
    if (w->unknown.count > 0)
        s->host->timer_start(w->resolve_timer, RESOLVE_RETRY_MS, false);
    schedule_kick(w);
    settle(w);
}

/* ---- deadlines ---- */

static void on_deadline(void *arg)
{
    writer *w = arg;
    store_pg *s = w->s;
    uint64_t now = s->host->monotonic_ns();
    char message[400];
    snprintf(message, sizeof(message),
             "not sent to the database within commit_timeout_ms (%llu ms); nothing was applied",
             (unsigned long long)s->settings.commit_timeout_ms);
    commit_list expired = {0};
    while (w->queue.head != NULL && w->queue.head->deadline_ns <= now) {
        pg_commit *c = list_pop(&w->queue);
        list_push(&expired, c);
    }
    answer_all(w, &expired, TRELLIS_ERR_UNAVAILABLE, message);
    if (w->inflight.head != NULL && w->inflight.head->deadline_ns <= now) {
        /* No answer in time: the connection is presumed wedged. Dropping it
         * makes the batch's outcome unknown; it is looked up after the
         * reconnect, and answered below if that does not come in time. */
        char why[160];
        snprintf(why, sizeof(why), "a commit batch got no answer within commit_timeout_ms (%llu ms)",
                 (unsigned long long)s->settings.commit_timeout_ms);
        pg_conn_fail(w->conn, why);
    }
    snprintf(message, sizeof(message),
             "outcome unknown: the connection to the database was lost after the commit was "
             "sent, and it could not be looked up within commit_timeout_ms (%llu ms); it may or "
             "may not have been applied (if it was, the change feed delivers it)",
             (unsigned long long)s->settings.commit_timeout_ms);
    for (pg_commit *c = w->unknown.head; c != NULL; c = c->next) {
        if (!c->answered && c->deadline_ns <= now)
            answer(w, c, TRELLIS_ERR_IO, 0, message);
    }
    settle(w);
}

/* ---- the connection ---- */

static void on_up(void *owner, pg_conn *conn)
{
    writer *w = owner;
    (void)conn;
    /* A new session may face another database (restored, failed over):
     * nothing cached is vouched for any more. */
    change_cache_invalidate(&w->s->changes);
    if (w->unknown.count > 0)
        send_resolve(w);
    else
        schedule_kick(w);
    settle(w);
    listener_poke(w->s->listener);
}

static void on_down(void *owner, pg_conn *conn, const char *why)
{
    writer *w = owner;
    (void)conn;
    w->resolving = false;
    /* Never sent: nothing applied. Failing them now beats waiting out the
     * outage; the caller can retry against a replica that is up. */
    char message[700];
    snprintf(message, sizeof(message),
             "the connection to the database was lost before the commit was sent (%s); nothing "
             "was applied",
             why);
    commit_list queued = list_take(&w->queue);
    answer_all(w, &queued, TRELLIS_ERR_UNAVAILABLE, message);
    settle(w);
}

static const pg_conn_events writer_events = {.up = on_up, .down = on_down, .input = NULL};

/* ---- public ---- */

writer *writer_new(store_pg *s)
{
    writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->s = s;
    pg_batch_params_init(&w->params);
    bb_init(&w->resolve_ids, BB_NO_LIMIT);
    const trellis_host *h = s->host;
    /* The server gives up on a statement first, so that a slow commit is a
     * definite "rolled back" rather than an unknown. */
    w->conn = pg_conn_new(&s->shared, "commits", PG_ROLE_WRITER,
                          s->settings.commit_timeout_ms * 3 / 4, &writer_events, w);
    w->kick_timer = h->timer_new(s->ctx, on_kick, w);
    w->deadline_timer = h->timer_new(s->ctx, on_deadline, w);
    w->resolve_timer = h->timer_new(s->ctx, on_resolve_timer, w);
    if (w->conn == NULL || w->kick_timer == NULL || w->deadline_timer == NULL ||
        w->resolve_timer == NULL) {
        writer_free(w);
        return NULL;
    }
    return w;
}

void writer_start(writer *w)
{
    pg_conn_start(w->conn);
}

trellis_status writer_commit(writer *w, const trellis_store_op *ops, size_t op_count,
                             trellis_store_commit_done_fn done, void *arg)
{
    store_pg *s = w->s;
    if (w->closed || w->stopping || s->fatal)
        return TRELLIS_ERR_UNAVAILABLE;
    char why[200];
    if (done == NULL || pg_ops_validate(ops, op_count, why, sizeof(why)) != TRELLIS_OK)
        return TRELLIS_ERR_INVALID;
    /* Known to be down (waiting out the backoff after a failure): refuse at
     * once. Connecting (at start, or a reconnect attempt): wait for it. */
    if (pg_conn_get_state(w->conn) == PG_CONN_WAITING)
        return TRELLIS_ERR_UNAVAILABLE;
    if (w->unanswered >= s->settings.max_pending_commits)
        return TRELLIS_ERR_LIMIT;
    pg_commit *c = pg_commit_new(ops, op_count);
    if (c == NULL)
        return TRELLIS_ERR_NOMEM;
    if (!wire_uuid_v7(c->id, (uint64_t)(s->host->wall_time() * 1000.0))) {
        free(c);
        return TRELLIS_ERR_UNAVAILABLE;
    }
    c->done = done;
    c->arg = arg;
    c->deadline_ns = s->host->monotonic_ns() + s->settings.commit_timeout_ms * 1000000ull;
    list_push(&w->queue, c);
    w->unanswered++;
    /* Commits made in the same callback go out together. */
    schedule_kick(w);
    update_pending_gauge(w);
    if (w->queue.count == 1 && w->inflight.count == 0)
        arm_deadline(w);
    return TRELLIS_OK;
}

bool writer_ready(const writer *w)
{
    return pg_conn_get_state(w->conn) == PG_CONN_UP && w->unknown.count == 0;
}

const char *writer_problem(writer *w)
{
    if (pg_conn_get_state(w->conn) != PG_CONN_UP)
        return pg_conn_problem(w->conn);
    if (w->unknown.count > 0) {
        snprintf(w->problem, sizeof(w->problem),
                 "looking up the outcome of %zu commits sent before the connection was lost",
                 w->unknown.count);
        return w->problem;
    }
    return "";
}

bool writer_drained(const writer *w)
{
    return w->queue.count == 0 && w->inflight.count == 0 && w->unanswered == 0;
}

void writer_stop(writer *w)
{
    w->stopping = true;
    schedule_kick(w);
}

void writer_close(writer *w, const char *why)
{
    if (w->closed)
        return;
    w->closed = true;
    const trellis_host *h = w->s->host;
    h->timer_stop(w->kick_timer);
    h->timer_stop(w->deadline_timer);
    h->timer_stop(w->resolve_timer);
    pg_conn_close(w->conn); /* a batch in flight moves to `unknown` */
    commit_list queued = list_take(&w->queue);
    answer_all(w, &queued, TRELLIS_ERR_UNAVAILABLE, why);
    char message[400];
    snprintf(message, sizeof(message),
             "outcome unknown: the store closed (%s) while the commit was in flight; it may or "
             "may not have been applied (if it was, the change feed delivers it)",
             why);
    commit_list unknown = list_take(&w->unknown);
    pg_commit *c;
    while ((c = list_pop(&unknown)) != NULL) {
        if (c->answered) {
            char id[PG_UUID_TEXT_LEN];
            wire_uuid_format(c->id, id);
            h->log(w->s->ctx, TRELLIS_LOG_WARN, "commit_outcome_unresolved",
                   "commit %s, answered 'outcome unknown', was never looked up", id);
        }
        answer(w, c, TRELLIS_ERR_IO, 0, message);
        free(c);
    }
    update_pending_gauge(w);
}

void writer_free(writer *w)
{
    if (w == NULL)
        return;
    writer_close(w, "the store was shut down");
    const trellis_host *h = w->s->host;
    pg_conn_free(w->conn);
    h->timer_free(w->kick_timer);
    h->timer_free(w->deadline_timer);
    h->timer_free(w->resolve_timer);
    pg_batch_params_free(&w->params);
    bb_free(&w->resolve_ids);
    free(w);
}
