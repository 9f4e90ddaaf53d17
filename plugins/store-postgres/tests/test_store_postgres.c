/*
 * store.postgres against a real PostgreSQL server (run under
 * tests/integration/pg_cluster.py, which provides PGHOST/PGPORT/PGUSER/
 * PGDATABASE and TRELLIS_TEST_PG_CONNINFO), through the real host
 * (tests/support/plugin_harness), with a fault-injecting TCP proxy
 * (tcp_proxy.h) between the plugin and the server where a case needs one.
 *
 *   schema_created          a fresh schema is created at the current version
 *   migrates_forward        a version-1 schema with data is migrated, data kept
 *   refuses_newer_schema    a newer schema: not ready, said why, nothing served
 *   two_instances           replicas on one schema: notifications (not of
 *                           one's own commits), change feed, conflicting
 *                           commits decided in the database (exactly one wins)
 *   change_cache            read_changes answered from the changes a commit
 *                           brought back, the same as the database would, and
 *                           not once a newer revision is known
 *   outcome_committed       answer lost after the commit applied -> OK + revision
 *   outcome_not_committed   connection lost while the commit waited -> a
 *                           tombstone; UNAVAILABLE; the late commit fails
 *   partition_deadline      a partition: IO "outcome unknown" at the deadline,
 *                           looked up once the network is back
 *   server_timeout          a commit stuck behind a lock: the server cancels
 *                           it, UNAVAILABLE before the deadline
 *   reconnect               connections dropped: not ready, refused commits,
 *                           reconnected, the core told to catch up
 *   secrets_not_logged      the password never reaches a log line
 *   read_changes_ahead      a revision beyond the database's: NOT_FOUND
 *   limits                  max_pending_commits
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "plugin_harness.h"
#include "schema.h"
#include "store_client.h"
#include "tcp_proxy.h"
#include "test_check.h"

static const char *plugin_dir;
static const char *conninfo;   /* direct to the server */
static char proxy_conninfo[512];

/* ---- the test's own connection ---- */

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *db_connect(void)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to the test server: %s\n", PQerrorMessage(c));
        exit(1);
    }
    PQsetNoticeProcessor(c, quiet, NULL); /* "schema ... does not exist, skipping" */
    return c;
}

static void db_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "SQL failed: %s\n  %s\n", sql, PQresultErrorMessage(r));
        CHECK(!"SQL failed");
    }
    PQclear(r);
}

/* The first column of the first row as an integer; -1 for none or NULL. */
static long long db_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "SQL failed: %s\n  %s\n", sql, PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

static void drop_schema(const char *schema)
{
    PGconn *c = db_connect();
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema);
    db_exec(c, sql);
    PQfinish(c);
}

/* ---- the plugin ---- */

static harness_instance *start_store(harness *h, const char *config)
{
    char err[2048];
    harness_instance *hi = harness_create(h, "store.postgres", config, err, sizeof(err));
    if (hi == NULL) {
        fprintf(stderr, "create: %s\n", err);
        CHECK(!"the store is created");
        return NULL;
    }
    if (!harness_start(hi, err, sizeof(err))) {
        fprintf(stderr, "start: %s\n", err);
        CHECK(!"the store starts");
        harness_stop(hi);
        return NULL;
    }
    return hi;
}

static bool is_ready(void *arg)
{
    return harness_ready(arg, NULL);
}

static bool is_not_ready(void *arg)
{
    return !harness_ready(arg, NULL);
}

static bool wait_ready(harness *h, harness_instance *hi)
{
    bool ok = harness_run_until(h, is_ready, hi, 10000);
    if (!ok) {
        const char *detail = "";
        harness_ready(hi, &detail);
        fprintf(stderr, "not ready: %s\n", detail);
    }
    return ok;
}

static char *config_for(const char *schema, const char *via, const char *extra)
{
    char *out = malloc(2048);
    snprintf(out, 2048, "{\"conninfo\":\"%s\",\"schema\":\"%s\"%s%s}", via ? via : "", schema,
             extra ? "," : "", extra ? extra : "");
    return out;
}

/* A log line containing `needle`, waiting for it up to `ms`. */
typedef struct log_wait {
    harness *h;
    const char *needle;
} log_wait;

static bool log_has(void *arg)
{
    log_wait *w = arg;
    return harness_log_contains(w->h, w->needle);
}

static bool wait_log(harness *h, const char *needle, uint64_t ms)
{
    log_wait w = {h, needle};
    return harness_run_until(h, log_has, &w, ms);
}

/* Polls a query (outside the loop) until it returns `want`. */
static bool wait_db_int(harness *h, PGconn *c, const char *sql, long long want, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        if (db_int(c, sql) == want)
            return true;
        harness_run_for(h, 10);
    }
    fprintf(stderr, "waited in vain for %lld from: %s (last %lld)\n", want, sql, db_int(c, sql));
    return false;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- notifications ---- */

typedef struct notified {
    int count;
} notified;

static void on_notify(void *arg)
{
    ((notified *)arg)->count++;
}

static bool notified_once(void *arg)
{
    return ((notified *)arg)->count > 0;
}

/* ---- cases ---- */

static void case_schema_created(harness *h)
{
    drop_schema("t_created");
    char *config = config_for("t_created", NULL, NULL);
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    CHECK(harness_log_contains(h, "migrated from version 0 to 2"));
    PGconn *c = db_connect();
    CHECK_INT(db_int(c, "SELECT max(version) FROM t_created.schema_version"), SCHEMA_VERSION);
    CHECK_INT(db_int(c, "SELECT count(*) FROM t_created.schema_version"), SCHEMA_VERSION);
    CHECK_INT(db_int(c, "SELECT revision FROM t_created.meta"), 0);
    harness_stop(hi);
    /* A second start finds it current. */
    harness_log_clear(h);
    hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    CHECK(harness_log_contains(h, "is at version 2"));
    harness_stop(hi);
    PQfinish(c);
    free(config);
}

static void case_migrates_forward(harness *h)
{
    drop_schema("t_forward");
    PGconn *c = db_connect();
    schema_result r;
    schema_ensure_version(c, "t_forward", 1, &r);
    CHECK_INT(r.outcome, SCHEMA_READY);
    CHECK_INT(r.applied, 1);
    /* Data written under version 1 (tables only). */
    db_exec(c, "INSERT INTO t_forward.records VALUES ('kept', 'old value', 3, 7)");
    db_exec(c, "INSERT INTO t_forward.changes VALUES (7, 'kept', 'old value', 3)");
    db_exec(c, "UPDATE t_forward.meta SET revision = 7, history_floor = 6");

    char *config = config_for("t_forward", NULL, NULL);
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    CHECK(harness_log_contains(h, "migrated from version 1 to 2"));
    CHECK_INT(db_int(c, "SELECT max(version) FROM t_forward.schema_version"), 2);
    store_client client = {0};
    store_client_bind(&client, h, hi);
    read_result all = store_read_all(&client);
    CHECK_INT(all.status, TRELLIS_OK);
    CHECK_INT(all.revision, 7);
    const read_record *kept = read_result_find(&all, "kept");
    CHECK(kept != NULL && kept->version == 3 && kept->revision == 7 &&
          strcmp(kept->value, "old value") == 0);
    read_result_free(&all);
    uint64_t rev = 0;
    CHECK_INT(store_commit1(&client, op_put("kept", "new value", 3), &rev), TRELLIS_OK);
    CHECK_INT(rev, 8);
    CHECK_INT(store_client_finish(&client), 0);
    harness_stop(hi);
    PQfinish(c);
    free(config);
}

static void case_refuses_newer_schema(harness *h)
{
    drop_schema("t_newer");
    char *config = config_for("t_newer", NULL, NULL);
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    harness_stop(hi);
    PGconn *c = db_connect();
    db_exec(c, "INSERT INTO t_newer.schema_version (version, description) "
               "VALUES (3, 'from a newer trellis')");
    harness_log_clear(h);
    hi = start_store(h, config);
    CHECK(wait_log(h, "event=refused", 10000));
    const char *detail = "";
    CHECK(!harness_ready(hi, &detail));
    CHECK_CONTAINS(detail, "is at version 3, newer than this trellis knows (2)");
    /* Nothing is served, nothing retried. */
    store_client client = {0};
    store_client_bind(&client, h, hi);
    CHECK_INT(store_commit1(&client, op_put("k", "v", TRELLIS_STORE_ABSENT), NULL),
              TRELLIS_ERR_UNAVAILABLE);
    read_result all = store_read_all(&client);
    CHECK_INT(all.status, TRELLIS_ERR_UNAVAILABLE);
    read_result_free(&all);
    harness_log_clear(h);
    harness_run_for(h, 500);
    CHECK(!harness_log_contains(h, "event=connected"));
    CHECK_INT(db_int(c, "SELECT count(*) FROM t_newer.records"), 0);
    CHECK_INT(store_client_finish(&client), 0);
    harness_stop(hi);
    PQfinish(c);
    free(config);
}

typedef struct race {
    commit_answer *a;
    commit_answer *b;
} race;

static void case_two_instances(harness *h)
{
    drop_schema("t_two");
    char *config = config_for("t_two", NULL, NULL);
    harness_instance *ha = start_store(h, config);
    harness_instance *hb = start_store(h, config);
    CHECK(ha && hb && wait_ready(h, ha) && wait_ready(h, hb));
    store_client a = {0}, b = {0};
    store_client_bind(&a, h, ha);
    store_client_bind(&b, h, hb);
    const trellis_store_ops *ops = harness_ops(ha);
    notified heard_a = {0}, heard_b = {0};
    ops->watch(harness_plugin_instance(ha), on_notify, &heard_a);
    ops->watch(harness_plugin_instance(hb), on_notify, &heard_b);
    harness_run_for(h, 100); /* the poke of watch() itself */
    heard_a.count = heard_b.count = 0;

    uint64_t rev = 0;
    CHECK_INT(store_commit1(&a, op_put("shared", "from a", TRELLIS_STORE_ABSENT), &rev),
              TRELLIS_OK);
    CHECK_INT(rev, 1);
    CHECK(harness_run_until(h, notified_once, &heard_b, 2000));
    harness_run_for(h, 100);
    CHECK_INT(heard_a.count, 0); /* its own commit: no notification */
    read_result changes = store_read_changes(&b, 0);
    CHECK_INT(changes.status, TRELLIS_OK);
    CHECK_INT(changes.revision, 1);
    CHECK(read_result_find(&changes, "shared") != NULL);
    read_result_free(&changes);

    /* Revisions are global: B's next commit is 2, with A's condition seen. */
    CHECK_INT(store_commit1(&b, op_put("shared", "from b", 1), &rev), TRELLIS_OK);
    CHECK_INT(rev, 2);
    CHECK_INT(store_commit1(&a, op_put("shared", "stale", 1), NULL), TRELLIS_ERR_CONFLICT);

    /* Races: the same key created from both, many times. */
    int a_won = 0, b_won = 0;
    for (int i = 0; i < 60; i++) {
        char key[32];
        snprintf(key, sizeof(key), "race/%d", i);
        trellis_store_op op = op_put(key, key, TRELLIS_STORE_ABSENT);
        commit_answer *x = store_commit_async(i % 2 ? &a : &b, &op, 1);
        commit_answer *y = store_commit_async(i % 2 ? &b : &a, &op, 1);
        CHECK(store_wait(&a, (commit_answer *[]){x}, 1));
        CHECK(store_wait(&b, (commit_answer *[]){y}, 1));
        bool x_ok = x->status == TRELLIS_OK, y_ok = y->status == TRELLIS_OK;
        CHECK(x_ok != y_ok);
        CHECK(x->status == TRELLIS_ERR_CONFLICT || y->status == TRELLIS_ERR_CONFLICT);
        if (x_ok == (i % 2 == 1))
            a_won++;
        else
            b_won++;
    }
    CHECK_INT(a_won + b_won, 60);
    read_result all = store_read_all(&a);
    CHECK_INT(all.count, 61);
    CHECK_INT(all.revision, 62);
    read_result_free(&all);
    CHECK_INT(store_client_finish(&a), 0);
    CHECK_INT(store_client_finish(&b), 0);
    harness_stop(ha);
    harness_stop(hb);
    free(config);
}

static void case_change_cache(harness *h)
{
    drop_schema("t_cache");
    char *config = config_for("t_cache", NULL, NULL);
    harness_instance *ha = start_store(h, config);
    harness_instance *hb = start_store(h, config);
    CHECK(ha && hb && wait_ready(h, ha) && wait_ready(h, hb));
    store_client a = {0}, b = {0};
    store_client_bind(&a, h, ha);
    store_client_bind(&b, h, hb);
    notified heard_b = {0};
    ((const trellis_store_ops *)harness_ops(hb))->watch(harness_plugin_instance(hb), on_notify,
                                                        &heard_b);
    harness_run_for(h, 100);
    CHECK_INT(store_commit1(&a, op_put("x", "1", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK_INT(store_commit1(&b, op_put("y", "2", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK_INT(store_commit1(&a, op_put("z", "3", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    /* B's commit brings back A's change 3 with its own 4. */
    trellis_store_op w[] = {op_put("w", "4", TRELLIS_STORE_ABSENT), op_delete("y", 1)};
    CHECK_INT(store_commit(&b, w, 2).status, TRELLIS_OK);
    double db_reads = harness_metric(h, "trellis_store_postgres_reads_total");
    double cached = harness_metric(h, "trellis_store_postgres_cached_reads_total");
    read_result r = store_read_changes(&b, 2);
    CHECK_INT(r.status, TRELLIS_OK);
    CHECK_INT(r.revision, 4);
    CHECK_INT(r.count, 3);
    const read_record *z = read_result_find(&r, "z"), *ww = read_result_find(&r, "w"),
                      *y = read_result_find(&r, "y");
    CHECK(z != NULL && z->revision == 3 && z->version == 1 && strcmp(z->value, "3") == 0);
    CHECK(ww != NULL && ww->revision == 4 && strcmp(ww->value, "4") == 0);
    CHECK(y != NULL && y->revision == 4 && y->value == NULL && y->version == 0);
    read_result_free(&r);
    CHECK(harness_metric(h, "trellis_store_postgres_cached_reads_total") == cached + 1);
    CHECK(harness_metric(h, "trellis_store_postgres_reads_total") == db_reads);
    /* Further back than the cache: the database answers, the same way. */
    r = store_read_changes(&b, 0);
    CHECK_INT(r.status, TRELLIS_OK);
    CHECK_INT(r.count, 5);
    read_result_free(&r);
    CHECK(harness_metric(h, "trellis_store_postgres_reads_total") == db_reads + 1);
    /* A commits again: once B has heard of it, its cache no longer answers. */
    heard_b.count = 0;
    CHECK_INT(store_commit1(&a, op_put("v", "5", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK(harness_run_until(h, notified_once, &heard_b, 2000));
    cached = harness_metric(h, "trellis_store_postgres_cached_reads_total");
    r = store_read_changes(&b, 4);
    CHECK_INT(r.count, 1);
    CHECK(read_result_find(&r, "v") != NULL);
    read_result_free(&r);
    CHECK(harness_metric(h, "trellis_store_postgres_cached_reads_total") == cached);
    CHECK_INT(store_client_finish(&a), 0);
    CHECK_INT(store_client_finish(&b), 0);
    harness_stop(ha);
    harness_stop(hb);
    free(config);
}

/* Blocks commits: the test holds the lock every commit takes first. */
static PGconn *hold_commit_lock(const char *schema)
{
    PGconn *c = db_connect();
    char sql[128];
    db_exec(c, "BEGIN");
    snprintf(sql, sizeof(sql), "SELECT revision FROM \"%s\".meta FOR UPDATE", schema);
    db_exec(c, sql);
    return c;
}

static bool wait_commit_blocked(harness *h, PGconn *monitor)
{
    return wait_db_int(h, monitor,
                       "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND query LIKE '%commit_batch%'",
                       1, 5000);
}

static void case_outcome_committed(harness *h, tcp_proxy *proxy)
{
    drop_schema("t_committed");
    char *config = config_for("t_committed", proxy_conninfo, NULL);
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    store_client client = {0};
    store_client_bind(&client, h, hi);
    PGconn *monitor = db_connect();
    PGconn *locker = hold_commit_lock("t_committed");
    trellis_store_op op = op_put("k", "applied, answer lost", TRELLIS_STORE_ABSENT);
    commit_answer *a = store_commit_async(&client, &op, 1);
    CHECK_INT(a->returned, TRELLIS_OK);
    CHECK(wait_commit_blocked(h, monitor));
    /* The commit goes through, its answer does not come back. */
    tcp_proxy_set_mode(proxy, PROXY_SWALLOW_REPLIES);
    db_exec(locker, "COMMIT");
    CHECK(wait_db_int(h, monitor, "SELECT count(*) FROM t_committed.commits WHERE revision = 1",
                      1, 5000));
    CHECK_INT(a->calls, 0);
    tcp_proxy_set_mode(proxy, PROXY_PASS);
    tcp_proxy_cut(proxy);
    CHECK(store_wait(&client, &a, 1));
    CHECK_INT(a->status, TRELLIS_OK);
    CHECK_INT(a->revision, 1);
    CHECK(harness_log_contains(h, "had been applied"));
    read_result all = store_read_all(&client);
    CHECK(read_result_find(&all, "k") != NULL);
    CHECK_INT(all.revision, 1);
    read_result_free(&all);
    CHECK(wait_ready(h, hi));
    CHECK_INT(store_client_finish(&client), 0);
    harness_stop(hi);
    PQfinish(locker);
    PQfinish(monitor);
    free(config);
}

static void case_outcome_not_committed(harness *h, tcp_proxy *proxy)
{
    drop_schema("t_lost");
    char *config = config_for("t_lost", proxy_conninfo, NULL);
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    store_client client = {0};
    store_client_bind(&client, h, hi);
    PGconn *monitor = db_connect();
    PGconn *locker = hold_commit_lock("t_lost");
    trellis_store_op op = op_put("k", "never", TRELLIS_STORE_ABSENT);
    commit_answer *a = store_commit_async(&client, &op, 1);
    CHECK(wait_commit_blocked(h, monitor));
    /* The connection drops while the commit waits: its backend lives on. */
    tcp_proxy_cut(proxy);
    CHECK(store_wait(&client, &a, 1));
    CHECK_INT(a->status, TRELLIS_ERR_UNAVAILABLE);
    CHECK_CONTAINS(a->message, "not applied");
    CHECK_INT(db_int(monitor, "SELECT count(*) FROM t_lost.commits WHERE revision IS NULL"), 1);
    /* The old transaction gets the lock now, and fails on the tombstone. */
    db_exec(locker, "COMMIT");
    CHECK(wait_db_int(h, monitor,
                      "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%commit_batch%' "
                      "AND state = 'active' AND pid <> pg_backend_pid()",
                      0, 5000));
    CHECK_INT(db_int(monitor, "SELECT count(*) FROM t_lost.records"), 0);
    CHECK_INT(db_int(monitor, "SELECT revision FROM t_lost.meta"), 0);
    /* The store carries on: the next commit is revision 1. */
    CHECK(wait_ready(h, hi));
    uint64_t rev = 0;
    CHECK_INT(store_commit1(&client, op_put("k", "now", TRELLIS_STORE_ABSENT), &rev), TRELLIS_OK);
    CHECK_INT(rev, 1);
    CHECK_INT(store_client_finish(&client), 0);
    harness_stop(hi);
    PQfinish(locker);
    PQfinish(monitor);
    free(config);
}

static void case_partition_deadline(harness *h, tcp_proxy *proxy)
{
    drop_schema("t_partition");
    char *config = config_for("t_partition", proxy_conninfo,
                              "\"commit_timeout_ms\":1500,\"connect_timeout_ms\":1000,"
                              "\"reconnect_max_ms\":200");
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    store_client client = {0};
    store_client_bind(&client, h, hi);
    tcp_proxy_set_mode(proxy, PROXY_FREEZE);
    uint64_t started = now_ms();
    trellis_store_op op = op_put("k", "into the void", TRELLIS_STORE_ABSENT);
    commit_answer *a = store_commit_async(&client, &op, 1);
    CHECK_INT(a->returned, TRELLIS_OK);
    CHECK(store_wait(&client, &a, 1));
    uint64_t took = now_ms() - started;
    CHECK_INT(a->status, TRELLIS_ERR_IO);
    CHECK_CONTAINS(a->message, "outcome unknown");
    CHECK(took >= 1400 && took < 3000);
    if (took >= 3000)
        fprintf(stderr, "  answered after %llu ms\n", (unsigned long long)took);
    CHECK(!harness_ready(hi, NULL));
    /* While the database is unreachable, commits are refused at once. */
    CHECK(harness_run_until(h, is_not_ready, hi, 1000));
    /* The network comes back (the frozen bytes are dropped, never
     * delivered late): the outcome is looked up and logged. */
    tcp_proxy_cut(proxy);
    tcp_proxy_set_mode(proxy, PROXY_PASS);
    tcp_proxy_cut(proxy);
    CHECK(wait_log(h, "was not applied", 10000));
    CHECK(wait_ready(h, hi));
    CHECK_INT(store_client_finish(&client), 0);
    harness_stop(hi);
    free(config);
}

static void case_server_timeout(harness *h)
{
    drop_schema("t_timeout");
    char *config = config_for("t_timeout", NULL, "\"commit_timeout_ms\":1200");
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    store_client client = {0};
    store_client_bind(&client, h, hi);
    PGconn *locker = hold_commit_lock("t_timeout");
    uint64_t started = now_ms();
    trellis_store_op op = op_put("k", "v", TRELLIS_STORE_ABSENT);
    commit_answer *a = store_commit_async(&client, &op, 1);
    CHECK(store_wait(&client, &a, 1));
    uint64_t took = now_ms() - started;
    /* statement_timeout / lock_timeout (3/4 of the commit timeout) ended it
     * in the server: a definite "not applied", before the deadline. */
    CHECK_INT(a->status, TRELLIS_ERR_UNAVAILABLE);
    CHECK_CONTAINS(a->message, "timeout");
    CHECK(took >= 800 && took < 1200);
    db_exec(locker, "ROLLBACK");
    CHECK(harness_ready(hi, NULL));
    CHECK_INT(store_commit1(&client, op_put("k", "v", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK_INT(store_client_finish(&client), 0);
    harness_stop(hi);
    PQfinish(locker);
    free(config);
}

static void case_reconnect(harness *h, tcp_proxy *proxy)
{
    drop_schema("t_reconnect");
    char *via_proxy = config_for("t_reconnect", proxy_conninfo, "\"reconnect_max_ms\":200");
    char *direct = config_for("t_reconnect", NULL, NULL);
    harness_instance *hb = start_store(h, via_proxy);
    harness_instance *ha = start_store(h, direct);
    CHECK(ha && hb && wait_ready(h, ha) && wait_ready(h, hb));
    store_client a = {0}, b = {0};
    store_client_bind(&a, h, ha);
    store_client_bind(&b, h, hb);
    notified heard = {0};
    ((const trellis_store_ops *)harness_ops(hb))->watch(harness_plugin_instance(hb), on_notify,
                                                        &heard);
    harness_run_for(h, 100);

    tcp_proxy_set_mode(proxy, PROXY_REFUSE);
    tcp_proxy_cut(proxy);
    CHECK(harness_run_until(h, is_not_ready, hb, 2000));
    const char *detail = "";
    harness_ready(hb, &detail);
    CHECK_CONTAINS(detail, "postgres host=127.0.0.1");
    CHECK(harness_run_until(h, is_not_ready, hb, 10)); /* still */
    CHECK_INT(store_commit1(&b, op_put("b", "v", TRELLIS_STORE_ABSENT), NULL),
              TRELLIS_ERR_UNAVAILABLE);
    /* A commits while B is cut off; B's notification is lost with it. */
    uint64_t rev = 0;
    CHECK_INT(store_commit1(&a, op_put("during", "outage", TRELLIS_STORE_ABSENT), &rev),
              TRELLIS_OK);
    heard.count = 0;
    tcp_proxy_set_mode(proxy, PROXY_PASS);
    CHECK(wait_ready(h, hb));
    /* Back: the core is told to catch up, and finds A's commit. */
    CHECK(harness_run_until(h, notified_once, &heard, 2000));
    read_result changes = store_read_changes(&b, 0);
    CHECK_INT(changes.status, TRELLIS_OK);
    CHECK_INT(changes.revision, rev);
    CHECK(read_result_find(&changes, "during") != NULL);
    read_result_free(&changes);
    CHECK_INT(store_commit1(&b, op_put("b", "v", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK(harness_log_contains(h, "event=connection_lost"));
    CHECK_INT(store_client_finish(&a), 0);
    CHECK_INT(store_client_finish(&b), 0);
    harness_stop(ha);
    harness_stop(hb);
    free(via_proxy);
    free(direct);
}

static void case_secrets_not_logged(harness *h)
{
    drop_schema("t_secret");
    char with_password[600];
    snprintf(with_password, sizeof(with_password), "%s password=hunter2secret", conninfo);
    char *config = config_for("t_secret", with_password, NULL);
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    harness_stop(hi);
    /* And a server that refuses: its error must not carry the password. */
    char *bad = config_for("t_secret", "host=127.0.0.1 port=1 password=hunter2secret", NULL);
    hi = start_store(h, bad);
    CHECK(wait_log(h, "event=connect_failed", 10000));
    const char *detail = "";
    harness_ready(hi, &detail);
    CHECK(strstr(detail, "hunter2") == NULL);
    CHECK_CONTAINS(detail, "port=1");
    harness_stop(hi);
    char *log = harness_log_text(h);
    CHECK(log != NULL && strstr(log, "hunter2") == NULL);
    free(log);
    /* check_config refuses a malformed conninfo without quoting it. */
    char err[1024];
    CHECK(harness_create(h, "store.postgres",
                         "{\"conninfo\":\"host=db password='hunter2secret\"}", err,
                         sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "conninfo");
    CHECK(strstr(err, "hunter2") == NULL);
    free(config);
    free(bad);
}

static void case_read_changes_ahead(harness *h)
{
    drop_schema("t_ahead");
    char *config = config_for("t_ahead", NULL, NULL);
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    store_client client = {0};
    store_client_bind(&client, h, hi);
    CHECK_INT(store_commit1(&client, op_put("k", "v", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    read_result r = store_read_changes(&client, 5);
    CHECK_INT(r.status, TRELLIS_ERR_NOT_FOUND);
    CHECK_CONTAINS(r.message, "restored from an older backup");
    read_result_free(&r);
    CHECK_INT(store_client_finish(&client), 0);
    harness_stop(hi);
    free(config);
}

static void case_limits(harness *h)
{
    drop_schema("t_limits");
    char *config = config_for("t_limits", NULL, "\"max_pending_commits\":2");
    harness_instance *hi = start_store(h, config);
    CHECK(hi && wait_ready(h, hi));
    store_client client = {0};
    store_client_bind(&client, h, hi);
    trellis_store_op ops[3] = {op_put("a", "1", TRELLIS_STORE_ABSENT),
                               op_put("b", "1", TRELLIS_STORE_ABSENT),
                               op_put("c", "1", TRELLIS_STORE_ABSENT)};
    commit_answer *x = store_commit_async(&client, &ops[0], 1);
    commit_answer *y = store_commit_async(&client, &ops[1], 1);
    commit_answer *z = store_commit_async(&client, &ops[2], 1);
    CHECK_INT(x->returned, TRELLIS_OK);
    CHECK_INT(y->returned, TRELLIS_OK);
    CHECK_INT(z->returned, TRELLIS_ERR_LIMIT);
    CHECK(store_wait(&client, (commit_answer *[]){x, y}, 2));
    CHECK_INT(store_client_finish(&client), 0);
    harness_stop(hi);
    free(config);
}

/* ---- driver ---- */

typedef struct test_case {
    const char *name;
    void (*run)(harness *h);
    void (*run_proxy)(harness *h, tcp_proxy *proxy);
} test_case;

static const test_case cases[] = {
    {"schema_created", case_schema_created, NULL},
    {"migrates_forward", case_migrates_forward, NULL},
    {"refuses_newer_schema", case_refuses_newer_schema, NULL},
    {"two_instances", case_two_instances, NULL},
    {"change_cache", case_change_cache, NULL},
    {"outcome_committed", NULL, case_outcome_committed},
    {"outcome_not_committed", NULL, case_outcome_not_committed},
    {"partition_deadline", NULL, case_partition_deadline},
    {"server_timeout", case_server_timeout, NULL},
    {"reconnect", NULL, case_reconnect},
    {"secrets_not_logged", case_secrets_not_logged, NULL},
    {"read_changes_ahead", case_read_changes_ahead, NULL},
    {"limits", case_limits, NULL},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PLUGIN_DIR [CASE]  (under pg_cluster.py run)\n", argv[0]);
        return 2;
    }
    plugin_dir = argv[1];
    const char *only = argc > 2 ? argv[2] : NULL;
    conninfo = getenv("TRELLIS_TEST_PG_CONNINFO");
    const char *port = getenv("PGPORT");
    if (conninfo == NULL || port == NULL) {
        fprintf(stderr, "run me under tests/integration/pg_cluster.py run\n");
        return 2;
    }
    tcp_proxy *proxy = tcp_proxy_start("127.0.0.1", atoi(port));
    if (proxy == NULL)
        return 1;
    snprintf(proxy_conninfo, sizeof(proxy_conninfo), "host=127.0.0.1 port=%d user=%s dbname=%s",
             tcp_proxy_port(proxy), getenv("PGUSER") ? getenv("PGUSER") : "postgres",
             getenv("PGDATABASE") ? getenv("PGDATABASE") : "trellis");
    size_t ran = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (only != NULL && strcmp(only, cases[i].name) != 0)
            continue;
        int before = test_failures;
        harness *h = harness_new(plugin_dir);
        tcp_proxy_set_mode(proxy, PROXY_PASS);
        if (cases[i].run != NULL)
            cases[i].run(h);
        else
            cases[i].run_proxy(h, proxy);
        tcp_proxy_cut(proxy);
        if (test_failures != before) {
            fprintf(stderr, "---- log of the failed case ----\n");
            harness_log_dump(h, stderr);
        }
        harness_free(h);
        printf("%s: %s\n", cases[i].name, test_failures == before ? "ok" : "FAILED");
        fflush(stdout);
        ran++;
    }
    tcp_proxy_stop(proxy);
    if (ran == 0) {
        fprintf(stderr, "no case named %s\n", only);
        return 2;
    }
    return test_finish("store_postgres");
}
