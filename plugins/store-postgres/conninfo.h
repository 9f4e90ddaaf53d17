/*
 * The libpq side of the configuration: the connection parameters handed to
 * PQconnectdbParams (the configured conninfo, expanded, plus trellis's
 * fallbacks) and a description of the connection target that is safe to log
 * (host, port, database, user: never a password or key material).
 */
#ifndef STORE_POSTGRES_CONNINFO_H
#define STORE_POSTGRES_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether libpq can parse `conninfo` (a key=value string or a URI; "" is
 * fine). On failure writes a reason that quotes nothing from the string
 * (it may hold a password). */
bool conninfo_parses(const char *conninfo, char *why, size_t why_size);

/* "host=db.example port=5432 dbname=trellis user=trellis" for `conninfo`
 * with libpq's defaults and the PG* environment filled in. Never includes a
 * password. Always NUL-terminates `out`. */
void conninfo_describe(const char *conninfo, char *out, size_t out_size);

/* The keyword/value arrays for PQconnectdbParams(..., expand_dbname = 1):
 * the conninfo first (when not empty), then trellis's additions unless the
 * conninfo sets them: fallback_application_name "trellis", connect_timeout
 * (seconds, at least 2, from connect_timeout_ms) and client_encoding UTF8.
 * The arrays and strings live in `params`. */
typedef struct conninfo_params {
    const char *keywords[8];
    const char *values[8];
    char timeout_text[24];
} conninfo_params;

void conninfo_params_build(conninfo_params *params, const char *conninfo,
                           uint64_t connect_timeout_ms);

/* Replaces characters that break a one-line log entry (newlines, tabs) in
 * a libpq message with spaces and trims the end. In place. */
void pg_message_flatten(char *message);

#endif
