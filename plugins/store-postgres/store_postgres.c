/*
 * store.postgres — the catalog in PostgreSQL, shared by several trellis
 * replicas. See README.md for the design and the guarantees.
 *
 * This file is the plugin glue: the descriptor, configuration, lifecycle,
 * readiness and metrics. writer.c commits, reader.c reads, listener.c
 * follows other replicas, pg_conn.c keeps each connection alive, session.c
 * and schema.c set connections and the schema up.
 */
#include "store_postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "conninfo.h"
#include "listener.h"
#include "reader.h"
#include "writer.h"

/* The recent change feed kept in memory (change_cache.h): enough for a
 * catch-up between replicas taking thousands of writes a second. */
#define CHANGE_CACHE_MAX_CHANGES 16384
#define CHANGE_CACHE_MAX_BYTES (32u << 20)

bool pg_sqlstate_transient(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return false;
    /* 08 connection, 53 insufficient resources, 57 operator intervention
     * (statement timeout, shutdown), 58 system error, 40 serialization and
     * deadlock, 55P03 lock timeout, 25006 read-only (now a standby). */
    return strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "53", 2) == 0 ||
           strncmp(sqlstate, "57", 2) == 0 || strncmp(sqlstate, "58", 2) == 0 ||
           strncmp(sqlstate, "40", 2) == 0 || strcmp(sqlstate, "55P03") == 0 ||
           strcmp(sqlstate, "25006") == 0;
}

/* ---- readiness ---- */

void store_pg_update_readiness(store_pg *s)
{
    if (!s->started || s->stop_reported)
        return;
    bool ready = false;
    char detail[sizeof(s->ready_detail)];
    unsigned up = (writer_ready(s->writer) ? 1u : 0u) + (listener_ready(s->listener) ? 1u : 0u) +
                  reader_pool_up(s->readers);
    s->host->metric_set(s->metrics.connections_up, (double)up);
    if (s->fatal) {
        snprintf(detail, sizeof(detail), "%s", s->fatal_reason);
    } else if (!writer_ready(s->writer)) {
        snprintf(detail, sizeof(detail), "postgres %s: commits: %s", s->target,
                 writer_problem(s->writer));
    } else if (!listener_ready(s->listener)) {
        snprintf(detail, sizeof(detail), "postgres %s: listen: %s", s->target,
                 listener_problem(s->listener));
    } else if (reader_pool_up(s->readers) == 0) {
        snprintf(detail, sizeof(detail), "postgres %s: reads: %s", s->target,
                 reader_pool_problem(s->readers));
    } else {
        ready = true;
        detail[0] = '\0';
    }
    if (s->readiness_known && ready == s->ready && strcmp(detail, s->ready_detail) == 0)
        return;
    bool changed = !s->readiness_known || ready != s->ready;
    s->readiness_known = true;
    s->ready = ready;
    snprintf(s->ready_detail, sizeof(s->ready_detail), "%s", detail);
    s->host->set_ready(s->ctx, ready, detail);
    if (changed) {
        if (ready)
            s->host->log(s->ctx, TRELLIS_LOG_INFO, "ready", "connected to postgres %s",
                         s->target);
        else
            s->host->log(s->ctx, TRELLIS_LOG_WARN, "not_ready", "%s", detail);
    }
}

void store_pg_saw_revision(store_pg *s, uint64_t revision)
{
    if (revision <= s->newest_revision)
        return;
    s->newest_revision = revision;
    s->host->metric_set(s->metrics.revision, (double)revision);
}

/* ---- conditions retrying cannot fix ---- */

static void on_fatal(void *arg, const char *why)
{
    store_pg *s = arg;
    if (s->fatal)
        return;
    s->fatal = true;
    snprintf(s->fatal_reason, sizeof(s->fatal_reason), "%s", why);
    s->host->log(s->ctx, TRELLIS_LOG_ERROR, "refused",
                 "postgres %s: %s. The store stays unavailable until trellis is restarted",
                 s->target, why);
    char message[700];
    snprintf(message, sizeof(message), "the store is unavailable: %s", why);
    writer_close(s->writer, message);
    reader_pool_close(s->readers, message);
    listener_close(s->listener);
    change_cache_invalidate(&s->changes);
    store_pg_update_readiness(s);
}

static void on_schema_checked(void *arg, const schema_result *result, bool raised_sync_commit)
{
    store_pg *s = arg;
    if (result->applied > 0) {
        s->host->log(s->ctx, TRELLIS_LOG_INFO, "schema_migrated",
                     "schema \"%s\" migrated from version %d to %d", s->settings.schema,
                     result->found_version, result->found_version + result->applied);
    } else if (!s->schema_logged) {
        s->host->log(s->ctx, TRELLIS_LOG_INFO, "schema_current", "schema \"%s\" is at version %d",
                     s->settings.schema, result->found_version);
    }
    if (raised_sync_commit && !s->schema_logged)
        s->host->log(s->ctx, TRELLIS_LOG_WARN, "synchronous_commit",
                     "synchronous_commit is off for this database or role; store.postgres turns "
                     "it on for its own sessions so that a commit is flushed before it is "
                     "acknowledged");
    s->schema_logged = true;
}

/* ---- metrics ---- */

static void create_metrics(store_pg *s)
{
    const trellis_host *h = s->host;
    pg_metrics *m = &s->metrics;
    static const double batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
    static const double second_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                            0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define COUNTER(field, name, help)                                                             \
    m->field = h->metric_new(s->ctx, TRELLIS_METRIC_COUNTER, name, help, NULL, NULL, 0)
#define GAUGE(field, name, help)                                                               \
    m->field = h->metric_new(s->ctx, TRELLIS_METRIC_GAUGE, name, help, NULL, NULL, 0)
    COUNTER(commits, "trellis_store_postgres_commits_total", "Commits acknowledged.");
    COUNTER(conflicts, "trellis_store_postgres_conflicts_total",
            "Commits refused because a condition failed in the database.");
    COUNTER(unavailable, "trellis_store_postgres_unavailable_total",
            "Commits answered unavailable (nothing applied).");
    COUNTER(unknown, "trellis_store_postgres_outcome_unknown_total",
            "Commits answered 'outcome unknown' at their deadline.");
    COUNTER(resolved, "trellis_store_postgres_outcomes_resolved_total",
            "Commits whose outcome was looked up after a lost connection.");
    COUNTER(batches, "trellis_store_postgres_batches_total",
            "commit_batch round trips (each one transaction and one WAL flush).");
    COUNTER(reads, "trellis_store_postgres_reads_total",
            "read_all and read_changes answered by the database.");
    COUNTER(cached_reads, "trellis_store_postgres_cached_reads_total",
            "read_changes answered from the recent changes held in memory.");
    COUNTER(notifications, "trellis_store_postgres_notifications_total",
            "Notifications of commits by other replicas.");
    COUNTER(reconnects, "trellis_store_postgres_connection_failures_total",
            "Connections lost or attempts that failed.");
    GAUGE(connections_up, "trellis_store_postgres_connections_up",
          "Connections up (commits, listen, reads).");
    GAUGE(pending, "trellis_store_postgres_pending_commits", "Commits accepted, not answered.");
    GAUGE(revision, "trellis_store_postgres_revision", "Newest revision seen in the database.");
#undef COUNTER
#undef GAUGE
    m->batch_commits = h->metric_new(s->ctx, TRELLIS_METRIC_HISTOGRAM,
                                     "trellis_store_postgres_batch_commits", "Commits per batch.",
                                     NULL, batch_buckets,
                                     sizeof(batch_buckets) / sizeof(batch_buckets[0]));
    m->batch_seconds = h->metric_new(
        s->ctx, TRELLIS_METRIC_HISTOGRAM, "trellis_store_postgres_batch_seconds",
        "Round trip of one commit batch, the durable flush included.", NULL, second_buckets,
        sizeof(second_buckets) / sizeof(second_buckets[0]));
}

/* ---- lifecycle ---- */

static trellis_status pg_check_config(const trellis_host *host, const trellis_config *config,
                                      trellis_error *err)
{
    return pg_settings_check(host, config, err);
}

static void pg_destroy(void *instance);

static trellis_status pg_create(const trellis_host *host, trellis_host_ctx *ctx,
                                const trellis_config *config, void **instance_out,
                                trellis_error *err)
{
    store_pg *s = calloc(1, sizeof(*s));
    if (s == NULL || !pg_settings_load(&s->settings, host, config)) {
        free(s);
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    s->host = host;
    s->ctx = ctx;
    conninfo_describe(s->settings.conninfo, s->target, sizeof(s->target));
    uint8_t random[8];
    if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
        pg_settings_free(&s->settings);
        free(s);
        host->error_set(err, NULL, "no randomness for the instance's notification tag");
        return TRELLIS_ERR;
    }
    for (size_t i = 0; i < sizeof(random); i++)
        snprintf(s->notify_tag + 2 * i, 3, "%02x", random[i]);
    create_metrics(s);
    change_cache_init(&s->changes, CHANGE_CACHE_MAX_CHANGES, CHANGE_CACHE_MAX_BYTES);
    s->connector = pg_connector_new(host, ctx);
    s->shared = (pg_conn_shared){
        .host = host,
        .ctx = ctx,
        .conninfo = s->settings.conninfo,
        .target = s->target,
        .schema = s->settings.schema,
        .channel = s->settings.channel,
        .connect_timeout_ms = s->settings.connect_timeout_ms,
        .reconnect_min_ms = s->settings.reconnect_min_ms,
        .reconnect_max_ms = s->settings.reconnect_max_ms,
        .connector = s->connector,
        .fatal = on_fatal,
        .fatal_arg = s,
        .schema_checked = on_schema_checked,
        .schema_arg = s,
        .reconnects = s->metrics.reconnects,
    };
    if (s->connector != NULL) {
        s->writer = writer_new(s);
        s->readers = reader_pool_new(s);
        s->listener = listener_new(s);
    }
    if (s->connector == NULL || s->writer == NULL || s->readers == NULL || s->listener == NULL) {
        pg_destroy(s);
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    *instance_out = s;
    return TRELLIS_OK;
}

static trellis_status pg_start(void *instance, trellis_error *err)
{
    store_pg *s = instance;
    (void)err;
    s->started = true;
    s->host->log(s->ctx, TRELLIS_LOG_INFO, "starting",
                 "postgres %s, schema \"%s\", channel \"%s\", %u read connections",
                 s->target, s->settings.schema, s->settings.channel, s->settings.pool_size);
    /* The writer's setup runs first (one setup job at a time): it creates
     * or migrates the schema before the others look at it. */
    writer_start(s->writer);
    listener_start(s->listener);
    reader_pool_start(s->readers);
    store_pg_update_readiness(s);
    return TRELLIS_OK;
}

static bool drained(const store_pg *s)
{
    return writer_drained(s->writer) && reader_pool_drained(s->readers);
}

static void close_all(store_pg *s, const char *why)
{
    writer_close(s->writer, why);
    reader_pool_close(s->readers, why);
    listener_close(s->listener);
}

void store_pg_check_drained(store_pg *s)
{
    if (!s->stopping || s->stop_reported || !drained(s))
        return;
    s->stop_reported = true;
    close_all(s, "the store is shutting down");
    s->host->stopped(s->ctx);
}

static trellis_status pg_stop(void *instance)
{
    store_pg *s = instance;
    s->stopping = true;
    writer_stop(s->writer);
    reader_pool_stop(s->readers);
    if (!drained(s))
        return TRELLIS_AGAIN; /* store_pg_check_drained() reports host->stopped() */
    s->stop_reported = true;
    close_all(s, "the store is shutting down");
    return TRELLIS_OK;
}

static void pg_destroy(void *instance)
{
    store_pg *s = instance;
    /* Answers whatever is still open (a stop that timed out). */
    s->stop_reported = true;
    writer_free(s->writer);
    reader_pool_free(s->readers);
    listener_free(s->listener);
    pg_connector_free(s->connector);
    change_cache_free(&s->changes);
    pg_settings_free(&s->settings);
    free(s);
}

static const trellis_plugin_descriptor store_postgres_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER,
    .name = "store.postgres",
    .version = TRELLIS_PLUGIN_VERSION,
    .summary = "PostgreSQL store: several trellis replicas share one database (LISTEN/NOTIFY)",
    .kind = TRELLIS_KIND_STORE,
    .ops = &store_postgres_ops,
    .config_schema = store_postgres_schema,
    .check_config = pg_check_config,
    .create = pg_create,
    .start = pg_start,
    .stop = pg_stop,
    .destroy = pg_destroy,
};

TRELLIS_PLUGIN_ENTRY(store_postgres_descriptor)
