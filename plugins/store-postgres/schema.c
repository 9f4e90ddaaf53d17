#include "schema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"

/*
 * Migrations, in order. A migration is never edited once released: changes
 * come as a new migration appended here (and SCHEMA_VERSION grows). "@S@"
 * stands for the quoted schema name.
 */
typedef struct migration {
    int version;
    const char *description;
    const char *sql;
} migration;

static const migration migrations[] = {
    {1, "tables: meta, records, changes, commits",
     /* meta: one row; the newest revision and how far back history goes.
      * Its row lock serialises every commit of every replica. */
     "CREATE TABLE @S@.meta (\n"
     "    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),\n"
     "    revision bigint NOT NULL,\n"
     "    history_floor bigint NOT NULL\n"
     ");\n"
     "INSERT INTO @S@.meta (revision, history_floor) VALUES (0, 0);\n"
     /* One row for good: say so before the planner guesses from its size. */
     "ANALYZE @S@.meta;\n"
     /* The current state. Keys compare bytewise (COLLATE \"C\"): a store key
      * is an identifier, never natural-language text. */
     "CREATE TABLE @S@.records (\n"
     "    key text COLLATE \"C\" PRIMARY KEY,\n"
     "    value bytea NOT NULL,\n"
     "    version bigint NOT NULL,\n"
     "    revision bigint NOT NULL\n"
     ");\n"
     /* The change feed: the final state of every key each commit changed
      * (value NULL: deleted), for revisions above meta.history_floor. */
     "CREATE TABLE @S@.changes (\n"
     "    revision bigint NOT NULL,\n"
     "    key text COLLATE \"C\" NOT NULL,\n"
     "    value bytea,\n"
     "    version bigint NOT NULL,\n"
     "    PRIMARY KEY (revision, key)\n"
     ");\n"
     /* Every commit's id, so a commit whose answer was lost with its
      * connection can be looked up; revision NULL is a tombstone: the id
      * was declared not committed, and a late commit carrying it fails. */
     "CREATE TABLE @S@.commits (\n"
     "    commit_id uuid PRIMARY KEY,\n"
     "    revision bigint,\n"
     "    committed_at timestamptz NOT NULL DEFAULT now()\n"
     ");\n"
     "CREATE INDEX commits_committed_at ON @S@.commits (committed_at);\n"},

    {2, "functions: commit_batch, resolve_commits",
     /*
      * commit_batch: a group of commits in one round trip and one
      * transaction. Commit c has ops [start, start + p_op_counts[c]) of the
      * op arrays; p_expected is -1 for "any version", 0 for "absent", else
      * the exact version. Each commit either applies whole (one revision)
      * or conflicts (a row naming the key, nothing applied); later commits
      * of the batch see the earlier ones. Within a commit an op sees the
      * earlier ops on its key, and each changed key is written once, in its
      * final state.
      *
      * Rows: kind 1 per commit (commit_index, row_revision or NULL,
      * conflict); then, when p_since >= 0 and history reaches it and it is
      * at most p_changes_revisions behind, kind 2 per change after p_since
      * (row_revision, change_key, change_value or NULL for a deletion,
      * change_version), every writer's, read under the lock so complete;
      * last one row of kind 3 (changes included) or 4 (not included) with
      * the newest revision in row_revision.
      */
     "CREATE OR REPLACE FUNCTION @S@.commit_batch(\n"
     "    p_ids uuid[], p_op_counts int4[], p_types int2[], p_keys text[], p_values bytea[],\n"
     "    p_expected int8[], p_channel text, p_notify_tag text, p_history int8,\n"
     "    p_id_retention_s int8, p_since int8, p_changes_revisions int8)\n"
     "RETURNS TABLE (row_kind int2, commit_index int4, row_revision int8, conflict text,\n"
     "               change_key text, change_value bytea, change_version int8)\n"
     "LANGUAGE plpgsql AS $fn$\n"
     "DECLARE\n"
     "    v_head int8;\n"
     "    v_first_head int8;\n"
     "    v_floor int8;\n"
     "    v_op int4 := 1;\n"
     "    v_last int4;\n"
     "    v_key text;\n"
     "    v_type int2;\n"
     "    v_expected int8;\n"
     "    v_name text;\n"
     "    v_j int4;\n"
     "    v_version int8;\n"
     "    v_found bool;\n"
     "    v_why text;\n"
     "    k_keys text[];\n"
     "    k_existed bool[];\n"
     "    k_present bool[];\n"
     "    k_changed bool[];\n"
     "    k_version int8[];\n"
     "    k_value int4[];\n"
     "BEGIN\n"
     /* One writer at a time across every replica: revisions stay gapless
      * and in commit order, and every condition sees all earlier commits. */
     "    SELECT m.revision, m.history_floor INTO v_head, v_floor\n"
     "      FROM @S@.meta m FOR UPDATE;\n"
     "    v_first_head := v_head;\n"
     "    FOR v_c IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP\n"
     "        v_last := v_op + p_op_counts[v_c] - 1;\n"
     "        k_keys := '{}'; k_existed := '{}'; k_present := '{}';\n"
     "        k_changed := '{}'; k_version := '{}'; k_value := '{}';\n"
     "        v_why := NULL;\n"
     "        FOR v_i IN v_op .. v_last LOOP\n"
     "            v_key := p_keys[v_i];\n"
     "            v_type := p_types[v_i];\n"
     "            v_expected := p_expected[v_i];\n"
     "            v_name := CASE v_type WHEN 1 THEN 'PUT' WHEN 2 THEN 'DELETE' ELSE 'CHECK' END;\n"
     "            v_j := array_position(k_keys, v_key);\n"
     "            IF v_j IS NULL THEN\n"
     "                SELECT r.version INTO v_version FROM @S@.records r WHERE r.key = v_key;\n"
     "                v_found := FOUND;\n"
     "                k_keys := k_keys || v_key;\n"
     "                k_existed := k_existed || v_found;\n"
     "                k_present := k_present || v_found;\n"
     "                k_changed := k_changed || false;\n"
     "                k_version := k_version || CASE WHEN v_found THEN v_version ELSE 0 END;\n"
     "                k_value := k_value || 0;\n"
     "                v_j := array_length(k_keys, 1);\n"
     "            END IF;\n"
     "            IF v_expected = 0 AND k_present[v_j] THEN\n"
     "                v_why := format('op %s (%s): key ''%s'' exists (version %s), expected absent',\n"
     "                                v_i - v_op, v_name, left(v_key, 200), k_version[v_j]);\n"
     "                EXIT;\n"
     "            ELSIF v_expected > 0 AND NOT k_present[v_j] THEN\n"
     "                v_why := format('op %s (%s): key ''%s'' does not exist, expected version %s',\n"
     "                                v_i - v_op, v_name, left(v_key, 200), v_expected);\n"
     "                EXIT;\n"
     "            ELSIF v_expected > 0 AND k_version[v_j] <> v_expected THEN\n"
     "                v_why := format('op %s (%s): key ''%s'' is at version %s, expected %s',\n"
     "                                v_i - v_op, v_name, left(v_key, 200), k_version[v_j],\n"
     "                                v_expected);\n"
     "                EXIT;\n"
     "            END IF;\n"
     "            IF v_type = 1 THEN\n"
     "                k_version[v_j] := CASE WHEN k_present[v_j] THEN k_version[v_j] + 1 ELSE 1 END;\n"
     "                k_present[v_j] := true;\n"
     "                k_changed[v_j] := true;\n"
     "                k_value[v_j] := v_i;\n"
     "            ELSIF v_type = 2 THEN\n"
     "                IF NOT k_present[v_j] THEN\n"
     "                    v_why := format('op %s (DELETE): key ''%s'' does not exist',\n"
     "                                    v_i - v_op, left(v_key, 200));\n"
     "                    EXIT;\n"
     "                END IF;\n"
     "                k_present[v_j] := false;\n"
     "                k_version[v_j] := 0;\n"
     "                k_changed[v_j] := true;\n"
     "            END IF;\n"
     "        END LOOP;\n"
     "        row_kind := 1;\n"
     "        commit_index := v_c;\n"
     "        change_key := NULL;\n"
     "        change_value := NULL;\n"
     "        change_version := NULL;\n"
     "        IF v_why IS NOT NULL THEN\n"
     "            row_revision := NULL;\n"
     "            conflict := v_why;\n"
     "            RETURN NEXT;\n"
     "        ELSE\n"
     "            v_head := v_head + 1;\n"
     "            FOR v_k IN 1 .. coalesce(array_length(k_keys, 1), 0) LOOP\n"
     /* Untouched (CHECK only), or created and deleted within the commit. */
     "                CONTINUE WHEN NOT k_changed[v_k] OR NOT (k_existed[v_k] OR k_present[v_k]);\n"
     "                IF NOT k_present[v_k] THEN\n"
     "                    DELETE FROM @S@.records WHERE key = k_keys[v_k];\n"
     "                    INSERT INTO @S@.changes (revision, key, value, version)\n"
     "                        VALUES (v_head, k_keys[v_k], NULL, 0);\n"
     "                ELSE\n"
     "                    IF k_existed[v_k] THEN\n"
     "                        UPDATE @S@.records SET value = p_values[k_value[v_k]],\n"
     "                               version = k_version[v_k], revision = v_head\n"
     "                         WHERE key = k_keys[v_k];\n"
     "                    ELSE\n"
     "                        INSERT INTO @S@.records (key, value, version, revision)\n"
     "                            VALUES (k_keys[v_k], p_values[k_value[v_k]], k_version[v_k],\n"
     "                                    v_head);\n"
     "                    END IF;\n"
     "                    INSERT INTO @S@.changes (revision, key, value, version)\n"
     "                        VALUES (v_head, k_keys[v_k], p_values[k_value[v_k]], k_version[v_k]);\n"
     "                END IF;\n"
     "            END LOOP;\n"
     /* A tombstone with this id (the commit was declared lost) fails the
      * whole transaction here: a lost commit never applies late. */
     "            INSERT INTO @S@.commits (commit_id, revision) VALUES (p_ids[v_c], v_head);\n"
     "            row_revision := v_head;\n"
     "            conflict := NULL;\n"
     "            RETURN NEXT;\n"
     "        END IF;\n"
     "        v_op := v_last + 1;\n"
     "    END LOOP;\n"
     "    IF v_head > v_first_head THEN\n"
     "        IF v_head - p_history > v_floor THEN\n"
     "            DELETE FROM @S@.changes\n"
     "             WHERE revision > v_floor AND revision <= v_head - p_history;\n"
     "            v_floor := v_head - p_history;\n"
     "        END IF;\n"
     "        IF v_head / 1024 <> v_first_head / 1024 THEN\n"
     "            DELETE FROM @S@.commits\n"
     "             WHERE committed_at < now() - make_interval(secs => p_id_retention_s);\n"
     "        END IF;\n"
     "        UPDATE @S@.meta SET revision = v_head, history_floor = v_floor;\n"
     "        PERFORM pg_notify(p_channel, p_notify_tag || ' ' || v_head::text);\n"
     "    END IF;\n"
     "    IF p_since >= 0 AND p_since >= v_floor AND p_since <= v_head\n"
     "       AND v_head - p_since <= p_changes_revisions THEN\n"
     "        RETURN QUERY SELECT 2::int2, NULL::int4, c.revision, NULL::text, c.key, c.value,\n"
     "                            c.version\n"
     "                       FROM @S@.changes c\n"
     "                      WHERE c.revision > p_since AND c.revision <= v_head\n"
     "                      ORDER BY c.revision, c.key;\n"
     "        row_kind := 3;\n"
     "    ELSE\n"
     "        row_kind := 4;\n"
     "    END IF;\n"
     "    commit_index := NULL;\n"
     "    row_revision := v_head;\n"
     "    conflict := NULL;\n"
     "    change_key := NULL;\n"
     "    change_value := NULL;\n"
     "    change_version := NULL;\n"
     "    RETURN NEXT;\n"
     "END\n"
     "$fn$;\n"
     /*
      * resolve_commits: the outcome of commits whose connection was lost.
      * For each id either its commit row exists (waiting, if need be, for a
      * transaction that still holds it) or a tombstone takes the id, so a
      * commit still running somewhere fails when it reaches its own insert.
      * Returns (id, revision): revision NULL means not committed, for good.
      */
     "CREATE OR REPLACE FUNCTION @S@.resolve_commits(p_ids uuid[])\n"
     "RETURNS TABLE (resolved_id uuid, resolved_revision int8)\n"
     "LANGUAGE plpgsql AS $fn$\n"
     "DECLARE\n"
     "    v_id uuid;\n"
     "BEGIN\n"
     "    FOREACH v_id IN ARRAY p_ids LOOP\n"
     "        INSERT INTO @S@.commits (commit_id, revision) VALUES (v_id, NULL)\n"
     "            ON CONFLICT (commit_id) DO NOTHING;\n"
     "        RETURN QUERY SELECT c.commit_id, c.revision FROM @S@.commits c\n"
     "                      WHERE c.commit_id = v_id;\n"
     "    END LOOP;\n"
     "END\n"
     "$fn$;\n"},
};

#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == SCHEMA_VERSION,
               "SCHEMA_VERSION is the number of migrations");

char *schema_sql(const char *sql, const char *schema)
{
    char quoted[80];
    snprintf(quoted, sizeof(quoted), "\"%s\"", schema);
    size_t qlen = strlen(quoted);
    size_t count = 0;
    for (const char *p = strstr(sql, "@S@"); p != NULL; p = strstr(p + 3, "@S@"))
        count++;
    size_t len = strlen(sql) + count * qlen + 1;
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (const char *p = sql; *p;) {
        if (strncmp(p, "@S@", 3) == 0) {
            memcpy(o, quoted, qlen);
            o += qlen;
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* FNV-1a of the schema name: the advisory lock that serialises migrations
 * of one schema, whichever replica runs them. */
static long long migration_lock_key(const char *schema)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = "trellis store.postgres migrations "; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    for (const char *p = schema; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return (long long)h;
}

static void fail(schema_result *r, schema_outcome outcome, const char *fmt, const char *detail)
{
    r->outcome = outcome;
    snprintf(r->message, sizeof(r->message), fmt, detail ? detail : "");
    pg_message_flatten(r->message);
}

/* Runs one statement (or several); false with the error in `r`. */
static bool exec_ok(PGconn *conn, const char *sql, const char *what, schema_result *r)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        char detail[400];
        snprintf(detail, sizeof(detail), "%s: %s", what,
                 res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        fail(r, SCHEMA_FAILED, "schema check failed: %s", detail);
    }
    PQclear(res);
    return ok;
}

/* SELECT of one integer (or NULL: `absent`). */
static bool query_int(PGconn *conn, const char *sql, const char *param, long long absent,
                      long long *out, const char *what, schema_result *r)
{
    const char *values[1] = {param};
    PGresult *res = PQexecParams(conn, sql, param ? 1 : 0, NULL, values, NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        char detail[400];
        snprintf(detail, sizeof(detail), "%s: %s", what,
                 res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        fail(r, SCHEMA_FAILED, "schema check failed: %s", detail);
        PQclear(res);
        return false;
    }
    *out = (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) ? absent
                                                           : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return true;
}

/* The applied version, 0 when the schema or its version table is missing. */
static bool read_version(PGconn *conn, const char *schema, long long *version, schema_result *r)
{
    char table[96];
    snprintf(table, sizeof(table), "\"%s\".schema_version", schema);
    long long exists = 0;
    if (!query_int(conn, "SELECT 1 WHERE to_regclass($1) IS NOT NULL", table, 0, &exists,
                   "looking for the schema_version table", r))
        return false;
    if (!exists) {
        *version = 0;
        return true;
    }
    char *sql = schema_sql("SELECT max(version) FROM @S@.schema_version", schema);
    if (sql == NULL) {
        fail(r, SCHEMA_FAILED, "out of memory%s", NULL);
        return false;
    }
    bool ok = query_int(conn, sql, NULL, 0, version, "reading the schema version", r);
    free(sql);
    return ok;
}

static void too_new(schema_result *r, const char *schema, long long version, int known)
{
    r->outcome = SCHEMA_TOO_NEW;
    snprintf(r->message, sizeof(r->message),
             "schema \"%s\" is at version %lld, newer than this trellis knows (%d): a newer "
             "trellis migrated it. Upgrade this trellis, or point it at another schema; it will "
             "not read or write data whose rules it does not know",
             schema, version, known);
}

static bool migrate_locked(PGconn *conn, const char *schema, int target, schema_result *r)
{
    char lock_sql[96];
    snprintf(lock_sql, sizeof(lock_sql), "SELECT pg_advisory_xact_lock(%lld)",
             migration_lock_key(schema));
    if (!exec_ok(conn, lock_sql, "waiting for the migration lock", r))
        return false;
    long long exists = 0;
    if (!query_int(conn, "SELECT 1 FROM pg_namespace WHERE nspname = $1", schema, 0, &exists,
                   "looking for the schema", r))
        return false;
    if (!exists) {
        /* Only when missing: CREATE SCHEMA IF NOT EXISTS would need the
         * CREATE privilege on the database even when the schema exists. */
        char *create = schema_sql("CREATE SCHEMA @S@", schema);
        bool ok = create != NULL && exec_ok(conn, create, "creating the schema", r);
        free(create);
        if (!ok)
            return false;
    }
    char *version_table = schema_sql(
        "CREATE TABLE IF NOT EXISTS @S@.schema_version (\n"
        "    version integer PRIMARY KEY,\n"
        "    description text NOT NULL,\n"
        "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
        "    applied_by text NOT NULL DEFAULT current_user\n"
        ")",
        schema);
    bool ok = version_table != NULL &&
              exec_ok(conn, version_table, "creating the schema_version table", r);
    free(version_table);
    if (!ok)
        return false;
    /* Read again under the lock: another replica may just have migrated. */
    long long version = 0;
    if (!read_version(conn, schema, &version, r))
        return false;
    r->found_version = (int)version;
    if (version > MIGRATION_COUNT) {
        too_new(r, schema, version, MIGRATION_COUNT);
        return false;
    }
    for (int i = (int)version; i < target; i++) {
        char *sql = schema_sql(migrations[i].sql, schema);
        char what[160];
        snprintf(what, sizeof(what), "migration %d (%s)", migrations[i].version,
                 migrations[i].description);
        ok = sql != NULL && exec_ok(conn, sql, what, r);
        free(sql);
        if (!ok)
            return false;
        char *record =
            schema_sql("INSERT INTO @S@.schema_version (version, description) VALUES ($1, $2)",
                       schema);
        char version_text[16];
        snprintf(version_text, sizeof(version_text), "%d", migrations[i].version);
        const char *values[2] = {version_text, migrations[i].description};
        PGresult *res = record ? PQexecParams(conn, record, 2, NULL, values, NULL, NULL, 0) : NULL;
        ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            char detail[400];
            snprintf(detail, sizeof(detail), "recording migration %d: %s", migrations[i].version,
                     res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
            fail(r, SCHEMA_FAILED, "schema migration failed: %s", detail);
        }
        PQclear(res);
        free(record);
        if (!ok)
            return false;
        r->applied++;
    }
    return true;
}

void schema_ensure_version(PGconn *conn, const char *schema, int target, schema_result *r)
{
    memset(r, 0, sizeof(*r));
    if (target > MIGRATION_COUNT)
        target = MIGRATION_COUNT;
    long long version = 0;
    if (!read_version(conn, schema, &version, r))
        return;
    r->found_version = (int)version;
    if (version > MIGRATION_COUNT) {
        too_new(r, schema, version, MIGRATION_COUNT);
        return;
    }
    if (version >= target) {
        r->outcome = SCHEMA_READY;
        return;
    }
    /* Migrations and their version rows commit together, or not at all. */
    if (!exec_ok(conn, "BEGIN", "starting the migration transaction", r))
        return;
    if (migrate_locked(conn, schema, target, r) &&
        exec_ok(conn, "COMMIT", "committing the migrations", r)) {
        r->outcome = SCHEMA_READY;
        return;
    }
    schema_outcome outcome = r->outcome;
    PGresult *res = PQexec(conn, "ROLLBACK");
    PQclear(res);
    r->outcome = outcome;
}

void schema_ensure(PGconn *conn, const char *schema, schema_result *r)
{
    schema_ensure_version(conn, schema, MIGRATION_COUNT, r);
}
