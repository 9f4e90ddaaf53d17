/*
 * store.postgres's configuration: the schema the host validates against, the
 * cross-field rules of check_config, and the settings struct the rest of the
 * plugin reads (copied out of the host's config once, at create).
 */
#ifndef STORE_POSTGRES_SETTINGS_H
#define STORE_POSTGRES_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

/* PostgreSQL's NAMEDATALEN - 1: the longest identifier it keeps whole. */
#define PG_IDENTIFIER_MAX 63

extern const trellis_config_field store_postgres_schema[];

typedef struct pg_settings {
    char *conninfo;            /* owned; may be "" (libpq defaults, PG* environment). SECRET */
    char schema[PG_IDENTIFIER_MAX + 1];
    char channel[PG_IDENTIFIER_MAX + 1];
    unsigned pool_size;        /* reader connections */
    uint64_t connect_timeout_ms;
    uint64_t commit_timeout_ms;
    uint64_t read_timeout_ms;
    uint64_t reconnect_min_ms;
    uint64_t reconnect_max_ms;
    uint64_t keepalive_ms;
    uint64_t history_revisions;
    uint64_t commit_id_retention_s;
    size_t max_pending_commits;
    size_t max_pending_reads;
    size_t max_batch_commits;
} pg_settings;

/* Cross-field and format rules beyond the schema. TRELLIS_OK or
 * TRELLIS_ERR_INVALID with the message set (never quoting the conninfo). */
trellis_status pg_settings_check(const trellis_host *host, const trellis_config *config,
                                 trellis_error *err);

/* Copies a checked config. false on allocation failure. */
bool pg_settings_load(pg_settings *st, const trellis_host *host, const trellis_config *config);
void pg_settings_free(pg_settings *st);

/* [a-z_][a-z0-9_]*, at most PG_IDENTIFIER_MAX bytes: safe to quote into SQL. */
bool pg_identifier_valid(const char *name);

#endif
