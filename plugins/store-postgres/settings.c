#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"

const trellis_config_field store_postgres_schema[] = {
    {"conninfo", TRELLIS_CONFIG_STRING, TRELLIS_CONFIG_SECRET, "\"\"", 0, 8192, NULL,
     "libpq connection string or URI (\"host=db port=5432 dbname=trellis user=trellis\", "
     "\"postgresql://trellis@db/trellis?sslmode=verify-full\"). Empty: libpq's defaults and the "
     "PG* environment (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD or ~/.pgpass, "
     "PGSSLMODE...). Never logged; the log names host, port, database and user only"},
    {"schema", TRELLIS_CONFIG_STRING, 0, "\"trellis\"", 1, PG_IDENTIFIER_MAX, NULL,
     "PostgreSQL schema holding trellis's tables and functions ([a-z_][a-z0-9_]*). Created and "
     "migrated by the plugin. Every replica of one deployment uses the same schema"},
    {"channel", TRELLIS_CONFIG_STRING, 0, "\"\"", 0, PG_IDENTIFIER_MAX, NULL,
     "LISTEN/NOTIFY channel announcing commits ([a-z_][a-z0-9_]*); empty: <schema>_changes"},
    {"pool_size", TRELLIS_CONFIG_INTEGER, 0, "2", 1, 32, NULL,
     "connections serving reads (the catalog load and the change feed). The store also keeps "
     "one connection for commits and one for LISTEN: pool_size + 2 in all"},
    {"connect_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "5000", 1000, 600000, NULL,
     "how long one connection attempt may take (libpq connect_timeout, in whole seconds, "
     "unless the conninfo sets it)"},
    {"commit_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "10000", 200, 600000, NULL,
     "the longest a commit waits for its answer. Past it a commit that was never sent is "
     "answered unavailable, one whose outcome is still unknown (the connection was lost after "
     "it was sent and the database is not back) is answered with an I/O error saying so"},
    {"read_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "30000", 200, 600000, NULL,
     "the longest a read (read_all, read_changes) waits, connection included; then unavailable"},
    {"reconnect_min_ms", TRELLIS_CONFIG_INTEGER, 0, "100", 10, 60000, NULL,
     "first delay before reconnecting a lost connection; doubles per failed attempt"},
    {"reconnect_max_ms", TRELLIS_CONFIG_INTEGER, 0, "5000", 10, 600000, NULL,
     "longest delay between reconnection attempts"},
    {"keepalive_ms", TRELLIS_CONFIG_INTEGER, 0, "5000", 100, 3600000, NULL,
     "the LISTEN connection reads the newest revision this often: it finds a silently dead "
     "connection and any change whose notification was lost"},
    {"history_revisions", TRELLIS_CONFIG_INTEGER, 0, "100000", 1, 1000000000000.0, NULL,
     "revisions of change history kept for replicas catching up; one further behind reloads "
     "everything"},
    {"commit_id_retention_s", TRELLIS_CONFIG_INTEGER, 0, "3600", 60, 2592000, NULL,
     "how long each commit's id is kept to find out whether a commit whose connection was lost "
     "applied; at least twice commit_timeout_ms"},
    {"max_pending_commits", TRELLIS_CONFIG_INTEGER, 0, "10000", 1, 1000000, NULL,
     "commits accepted but not yet answered; more are refused with TRELLIS_ERR_LIMIT"},
    {"max_pending_reads", TRELLIS_CONFIG_INTEGER, 0, "1024", 1, 1000000, NULL,
     "reads accepted but not yet answered; more are refused with TRELLIS_ERR_LIMIT"},
    {"max_batch_commits", TRELLIS_CONFIG_INTEGER, 0, "256", 1, 4096, NULL,
     "commits sent to the database in one round trip and one transaction (group commit)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

bool pg_identifier_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > PG_IDENTIFIER_MAX)
        return false;
    if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

trellis_status pg_settings_check(const trellis_host *host, const trellis_config *config,
                                 trellis_error *err)
{
    const char *schema = host->config_get0_string(config, "schema");
    if (!pg_identifier_valid(schema)) {
        host->error_set(err, "schema",
                        "'%s' is not a plain lower-case identifier ([a-z_][a-z0-9_]*, at most "
                        "%d bytes)",
                        schema, PG_IDENTIFIER_MAX);
        return TRELLIS_ERR_INVALID;
    }
    if (strncmp(schema, "pg_", 3) == 0) {
        host->error_set(err, "schema", "names starting with pg_ are reserved by PostgreSQL");
        return TRELLIS_ERR_INVALID;
    }
    const char *channel = host->config_get0_string(config, "channel");
    if (channel[0] != '\0' && !pg_identifier_valid(channel)) {
        host->error_set(err, "channel",
                        "'%s' is not a plain lower-case identifier ([a-z_][a-z0-9_]*, at most "
                        "%d bytes)",
                        channel, PG_IDENTIFIER_MAX);
        return TRELLIS_ERR_INVALID;
    }
    if (channel[0] == '\0' && strlen(schema) + strlen("_changes") > PG_IDENTIFIER_MAX) {
        host->error_set(err, "channel",
                        "the default channel <schema>_changes is too long for schema '%s'; set "
                        "a channel",
                        schema);
        return TRELLIS_ERR_INVALID;
    }
    char why[256];
    if (!conninfo_parses(host->config_get0_string(config, "conninfo"), why, sizeof(why))) {
        host->error_set(err, "conninfo", "%s", why);
        return TRELLIS_ERR_INVALID;
    }
    int64_t min_ms = host->config_get_int(config, "reconnect_min_ms");
    int64_t max_ms = host->config_get_int(config, "reconnect_max_ms");
    if (min_ms > max_ms) {
        host->error_set(err, "reconnect_min_ms",
                        "%lld is larger than reconnect_max_ms (%lld)", (long long)min_ms,
                        (long long)max_ms);
        return TRELLIS_ERR_INVALID;
    }
    int64_t retention_s = host->config_get_int(config, "commit_id_retention_s");
    int64_t commit_ms = host->config_get_int(config, "commit_timeout_ms");
    if (retention_s * 1000 < 2 * commit_ms) {
        host->error_set(err, "commit_id_retention_s",
                        "%lld s is shorter than twice commit_timeout_ms (%lld ms): a commit's "
                        "outcome could no longer be found after a lost connection",
                        (long long)retention_s, (long long)commit_ms);
        return TRELLIS_ERR_INVALID;
    }
    return TRELLIS_OK;
}

bool pg_settings_load(pg_settings *st, const trellis_host *host, const trellis_config *config)
{
    memset(st, 0, sizeof(*st));
    st->conninfo = strdup(host->config_get0_string(config, "conninfo"));
    if (st->conninfo == NULL)
        return false;
    snprintf(st->schema, sizeof(st->schema), "%s", host->config_get0_string(config, "schema"));
    const char *channel = host->config_get0_string(config, "channel");
    if (channel[0] != '\0')
        snprintf(st->channel, sizeof(st->channel), "%s", channel);
    else
        snprintf(st->channel, sizeof(st->channel), "%.*s_changes",
                 (int)(PG_IDENTIFIER_MAX - strlen("_changes")), st->schema);
    st->pool_size = (unsigned)host->config_get_int(config, "pool_size");
    st->connect_timeout_ms = (uint64_t)host->config_get_int(config, "connect_timeout_ms");
    st->commit_timeout_ms = (uint64_t)host->config_get_int(config, "commit_timeout_ms");
    st->read_timeout_ms = (uint64_t)host->config_get_int(config, "read_timeout_ms");
    st->reconnect_min_ms = (uint64_t)host->config_get_int(config, "reconnect_min_ms");
    st->reconnect_max_ms = (uint64_t)host->config_get_int(config, "reconnect_max_ms");
    st->keepalive_ms = (uint64_t)host->config_get_int(config, "keepalive_ms");
    st->history_revisions = (uint64_t)host->config_get_int(config, "history_revisions");
    st->commit_id_retention_s = (uint64_t)host->config_get_int(config, "commit_id_retention_s");
    st->max_pending_commits = (size_t)host->config_get_int(config, "max_pending_commits");
    st->max_pending_reads = (size_t)host->config_get_int(config, "max_pending_reads");
    st->max_batch_commits = (size_t)host->config_get_int(config, "max_batch_commits");
    return true;
}

void pg_settings_free(pg_settings *st)
{
    if (st->conninfo != NULL) {
        /* It may hold a password: do not leave it in freed memory. */
        volatile char *p = st->conninfo;
        while (*p)
            *p++ = '\0';
        free(st->conninfo);
        st->conninfo = NULL;
    }
}
