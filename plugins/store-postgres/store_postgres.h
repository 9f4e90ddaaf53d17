/*
 * store.postgres's instance and what its parts share.
 *
 *   writer    commits: one connection, group commit, outcome resolution
 *   readers   read_all / read_changes: a bounded pool of connections
 *   listener  LISTEN/NOTIFY and the keepalive that backs it up
 *
 * Every part keeps its own connections alive (pg_conn.h); the instance
 * reports itself ready while the writer, the listener and at least one
 * reader are connected, and not ready (with the reason) otherwise.
 */
#ifndef STORE_POSTGRES_STORE_POSTGRES_H
#define STORE_POSTGRES_STORE_POSTGRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>
#include <trellis/store.h>

#include "change_cache.h"
#include "pg_conn.h"
#include "settings.h"

typedef struct writer writer;
typedef struct reader_pool reader_pool;
typedef struct listener listener;

typedef struct pg_metrics {
    trellis_metric *commits;        /* counter: acknowledged */
    trellis_metric *conflicts;      /* counter */
    trellis_metric *unavailable;    /* counter: commits answered unavailable */
    trellis_metric *unknown;        /* counter: answered "outcome unknown" at the deadline */
    trellis_metric *resolved;       /* counter: outcomes found after a lost connection */
    trellis_metric *batches;        /* counter: commit_batch round trips */
    trellis_metric *batch_commits;  /* histogram: commits per batch */
    trellis_metric *batch_seconds;  /* histogram: one round trip, commit flush included */
    trellis_metric *reads;          /* counter: answered by the database */
    trellis_metric *cached_reads;   /* counter: read_changes answered from memory */
    trellis_metric *notifications;  /* counter: notifications from other replicas */
    trellis_metric *reconnects;     /* counter: failed or lost connections */
    trellis_metric *connections_up; /* gauge */
    trellis_metric *pending;        /* gauge: commits accepted, not answered */
    trellis_metric *revision;       /* gauge: newest revision seen */
} pg_metrics;

typedef struct store_pg {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    pg_settings settings;
    char target[512];      /* the server, safe to log (conninfo.h) */
    char notify_tag[24];   /* this instance's mark on its notifications */

    pg_connector *connector;
    pg_conn_shared shared;
    writer *writer;
    reader_pool *readers;
    listener *listener;

    bool started;
    bool stopping;
    bool stop_reported;
    bool fatal;            /* a condition retrying cannot fix: see fatal_reason */
    char fatal_reason[640];
    bool schema_logged;

    uint64_t newest_revision; /* the newest revision known to exist (gauge) */
    change_cache changes;     /* the recent change feed (change_cache.h) */

    bool readiness_known;
    bool ready;
    char ready_detail[768];

    pg_metrics metrics;
} store_pg;

extern const trellis_store_ops store_postgres_ops;

/* Re-evaluates readiness and tells the host when it changed. */
void store_pg_update_readiness(store_pg *s);
/* While stopping: reports host->stopped() once nothing is in flight. */
void store_pg_check_drained(store_pg *s);
/* A revision known to be committed (notification, commit, read): the
 * newest one bounds what the change cache may answer. */
void store_pg_saw_revision(store_pg *s, uint64_t revision);

/* SQLSTATEs that mean "try again later" rather than "this failed". */
bool pg_sqlstate_transient(const char *sqlstate);

#endif
