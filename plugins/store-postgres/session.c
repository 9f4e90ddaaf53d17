#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "wire.h"

/* The role's statements. "@S@" is the quoted schema. */
typedef struct statement {
    const char *name;
    const char *sql;
    int param_count;
    const Oid *param_types;
} statement;

static const Oid commit_types[] = {PG_OID_UUID_ARRAY, PG_OID_INT4_ARRAY, PG_OID_INT2_ARRAY,
                                   PG_OID_TEXT_ARRAY, PG_OID_BYTEA_ARRAY, PG_OID_INT8_ARRAY,
                                   PG_OID_TEXT,       PG_OID_TEXT,       PG_OID_INT8,
                                   PG_OID_INT8,       PG_OID_INT8,       PG_OID_INT8};
static const Oid resolve_types[] = {PG_OID_UUID_ARRAY};
static const Oid changes_types[] = {PG_OID_INT8};

static const statement writer_statements[] = {
    {STMT_COMMIT_BATCH,
     "SELECT row_kind, commit_index, row_revision, conflict, change_key, change_value, "
     "change_version FROM @S@.commit_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
     12, commit_types},
    {STMT_RESOLVE, "SELECT resolved_id, resolved_revision FROM @S@.resolve_commits($1)", 1,
     resolve_types},
};

/* One statement, one snapshot: the records and the revision they reflect
 * (a row with NULL record columns when there are none). */
static const statement reader_statements[] = {
    {STMT_READ_ALL,
     "SELECT m.revision, r.key, r.value, r.version, r.revision "
     "FROM (SELECT revision FROM @S@.meta) m LEFT JOIN @S@.records r ON true",
     0, NULL},
    /* The changes after $1, in index order, or none when history no longer
     * reaches $1 (the first two columns say which). */
    {STMT_READ_CHANGES,
     "SELECT m.revision, m.history_floor, c.revision, c.key, c.value, c.version "
     "FROM (SELECT revision, history_floor FROM @S@.meta) m "
     "LEFT JOIN LATERAL (SELECT revision, key, value, version FROM @S@.changes "
     "                    WHERE revision > $1 AND m.history_floor <= $1 AND $1 <= m.revision "
     "                    ORDER BY revision, key) c ON true",
     1, changes_types},
};

static const statement listener_statements[] = {
    {STMT_HEAD, "SELECT revision FROM @S@.meta", 0, NULL},
};

static void set_message(session_result *r, const char *what, const char *detail)
{
    snprintf(r->message, sizeof(r->message), "%s: %s", what, detail);
    pg_message_flatten(r->message);
}

static bool run(PGconn *conn, const char *sql, const char *what, session_result *r)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = res != NULL &&
              (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);
    if (!ok)
        set_message(r, what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

/* The single text value of a one-row query, copied; false on error. */
static bool query_text(PGconn *conn, const char *sql, char *out, size_t n, const char *what,
                       session_result *r)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok)
        snprintf(out, n, "%s", PQgetvalue(res, 0, 0));
    else
        set_message(r, what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

static bool check_server(PGconn *conn, session_result *r)
{
    const char *encoding = PQparameterStatus(conn, "server_encoding");
    if (encoding == NULL ||
        (strcmp(encoding, "UTF8") != 0 && strcmp(encoding, "SQL_ASCII") != 0)) {
        snprintf(r->message, sizeof(r->message),
                 "the database's encoding is %s; trellis stores UTF-8 keys: create the database "
                 "with ENCODING 'UTF8'",
                 encoding ? encoding : "unknown");
        r->fatal = true;
        return false;
    }
    char in_recovery[8];
    if (!query_text(conn, "SELECT pg_is_in_recovery()", in_recovery, sizeof(in_recovery),
                    "checking for a standby", r))
        return false;
    if (strcmp(in_recovery, "t") == 0) {
        snprintf(r->message, sizeof(r->message),
                 "the server is a standby (in recovery); trellis needs the primary: list every "
                 "host in the conninfo with target_session_attrs=read-write");
        return false;
    }
    return true;
}

static bool pin_settings(PGconn *conn, const session_params *p, session_result *r)
{
    if (!run(conn, "SET default_transaction_isolation = 'read committed'",
             "setting the isolation level", r))
        return false;
    /* Every statement here reads a few index entries. A generic plan
     * cannot know that "revision > $1" is the newest handful of changes and
     * costs a scan of the history, which then even triggers JIT compiling:
     * plan with the actual values, never compile. */
    if (!run(conn, "SET plan_cache_mode = force_custom_plan", "setting plan_cache_mode", r) ||
        !run(conn, "SET jit = off", "turning JIT off", r))
        return false;
    char level[32];
    if (!query_text(conn, "SHOW synchronous_commit", level, sizeof(level),
                    "reading synchronous_commit", r))
        return false;
    /* "local", "remote_write", "on", "remote_apply" all flush locally
     * before answering; only "off" does not. */
    if (strcmp(level, "off") == 0) {
        if (!run(conn, "SET synchronous_commit = on", "setting synchronous_commit", r))
            return false;
        r->raised_sync_commit = true;
    }
    if (p->statement_timeout_ms > 0) {
        char sql[96];
        snprintf(sql, sizeof(sql), "SET statement_timeout = %llu",
                 (unsigned long long)p->statement_timeout_ms);
        if (!run(conn, sql, "setting statement_timeout", r))
            return false;
        snprintf(sql, sizeof(sql), "SET lock_timeout = %llu",
                 (unsigned long long)p->statement_timeout_ms);
        if (!run(conn, sql, "setting lock_timeout", r))
            return false;
    }
    return true;
}

static bool prepare(PGconn *conn, const char *schema, const statement *list, size_t count,
                    session_result *r)
{
    for (size_t i = 0; i < count; i++) {
        char *sql = schema_sql(list[i].sql, schema);
        if (sql == NULL) {
            snprintf(r->message, sizeof(r->message), "out of memory");
            return false;
        }
        PGresult *res = PQprepare(conn, list[i].name, sql, list[i].param_count,
                                  list[i].param_types);
        free(sql);
        bool ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            char what[96];
            snprintf(what, sizeof(what), "preparing %s", list[i].name);
            set_message(r, what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        }
        PQclear(res);
        if (!ok)
            return false;
    }
    return true;
}

void session_setup(PGconn *conn, const session_params *p, session_result *r)
{
    memset(r, 0, sizeof(*r));
    if (!check_server(conn, r) || !pin_settings(conn, p, r))
        return;
    schema_ensure(conn, p->schema, &r->schema);
    if (r->schema.outcome != SCHEMA_READY) {
        snprintf(r->message, sizeof(r->message), "%s", r->schema.message);
        r->fatal = r->schema.outcome == SCHEMA_TOO_NEW;
        return;
    }
    bool ok = false;
    switch (p->role) {
    case PG_ROLE_WRITER:
        ok = prepare(conn, p->schema, writer_statements,
                     sizeof(writer_statements) / sizeof(writer_statements[0]), r);
        break;
    case PG_ROLE_READER:
        ok = prepare(conn, p->schema, reader_statements,
                     sizeof(reader_statements) / sizeof(reader_statements[0]), r);
        break;
    case PG_ROLE_LISTENER: {
        ok = prepare(conn, p->schema, listener_statements,
                     sizeof(listener_statements) / sizeof(listener_statements[0]), r);
        if (ok) {
            char sql[96];
            snprintf(sql, sizeof(sql), "LISTEN \"%s\"", p->channel);
            ok = run(conn, sql, "starting to LISTEN", r);
        }
        break;
    }
    }
    r->ok = ok;
}
