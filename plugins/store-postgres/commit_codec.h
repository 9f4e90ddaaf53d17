/*
 * Commits as store.postgres holds them: the checks of store.h's limits, a
 * private copy of each commit's ops (one allocation), and the encoding of a
 * batch of commits into the parameters of <schema>.commit_batch() (binary
 * arrays: keys and values travel as raw bytes). No libpq, no host: unit-
 * tested on its own (tests/test_codec.c).
 */
#ifndef STORE_POSTGRES_COMMIT_CODEC_H
#define STORE_POSTGRES_COMMIT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/store.h>

#include "wire.h"

/* The most payload (keys and values) one commit may carry. store.h allows
 * 256 values of 4 MiB; PostgreSQL refuses any parameter over 1 GB, so a
 * commit that large could never be sent. */
#define PG_COMMIT_PAYLOAD_MAX (512u << 20)

/* A batch stops growing past this many payload bytes (one commit always fits). */
#define PG_BATCH_SOFT_MAX_BYTES (16u << 20)

typedef struct pg_op {
    uint32_t type; /* trellis_store_op_type */
    const char *key;
    size_t key_len;
    const char *value; /* PUT: the value (never NULL: "" when empty); else NULL */
    size_t value_len;
    uint64_t expected_version;
} pg_op;

/* One accepted commit() call. Owned by the writer's lists, which say where
 * it stands: queued, in the batch on the wire, or of unknown outcome. */
typedef struct pg_commit {
    struct pg_commit *next;
    uint8_t id[PG_UUID_LEN];
    bool answered; /* done() ran (an unknown outcome answered at its deadline) */
    uint64_t deadline_ns;
    trellis_store_commit_done_fn done;
    void *arg;
    size_t payload; /* key and value bytes */
    size_t op_count;
    pg_op ops[]; /* keys and values follow the array, in the same allocation */
} pg_commit;

/*
 * Checks `ops` against store.h's limits (op count, key length and UTF-8,
 * value length, op types, reserved zero, values only on PUT) and the
 * payload cap. TRELLIS_OK, or TRELLIS_ERR_INVALID with a reason.
 */
trellis_status pg_ops_validate(const trellis_store_op *ops, size_t op_count, char *why,
                               size_t why_size);

/* A private copy of validated ops; NULL on allocation failure. Free with free(). */
pg_commit *pg_commit_new(const trellis_store_op *ops, size_t op_count);

/* The parameters of commit_batch() for the commits of `batch` (a list
 * linked by `next`, `count` long). Arrays go in binary format, the scalars
 * in text. The buffers are reused from batch to batch. */
#define PG_BATCH_PARAMS 12

typedef struct pg_batch_params {
    byte_buffer arrays[6]; /* ids, op counts, types, keys, values, expected */
    char history_text[24];
    char retention_text[24];
    char since_text[24];
    char changes_text[24];
    const char *values[PG_BATCH_PARAMS];
    int lengths[PG_BATCH_PARAMS];
    int formats[PG_BATCH_PARAMS];
} pg_batch_params;

/* What else a batch carries: how much history to keep, how long commit ids
 * live, and the change feed to hand back (since < 0: none; see
 * change_cache.h). */
typedef struct pg_batch_settings {
    const char *channel;    /* must outlive the send */
    const char *notify_tag; /* likewise */
    uint64_t history_revisions;
    uint64_t id_retention_s;
    int64_t since;
    uint64_t changes_revisions;
} pg_batch_settings;

/* Before the first encode: empty buffers, nothing allocated. */
void pg_batch_params_init(pg_batch_params *p);
/* false on allocation failure. */
bool pg_batch_encode(pg_batch_params *p, const pg_commit *batch, size_t count,
                     const pg_batch_settings *settings);
/* Releases the buffers; `p` may be encoded into again. */
void pg_batch_params_free(pg_batch_params *p);

/* expected_version as commit_batch() takes it: -1 any, 0 absent, else N.
 * Versions past INT64_MAX can never match a record: INT64_MAX stands in. */
int64_t pg_expected_encode(uint64_t expected_version);

#endif
