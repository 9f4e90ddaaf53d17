/*
 * Setting up one connection before the loop uses it (blocking: runs on an
 * offload worker): checks the server (primary, UTF-8), pins the session
 * settings the store's guarantees rely on, makes sure the schema is current
 * (schema.h), prepares the role's statements, and for the listener starts
 * LISTENing.
 *
 * Session settings, whatever the database or role defaults say:
 *   default_transaction_isolation  read committed (the commit function's
 *                                  lock-then-read relies on it)
 *   synchronous_commit             at least "on" when the default is "off":
 *                                  a commit is flushed before it is answered
 *   plan_cache_mode, jit           custom plans, no JIT: every statement
 *                                  reads a few index entries, which a generic
 *                                  plan cannot know for "revision > $1"
 *   statement_timeout, lock_timeout
 *                                  three quarters of the role's client-side
 *                                  timeout, so the server cancels a stuck
 *                                  statement (a definite "not applied")
 *                                  before the client has to give up on it
 */
#ifndef STORE_POSTGRES_SESSION_H
#define STORE_POSTGRES_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "schema.h"

typedef enum pg_role {
    PG_ROLE_WRITER = 0,   /* commit_batch, resolve_commits */
    PG_ROLE_READER = 1,   /* read_all, read_changes */
    PG_ROLE_LISTENER = 2  /* LISTEN, head */
} pg_role;

/* Prepared statement names. */
#define STMT_COMMIT_BATCH "trellis_commit_batch"
#define STMT_RESOLVE "trellis_resolve_commits"
#define STMT_READ_ALL "trellis_read_all"
#define STMT_READ_CHANGES "trellis_read_changes"
#define STMT_HEAD "trellis_head"

typedef struct session_params {
    const char *schema;
    const char *channel;
    pg_role role;
    uint64_t statement_timeout_ms; /* 0: leave the server's */
} session_params;

typedef struct session_result {
    bool ok;
    bool fatal;              /* retrying cannot help (schema too new, encoding) */
    schema_result schema;    /* what the schema check found and did */
    bool raised_sync_commit; /* synchronous_commit was off and is now on */
    char message[600];
} session_result;

void session_setup(PGconn *conn, const session_params *params, session_result *result);

#endif
