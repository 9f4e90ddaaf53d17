/*
 * One PostgreSQL connection of the store, kept alive.
 *
 * Connecting (DNS, TLS, authentication) and session setup (session.h: the
 * schema check and migrations, prepared statements, LISTEN) are blocking
 * libpq calls, so they run as a job on the host's offload pool; the store's
 * connector runs one such job at a time so a database that is down never
 * ties up more than one host worker. Once set up, the connection is driven
 * from the loop thread in libpq's non-blocking mode through a host fd watch:
 * PQsendQueryPrepared, PQflush while the socket takes more, PQconsumeInput
 * and PQgetResult as answers arrive. One statement at a time.
 *
 * When the connection fails (an I/O error, the server ending the session,
 * a statement outliving its client-side timeout, pg_conn_fail()), the
 * statement in flight is answered PG_REPLY_LOST, the owner hears `down`, and
 * a reconnection is scheduled after a backoff that doubles per failed
 * attempt (reconnect_min_ms .. reconnect_max_ms, with jitter).
 *
 * Loop thread only, except the setup job's work().
 */
#ifndef STORE_POSTGRES_PG_CONN_H
#define STORE_POSTGRES_PG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <trellis/plugin.h>

#include "session.h"

typedef struct pg_conn pg_conn;
typedef struct pg_connector pg_connector;

typedef enum pg_conn_state {
    PG_CONN_WAITING = 0,    /* backoff before the next attempt */
    PG_CONN_CONNECTING = 1, /* queued for, or in, the setup job */
    PG_CONN_UP = 2,         /* set up; idle or running a statement */
    PG_CONN_CLOSED = 3      /* stopped for good (pg_conn_close) */
} pg_conn_state;

typedef enum pg_reply_kind {
    /* Every result arrived and the server is ready for the next statement:
     * the statement, and the implicit transaction around it, finished. */
    PG_REPLY_OK = 0,
    /* The server answered with an ERROR and the session goes on: the
     * statement's transaction rolled back, nothing of it applied. */
    PG_REPLY_ERROR = 1,
    /* The connection failed after the statement was handed to libpq: it
     * may or may not have run, and may still be running. */
    PG_REPLY_LOST = 2
} pg_reply_kind;

typedef struct pg_reply {
    pg_reply_kind kind;
    const PGresult *result; /* OK: the statement's (last) result; borrowed */
    const char *message;    /* ERROR / LOST: one line */
    const char *sqlstate;   /* ERROR: the SQLSTATE, or "" */
} pg_reply;

typedef void (*pg_reply_fn)(void *arg, const pg_reply *reply);

/* What the owner (writer, reader pool, listener) hears. Called on the loop. */
typedef struct pg_conn_events {
    void (*up)(void *owner, pg_conn *conn);                   /* set up and idle */
    void (*down)(void *owner, pg_conn *conn, const char *why); /* lost or failed to set up */
    void (*input)(void *owner, pg_conn *conn);                /* bytes arrived (notifications) */
} pg_conn_events;

/* Shared by every connection of one store instance. */
typedef struct pg_conn_shared {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    const char *conninfo;     /* borrowed from the settings */
    const char *target;       /* log-safe description of the server */
    const char *schema;
    const char *channel;
    uint64_t connect_timeout_ms;
    uint64_t reconnect_min_ms;
    uint64_t reconnect_max_ms;
    pg_connector *connector;
    /* Called when a setup finds a condition retrying cannot fix (a schema
     * newer than this build knows); the store stops every connection. */
    void (*fatal)(void *arg, const char *why);
    void *fatal_arg;
    /* Called after each successful setup with what the schema check did. */
    void (*schema_checked)(void *arg, const schema_result *result, bool raised_sync_commit);
    void *schema_arg;
    trellis_metric *reconnects; /* counter; may be NULL */
} pg_conn_shared;

/* One setup job at a time per store. */
pg_connector *pg_connector_new(const trellis_host *host, trellis_host_ctx *ctx);
void pg_connector_free(pg_connector *connector);

/* `name` names the connection in logs ("commits", "reads 1", "listen"). */
pg_conn *pg_conn_new(const pg_conn_shared *shared, const char *name, pg_role role,
                     uint64_t statement_timeout_ms, const pg_conn_events *events, void *owner);
/* Starts connecting (at once; later attempts follow the backoff). */
void pg_conn_start(pg_conn *conn);
/* Closes for good: a statement in flight is answered LOST; no reconnect;
 * no event afterwards. A setup job still running finishes and its
 * connection is closed. Safe to call twice. */
void pg_conn_close(pg_conn *conn);
/* Frees a closed connection (after its setup job, if any, finished). */
void pg_conn_free(pg_conn *conn);

pg_conn_state pg_conn_get_state(const pg_conn *conn);
/* Up and no statement in flight. */
bool pg_conn_idle(const pg_conn *conn);
/* Why the connection is not up ("" when up). Borrowed. */
const char *pg_conn_problem(const pg_conn *conn);
/* The libpq connection while up (notifications: PQnotifies), else NULL. */
PGconn *pg_conn_get0_pgconn(pg_conn *conn);

/*
 * Sends a prepared statement. Parameters as for PQsendQueryPrepared (libpq
 * copies them before returning). `timeout_ms` > 0 bounds the wait for the
 * answer: past it the connection is dropped and the reply is LOST. `done`
 * runs exactly once, later, on the loop thread — unless this returns false
 * (the connection is not idle, or libpq refused: the connection then fails).
 */
bool pg_conn_send(pg_conn *conn, const char *statement, int param_count,
                  const char *const *values, const int *lengths, const int *formats,
                  int result_format, uint64_t timeout_ms, pg_reply_fn done, void *arg);

/* Drops the connection now, as if it had failed ("why" is logged): the
 * statement in flight is answered LOST and a reconnect is scheduled. */
void pg_conn_fail(pg_conn *conn, const char *why);

#endif
