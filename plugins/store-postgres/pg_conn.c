#include "pg_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"

/* The setup of one connection, run on an offload worker. Inputs are set on
 * the loop before submitting; outputs are read on the loop in done (the
 * host's job queue orders the two). */
typedef struct setup_job {
    pg_conn *conn;
    conninfo_params params;
    session_params session;
    uint64_t started_ns;
    /* outputs */
    PGconn *pg;
    session_result result;
    char error[640];
    int server_version;
    uint64_t took_ns;
} setup_job;

struct pg_connector {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    pg_conn *head; /* waiting for their turn */
    pg_conn *tail;
    pg_conn *running; /* its job is on a worker */
};

struct pg_conn {
    const pg_conn_shared *shared;
    char name[32];
    pg_role role;
    uint64_t statement_timeout_ms;
    const pg_conn_events *events;
    void *owner;

    pg_conn_state state;
    PGconn *pg;
    trellis_watch *watch;
    unsigned watch_events;
    trellis_timer *retry_timer;
    trellis_timer *query_timer;
    trellis_timer *fail_timer; /* a failure found inside pg_conn_send, reported later */
    char pending_failure[256];

    /* The statement in flight. */
    bool busy;
    bool flushing;
    pg_reply_fn done;
    void *done_arg;
    uint64_t timeout_ms;
    PGresult *last_result;
    PGresult *error_result;
    bool session_ending_error; /* FATAL or PANIC: the server ends the session */

    /* Setup jobs. */
    bool queued;
    pg_conn *queue_next;
    bool job_running;
    bool free_after_job;

    unsigned failures;
    uint32_t jitter_state;
    char problem[640];
    char logged_problem[640];
};

/* ---- the connector: one setup job at a time ---- */

pg_connector *pg_connector_new(const trellis_host *host, trellis_host_ctx *ctx)
{
    pg_connector *c = calloc(1, sizeof(*c));
    if (c != NULL) {
        c->host = host;
        c->ctx = ctx;
    }
    return c;
}

void pg_connector_free(pg_connector *c)
{
    free(c);
}

static void connector_kick(pg_connector *c);

static void connector_enqueue(pg_connector *c, pg_conn *conn)
{
    if (conn->queued || conn->job_running)
        return;
    conn->queued = true;
    conn->queue_next = NULL;
    if (c->tail != NULL)
        c->tail->queue_next = conn;
    else
        c->head = conn;
    c->tail = conn;
    connector_kick(c);
}

static void connector_remove(pg_connector *c, pg_conn *conn)
{
    if (!conn->queued)
        return;
    pg_conn **link = &c->head;
    pg_conn *prev = NULL;
    while (*link != NULL && *link != conn) {
        prev = *link;
        link = &(*link)->queue_next;
    }
    if (*link == conn) {
        *link = conn->queue_next;
        if (c->tail == conn)
            c->tail = prev;
    }
    conn->queued = false;
    conn->queue_next = NULL;
}

/* ---- logging ---- */

static void log_notice(void *arg, const char *message)
{
    pg_conn *conn = arg;
    char line[512];
    snprintf(line, sizeof(line), "%s", message);
    pg_message_flatten(line);
    bool warning = strncmp(line, "WARNING", 7) == 0;
    /* Any thread: the host's log is. */
    conn->shared->host->log(conn->shared->ctx, warning ? TRELLIS_LOG_WARN : TRELLIS_LOG_DEBUG,
                            "server_notice", "%s: %s", conn->name, line);
}

/* ---- setup job ---- */

static void setup_work(void *arg)
{
    setup_job *job = arg;
    PGconn *pg = PQconnectdbParams(job->params.keywords, job->params.values, 1);
    if (pg == NULL) {
        snprintf(job->error, sizeof(job->error), "out of memory in libpq");
        return;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(job->error, sizeof(job->error), "%s", PQerrorMessage(pg));
        pg_message_flatten(job->error);
        PQfinish(pg);
        return;
    }
    PQsetNoticeProcessor(pg, log_notice, job->conn);
    session_setup(pg, &job->session, &job->result);
    if (!job->result.ok) {
        snprintf(job->error, sizeof(job->error), "%s", job->result.message);
        PQfinish(pg);
        return;
    }
    job->server_version = PQserverVersion(pg);
    job->pg = pg;
}

static uint64_t backoff_ms(pg_conn *conn)
{
    const pg_conn_shared *sh = conn->shared;
    uint64_t delay = sh->reconnect_min_ms;
    for (unsigned i = 1; i < conn->failures && delay < sh->reconnect_max_ms; i++)
        delay *= 2;
    if (delay > sh->reconnect_max_ms)
        delay = sh->reconnect_max_ms;
    /* +-20% so replicas that lost the database together do not return in
     * lockstep (xorshift: no shared state, no locking). */
    uint32_t x = conn->jitter_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    conn->jitter_state = x;
    uint64_t spread = delay / 5;
    if (spread > 0)
        delay = delay - spread + (x % (2 * spread + 1));
    return delay ? delay : 1;
}

static void schedule_retry(pg_conn *conn)
{
    conn->state = PG_CONN_WAITING;
    conn->shared->host->timer_start(conn->retry_timer, backoff_ms(conn), false);
}

/* Logs a failed attempt: at WARN when the reason is new (or at attempts
 * 1, 10, 100, ...), otherwise at DEBUG, so a long outage is not a flood. */
static void log_failure(pg_conn *conn, const char *event, const char *verb)
{
    bool fresh = strcmp(conn->problem, conn->logged_problem) != 0;
    unsigned n = conn->failures;
    bool milestone = n == 1 || n == 10 || n == 100 || n == 1000 || n % 10000 == 0;
    trellis_log_level level = (fresh || milestone) ? TRELLIS_LOG_WARN : TRELLIS_LOG_DEBUG;
    conn->shared->host->log(conn->shared->ctx, level, event, "%s: %s postgres %s (attempt %u): %s",
                            conn->name, verb, conn->shared->target, n, conn->problem);
    snprintf(conn->logged_problem, sizeof(conn->logged_problem), "%s", conn->problem);
}

static void on_fd(int fd, unsigned events, void *arg);

/* A set-up attempt failed (conn->problem says why) and is counted. Fatal
 * (the schema refuses this trellis): the store hears it and closes every
 * connection. Otherwise it is logged, retried later, and the owner hears the
 * connection is down. */
static void setup_failed(pg_conn *conn, bool fatal)
{
    const pg_conn_shared *sh = conn->shared;
    conn->failures++;
    if (sh->reconnects != NULL)
        sh->host->metric_add(sh->reconnects, 1);
    if (fatal) {
        conn->state = PG_CONN_WAITING;
        connector_kick(sh->connector);
        sh->fatal(sh->fatal_arg, conn->problem);
        return;
    }
    log_failure(conn, "connect_failed", "cannot set up a connection to");
    schedule_retry(conn);
    connector_kick(sh->connector);
    conn->events->down(conn->owner, conn, conn->problem);
}

static void setup_done(void *arg)
{
    setup_job *job = arg;
    pg_conn *conn = job->conn;
    const pg_conn_shared *sh = conn->shared;
    const trellis_host *h = sh->host;
    pg_connector *connector = sh->connector;
    connector->running = NULL;
    conn->job_running = false;

    if (conn->state == PG_CONN_CLOSED) {
        if (job->pg != NULL)
            PQfinish(job->pg);
        free(job);
        if (conn->free_after_job)
            pg_conn_free(conn);
        connector_kick(connector);
        return;
    }
    if (job->pg == NULL) {
        bool fatal = job->result.fatal;
        snprintf(conn->problem, sizeof(conn->problem), "%s", job->error);
        free(job);
        setup_failed(conn, fatal);
        return;
    }

    conn->pg = job->pg;
    const char *problem = NULL;
    if (PQsetnonblocking(conn->pg, 1) != 0) {
        problem = "cannot make the connection non-blocking";
    } else {
        conn->watch_events = TRELLIS_WATCH_READ;
        conn->watch = h->watch_new(sh->ctx, PQsocket(conn->pg), conn->watch_events, on_fd, conn);
        if (conn->watch == NULL)
            problem = "cannot watch the connection's socket";
    }
    if (problem != NULL) {
        snprintf(conn->problem, sizeof(conn->problem), "%s", problem);
        PQfinish(conn->pg);
        conn->pg = NULL;
        free(job);
        setup_failed(conn, false);
        return;
    }
    int v = job->server_version;
    h->log(sh->ctx, TRELLIS_LOG_INFO, "connected",
           "%s: connected to postgres %s (server %d.%d, set up in %.1f ms%s)", conn->name,
           sh->target, v / 10000, v % 10000, (double)job->took_ns / 1e6,
           conn->failures ? ", after failed attempts" : "");
    if (sh->schema_checked != NULL)
        sh->schema_checked(sh->schema_arg, &job->result.schema, job->result.raised_sync_commit);
    free(job);
    conn->state = PG_CONN_UP;
    conn->failures = 0;
    conn->problem[0] = '\0';
    conn->logged_problem[0] = '\0';
    connector_kick(connector);
    conn->events->up(conn->owner, conn);
}

static void setup_finished(void *arg)
{
    setup_job *job = arg;
    job->took_ns = job->conn->shared->host->monotonic_ns() - job->started_ns;
    setup_done(job);
}

static void connector_kick(pg_connector *c)
{
    while (c->running == NULL && c->head != NULL) {
        pg_conn *conn = c->head;
        c->head = conn->queue_next;
        if (c->head == NULL)
            c->tail = NULL;
        conn->queued = false;
        conn->queue_next = NULL;

        setup_job *job = calloc(1, sizeof(*job));
        if (job == NULL) {
            conn->failures++;
            snprintf(conn->problem, sizeof(conn->problem), "out of memory");
            schedule_retry(conn);
            continue;
        }
        const pg_conn_shared *sh = conn->shared;
        job->conn = conn;
        conninfo_params_build(&job->params, sh->conninfo, sh->connect_timeout_ms);
        job->session = (session_params){.schema = sh->schema,
                                        .channel = sh->channel,
                                        .role = conn->role,
                                        .statement_timeout_ms = conn->statement_timeout_ms};
        job->started_ns = c->host->monotonic_ns();
        trellis_status st = c->host->offload(c->ctx, setup_work, setup_finished, job);
        if (st != TRELLIS_OK) {
            free(job);
            conn->failures++;
            snprintf(conn->problem, sizeof(conn->problem),
                     "the host's offload queue refused the connection job (status %d)", (int)st);
            schedule_retry(conn);
            continue;
        }
        conn->job_running = true;
        c->running = conn;
    }
}

/* ---- life ---- */

static void on_retry(void *arg)
{
    pg_conn *conn = arg;
    if (conn->state != PG_CONN_WAITING)
        return;
    conn->state = PG_CONN_CONNECTING;
    connector_enqueue(conn->shared->connector, conn);
}

static void conn_fail(pg_conn *conn, const char *why);

static void on_query_timeout(void *arg)
{
    pg_conn *conn = arg;
    char why[128];
    snprintf(why, sizeof(why), "no answer within %llu ms; dropping the connection",
             (unsigned long long)conn->timeout_ms);
    conn_fail(conn, why);
}

static void on_pending_failure(void *arg)
{
    pg_conn *conn = arg;
    char why[sizeof(conn->pending_failure)];
    snprintf(why, sizeof(why), "%s", conn->pending_failure);
    conn_fail(conn, why);
}

pg_conn *pg_conn_new(const pg_conn_shared *shared, const char *name, pg_role role,
                     uint64_t statement_timeout_ms, const pg_conn_events *events, void *owner)
{
    pg_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL)
        return NULL;
    const trellis_host *h = shared->host;
    conn->shared = shared;
    snprintf(conn->name, sizeof(conn->name), "%s", name);
    conn->role = role;
    conn->statement_timeout_ms = statement_timeout_ms;
    conn->events = events;
    conn->owner = owner;
    conn->state = PG_CONN_WAITING;
    conn->jitter_state = (uint32_t)(h->monotonic_ns() ^ (uintptr_t)conn) | 1u;
    snprintf(conn->problem, sizeof(conn->problem), "not connected yet");
    conn->retry_timer = h->timer_new(shared->ctx, on_retry, conn);
    conn->query_timer = h->timer_new(shared->ctx, on_query_timeout, conn);
    conn->fail_timer = h->timer_new(shared->ctx, on_pending_failure, conn);
    if (conn->retry_timer == NULL || conn->query_timer == NULL || conn->fail_timer == NULL) {
        h->timer_free(conn->retry_timer);
        h->timer_free(conn->query_timer);
        h->timer_free(conn->fail_timer);
        free(conn);
        return NULL;
    }
    return conn;
}

void pg_conn_start(pg_conn *conn)
{
    if (conn->state != PG_CONN_WAITING)
        return;
    conn->shared->host->timer_stop(conn->retry_timer);
    conn->state = PG_CONN_CONNECTING;
    snprintf(conn->problem, sizeof(conn->problem), "connecting");
    connector_enqueue(conn->shared->connector, conn);
}

/* Takes the statement in flight off the connection and answers it LOST. */
static void answer_lost(pg_conn *conn, const char *why)
{
    if (!conn->busy)
        return;
    pg_reply_fn done = conn->done;
    void *arg = conn->done_arg;
    conn->busy = false;
    conn->flushing = false;
    conn->done = NULL;
    PQclear(conn->last_result);
    PQclear(conn->error_result);
    conn->last_result = NULL;
    conn->error_result = NULL;
    pg_reply reply = {.kind = PG_REPLY_LOST, .message = why, .sqlstate = ""};
    done(arg, &reply);
}

static void drop_pgconn(pg_conn *conn)
{
    const trellis_host *h = conn->shared->host;
    h->timer_stop(conn->query_timer);
    h->timer_stop(conn->fail_timer);
    if (conn->watch != NULL) {
        h->watch_free(conn->watch);
        conn->watch = NULL;
    }
    if (conn->pg != NULL) {
        PQfinish(conn->pg);
        conn->pg = NULL;
    }
}

static void conn_fail(pg_conn *conn, const char *why)
{
    if (conn->state != PG_CONN_UP)
        return;
    /* `why` may be libpq's own message, which PQfinish frees. */
    snprintf(conn->problem, sizeof(conn->problem), "%s", why);
    drop_pgconn(conn);
    conn->failures = 1;
    pg_message_flatten(conn->problem);
    if (conn->shared->reconnects != NULL)
        conn->shared->host->metric_add(conn->shared->reconnects, 1);
    log_failure(conn, "connection_lost", "lost the connection to");
    schedule_retry(conn);
    char copy[sizeof(conn->problem)];
    snprintf(copy, sizeof(copy), "%s", conn->problem);
    answer_lost(conn, copy);
    if (conn->state != PG_CONN_CLOSED)
        conn->events->down(conn->owner, conn, copy);
}

void pg_conn_fail(pg_conn *conn, const char *why)
{
    conn_fail(conn, why);
}

void pg_conn_close(pg_conn *conn)
{
    if (conn == NULL || conn->state == PG_CONN_CLOSED)
        return;
    const trellis_host *h = conn->shared->host;
    conn->state = PG_CONN_CLOSED;
    connector_remove(conn->shared->connector, conn);
    h->timer_stop(conn->retry_timer);
    drop_pgconn(conn);
    snprintf(conn->problem, sizeof(conn->problem), "closed");
    answer_lost(conn, "the store is shutting down");
}

void pg_conn_free(pg_conn *conn)
{
    if (conn == NULL)
        return;
    pg_conn_close(conn);
    if (conn->job_running) {
        conn->free_after_job = true; /* setup_done frees it */
        return;
    }
    const trellis_host *h = conn->shared->host;
    h->timer_free(conn->retry_timer);
    h->timer_free(conn->query_timer);
    h->timer_free(conn->fail_timer);
    free(conn);
}

/* ---- state ---- */

pg_conn_state pg_conn_get_state(const pg_conn *conn)
{
    return conn->state;
}

bool pg_conn_idle(const pg_conn *conn)
{
    return conn->state == PG_CONN_UP && !conn->busy;
}

const char *pg_conn_problem(const pg_conn *conn)
{
    return conn->state == PG_CONN_UP ? "" : conn->problem;
}

PGconn *pg_conn_get0_pgconn(pg_conn *conn)
{
    return conn->state == PG_CONN_UP ? conn->pg : NULL;
}

/* ---- statements ---- */

static void set_watch(pg_conn *conn, unsigned events)
{
    if (conn->watch != NULL && events != conn->watch_events) {
        conn->shared->host->watch_update(conn->watch, events);
        conn->watch_events = events;
    }
}

/* Fails the connection from a fresh callback (never inside the caller's). */
static void fail_later(pg_conn *conn, const char *why)
{
    snprintf(conn->pending_failure, sizeof(conn->pending_failure), "%s", why);
    pg_message_flatten(conn->pending_failure);
    conn->shared->host->timer_start(conn->fail_timer, 0, false);
}

bool pg_conn_send(pg_conn *conn, const char *statement, int param_count,
                  const char *const *values, const int *lengths, const int *formats,
                  int result_format, uint64_t timeout_ms, pg_reply_fn done, void *arg)
{
    if (!pg_conn_idle(conn))
        return false;
    conn->busy = true;
    conn->flushing = false;
    conn->done = done;
    conn->done_arg = arg;
    conn->timeout_ms = timeout_ms;
    conn->session_ending_error = false;
    if (timeout_ms > 0)
        conn->shared->host->timer_start(conn->query_timer, timeout_ms, false);
    if (!PQsendQueryPrepared(conn->pg, statement, param_count, values, lengths, formats,
                             result_format)) {
        fail_later(conn, PQerrorMessage(conn->pg));
        return true;
    }
    int flushed = PQflush(conn->pg);
    if (flushed < 0) {
        fail_later(conn, PQerrorMessage(conn->pg));
    } else if (flushed > 0) {
        /* The rest goes out as the socket drains; meanwhile keep reading so
         * the server is never stuck writing to us. */
        conn->flushing = true;
        set_watch(conn, TRELLIS_WATCH_READ | TRELLIS_WATCH_WRITE);
    }
    return true;
}

static bool is_session_ending(const PGresult *res)
{
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    return severity != NULL && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0);
}

static void collect(pg_conn *conn, PGresult *res)
{
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
        PQclear(conn->last_result);
        conn->last_result = res;
        return;
    default:
        if (is_session_ending(res))
            conn->session_ending_error = true;
        if (conn->error_result == NULL) {
            conn->error_result = res;
            return;
        }
        PQclear(res);
        return;
    }
}

/* The server is ready for the next statement: answer this one. */
static void finish(pg_conn *conn)
{
    conn->shared->host->timer_stop(conn->query_timer);
    if (conn->session_ending_error || PQstatus(conn->pg) != CONNECTION_OK) {
        /* A FATAL ends the session; whatever the statement did is not
         * reliably reported: treat as lost. */
        char why[512];
        snprintf(why, sizeof(why), "%s",
                 conn->error_result ? PQresultErrorMessage(conn->error_result)
                                    : PQerrorMessage(conn->pg));
        conn_fail(conn, why);
        return;
    }
    PGresult *result = conn->last_result;
    PGresult *error = conn->error_result;
    pg_reply_fn done = conn->done;
    void *arg = conn->done_arg;
    conn->last_result = NULL;
    conn->error_result = NULL;
    conn->busy = false;
    conn->done = NULL;
    char message[512] = "";
    pg_reply reply = {.kind = PG_REPLY_OK, .result = result, .message = "", .sqlstate = ""};
    if (error != NULL) {
        snprintf(message, sizeof(message), "%s", PQresultErrorMessage(error));
        pg_message_flatten(message);
        const char *state = PQresultErrorField(error, PG_DIAG_SQLSTATE);
        reply = (pg_reply){.kind = PG_REPLY_ERROR,
                           .message = message,
                           .sqlstate = state ? state : ""};
    } else if (result == NULL) {
        reply = (pg_reply){.kind = PG_REPLY_ERROR, .message = "the server sent no result",
                           .sqlstate = ""};
    }
    done(arg, &reply);
    PQclear(result);
    PQclear(error);
}

static void on_fd(int fd, unsigned events, void *arg)
{
    (void)fd;
    pg_conn *conn = arg;
    if (conn->state != PG_CONN_UP)
        return;
    if ((events & TRELLIS_WATCH_READ) && !PQconsumeInput(conn->pg)) {
        conn_fail(conn, PQerrorMessage(conn->pg));
        return;
    }
    if (conn->flushing) {
        int flushed = PQflush(conn->pg);
        if (flushed < 0) {
            conn_fail(conn, PQerrorMessage(conn->pg));
            return;
        }
        if (flushed == 0) {
            conn->flushing = false;
            set_watch(conn, TRELLIS_WATCH_READ);
        }
    }
    if (conn->busy && !conn->flushing) {
        while (conn->state == PG_CONN_UP && conn->busy && !PQisBusy(conn->pg)) {
            PGresult *res = PQgetResult(conn->pg);
            if (res == NULL) {
                finish(conn);
                break; /* a reply callback may have sent the next statement */
            }
            collect(conn, res);
        }
    }
    if (conn->state == PG_CONN_UP && PQstatus(conn->pg) != CONNECTION_OK) {
        conn_fail(conn, PQerrorMessage(conn->pg));
        return;
    }
    if (conn->state == PG_CONN_UP && conn->events->input != NULL)
        conn->events->input(conn->owner, conn);
}
