/*
 * The database schema store.postgres keeps its data in, and its migrations.
 *
 * <schema>.schema_version lists every migration applied (version,
 * description, when, by whom). The plugin knows SCHEMA_VERSION migrations,
 * applied in order, each in the same transaction as its version row, under
 * an advisory lock so replicas starting together never race. A schema newer
 * than the plugin knows is refused: an older trellis must not write data
 * whose rules it does not know.
 *
 * These functions block (libpq's synchronous calls): they run on an offload
 * worker while a connection is being set up, never on the loop thread.
 */
#ifndef STORE_POSTGRES_SCHEMA_H
#define STORE_POSTGRES_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/* The newest schema version this build knows (the number of migrations). */
#define SCHEMA_VERSION 2

typedef enum schema_outcome {
    SCHEMA_READY = 0,  /* at SCHEMA_VERSION (migrated now, or already) */
    SCHEMA_FAILED = 1, /* a query failed (connection, permissions...): worth retrying */
    SCHEMA_TOO_NEW = 2 /* a newer trellis migrated it: this one must not run on it */
} schema_outcome;

typedef struct schema_result {
    schema_outcome outcome;
    int found_version;   /* before migrating (0: no schema yet) */
    int applied;         /* migrations applied now */
    char message[512];
} schema_result;

/* Checks the schema version and applies missing migrations. */
void schema_ensure(PGconn *conn, const char *schema, schema_result *result);

/* Applies migrations up to `version` only (tests of forward migration). */
void schema_ensure_version(PGconn *conn, const char *schema, int version, schema_result *result);

/* A copy of `sql` with every "@S@" replaced by the quoted schema name
 * ("name"); NULL on allocation failure. The schema name must satisfy
 * pg_identifier_valid(). Caller frees. */
char *schema_sql(const char *sql, const char *schema);

#endif
