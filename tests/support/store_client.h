/*
 * A small synchronous client over a store plugin instance in the harness,
 * for the conformance suite and the store plugins' own tests: build ops,
 * commit and wait for the answer, read everything or the change feed into
 * arrays. Every answer is checked to arrive exactly once.
 */
#ifndef TRELLIS_TEST_STORE_CLIENT_H
#define TRELLIS_TEST_STORE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/store.h>

#include "plugin_harness.h"

#define STORE_CLIENT_WAIT_MS 20000

typedef struct store_client {
    harness *h;
    harness_instance *hi;
    const trellis_store_ops *ops;
    void *store;
    uint64_t answers;          /* commit answers so far, to stamp their order */
    struct commit_answer *all; /* every answer record made, owned (see store_client_finish) */
    struct read_result *reads; /* every read record made, owned (likewise) */
} store_client;

/* Binds a started instance to a zeroed client, or rebinds it after a
 * restart (answers made so far stay tracked). A client
 * bound to NULL (a store that failed to start) refuses every call with
 * TRELLIS_ERR_UNAVAILABLE, so a test can go on checking safely. */
void store_client_bind(store_client *c, harness *h, harness_instance *hi);
/* Runs the loop a little longer, then checks that every accepted commit was
 * answered exactly once and every refused one never; frees the answer
 * records. Returns the number of breaches (printed). Call before stopping. */
int store_client_finish(store_client *c);

static inline trellis_store_op op_put(const char *key, const char *value, uint64_t expected)
{
    return (trellis_store_op){.type = TRELLIS_STORE_PUT,
                              .key = key,
                              .value = value,
                              .value_len = value ? __builtin_strlen(value) : 0,
                              .expected_version = expected};
}

static inline trellis_store_op op_put_bytes(const char *key, const void *value, size_t len,
                                            uint64_t expected)
{
    return (trellis_store_op){.type = TRELLIS_STORE_PUT,
                              .key = key,
                              .value = value,
                              .value_len = len,
                              .expected_version = expected};
}

static inline trellis_store_op op_delete(const char *key, uint64_t expected)
{
    return (trellis_store_op){
        .type = TRELLIS_STORE_DELETE, .key = key, .expected_version = expected};
}

static inline trellis_store_op op_check(const char *key, uint64_t expected)
{
    return (trellis_store_op){
        .type = TRELLIS_STORE_CHECK, .key = key, .expected_version = expected};
}

/* The outcome of one commit() call. */
typedef struct commit_answer {
    struct commit_answer *next_made; /* the client's list */
    store_client *client;
    trellis_status returned; /* what commit() returned */
    int calls;               /* how many times done() ran */
    trellis_status status;
    uint64_t revision;
    uint64_t order; /* 1 + answers before this one */
    char message[1200];
} commit_answer;

/* Calls commit(); done() fills the returned record (owned by the client,
 * valid until store_client_finish), whose `returned` is commit()'s status. */
commit_answer *store_commit_async(store_client *c, const trellis_store_op *ops, size_t n);
/* Runs the loop until every accepted commit among `a[0..n)` was answered. */
bool store_wait(store_client *c, commit_answer *const *a, size_t n);
/* commit() and wait: a copy of the answer; `status` is commit()'s error if
 * it refused the commit. */
commit_answer store_commit(store_client *c, const trellis_store_op *ops, size_t n);
/* Convenience: the status of a one-op commit, and its revision in *revision. */
trellis_status store_commit1(store_client *c, trellis_store_op op, uint64_t *revision);

/* A record read back, owned copies. */
typedef struct read_record {
    char *key;
    char *value; /* NULL for a deletion in the change feed */
    size_t value_len;
    uint64_t version;
    uint64_t revision;
} read_record;

typedef struct read_result {
    struct read_result *next_made; /* the client's list */
    trellis_status returned;       /* what the read call returned */
    int done_calls;
    trellis_status status;
    uint64_t revision;
    char message[512];
    read_record *records; /* owned, in visit order */
    size_t count;
    bool visit_after_done; /* a visit arrived after done(): a contract breach */
} read_result;

/* read_all / read_changes and wait for done(). The copy owns `records`. */
read_result store_read_all(store_client *c);
read_result store_read_changes(store_client *c, uint64_t since);
void read_result_free(read_result *r);
/* The record with `key`, or NULL. */
const read_record *read_result_find(const read_result *r, const char *key);

#endif
