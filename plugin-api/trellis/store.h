/*
 * trellis/store.h — the store kind: durable storage for the catalog.
 *
 * A store keeps a set of records (key -> opaque value bytes, with a per-record
 * version) and a global revision that grows by one with every commit. The core
 * owns all meaning: it reads every record at start, commits atomic groups of
 * conditional writes, and follows the change feed when several trellis
 * replicas share one store (store.postgres).
 *
 * Contract for every store:
 *   - commit() is atomic: either every op applies or none does.
 *   - Conditions (expected_version) are checked against the store's state
 *     including every earlier commit() call, in call order. A later commit's
 *     conditions see the effects of earlier successful ones; commits are
 *     applied in the order commit() was called.
 *   - done() is called exactly once, on the loop thread, and only after the
 *     commit is durable (it survives kill -9 and power loss as far as the
 *     medium allows). Stores should batch concurrent commits into one sync.
 *   - Revisions are assigned by the store, start at 1 and increase by exactly
 *     one per successful commit. A record's version is 1 when created and
 *     grows by one with every PUT; a DELETE removes it (a later PUT starts at 1).
 *   - All callbacks run on the loop thread; pointers passed to them are
 *     borrowed for the duration of the call.
 *
 * Ops changelog
 *   1  commit, read_all, read_changes, watch (ABI 1.1).
 */
#ifndef TRELLIS_STORE_H
#define TRELLIS_STORE_H

#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRELLIS_STORE_OPS_VERSION 1u

/* Limits every store accepts; the core never exceeds them. */
#define TRELLIS_STORE_KEY_MAX 1024u            /* bytes in a key */
#define TRELLIS_STORE_VALUE_MAX (4u << 20)     /* bytes in a value */
#define TRELLIS_STORE_OPS_MAX 256u             /* ops in one commit */

/* expected_version: no condition / the key must not exist / exactly version N. */
#define TRELLIS_STORE_ANY_VERSION UINT64_MAX
#define TRELLIS_STORE_ABSENT 0u

typedef enum trellis_store_op_type {
    TRELLIS_STORE_PUT = 1,    /* create or replace the key's value */
    TRELLIS_STORE_DELETE = 2, /* remove the key (it must exist) */
    TRELLIS_STORE_CHECK = 3   /* apply nothing; only the condition */
} trellis_store_op_type;

typedef struct trellis_store_op {
    uint32_t type;              /* trellis_store_op_type */
    uint32_t reserved;          /* zero */
    const char *key;            /* UTF-8, 1..TRELLIS_STORE_KEY_MAX bytes, no NUL */
    const char *value;          /* PUT: the value; otherwise NULL */
    size_t value_len;
    uint64_t expected_version;  /* condition checked before anything applies */
} trellis_store_op;

/* A record as read back (read_all) or a change (read_changes). */
typedef struct trellis_store_record {
    const char *key;
    const char *value;          /* NULL when this change deleted the key */
    size_t value_len;
    uint64_t version;           /* record version after the change; 0 when deleted */
    uint64_t revision;          /* revision of the commit that wrote it */
} trellis_store_record;

/* commit() finished. TRELLIS_OK with the commit's revision; TRELLIS_ERR_CONFLICT
 * when a condition failed (nothing applied; `message` names the key);
 * TRELLIS_ERR_UNAVAILABLE when the store cannot be reached (nothing applied,
 * retry later); TRELLIS_ERR_IO or TRELLIS_ERR when the outcome is a failure. */
typedef void (*trellis_store_commit_done_fn)(void *arg, trellis_status status, uint64_t revision,
                                             const char *message);
typedef void (*trellis_store_visit_fn)(void *arg, const trellis_store_record *record);
/* A read finished: TRELLIS_OK with the revision it read up to. For
 * read_changes, TRELLIS_ERR_NOT_FOUND means history no longer reaches the
 * requested revision: read everything again with read_all(). */
typedef void (*trellis_store_read_done_fn)(void *arg, trellis_status status, uint64_t revision,
                                           const char *message);
typedef void (*trellis_store_notify_fn)(void *arg);

typedef struct trellis_store_ops {
    trellis_ops_header header; /* { sizeof(trellis_store_ops), TRELLIS_STORE_OPS_VERSION } */

    /* Applies `ops` atomically if every condition holds. Returns TRELLIS_OK
     * when accepted (done() follows exactly once), or an error status without
     * calling done() (TRELLIS_ERR_INVALID for ops breaking the limits,
     * TRELLIS_ERR_UNAVAILABLE when stopped). `ops` is copied before return. */
    trellis_status (*commit)(void *instance, const trellis_store_op *ops, size_t op_count,
                             trellis_store_commit_done_fn done, void *arg);

    /* Visits every current record (any order), then calls done() with the
     * revision the visit reflects. Returns TRELLIS_OK when accepted. */
    trellis_status (*read_all)(void *instance, trellis_store_visit_fn visit,
                               trellis_store_read_done_fn done, void *arg);

    /* Visits every change committed after revision `since`, in revision order,
     * then calls done() with the newest revision visited (or `since`). */
    trellis_status (*read_changes)(void *instance, uint64_t since, trellis_store_visit_fn visit,
                                   trellis_store_read_done_fn done, void *arg);

    /* Asks to be told when another writer may have committed (several
     * replicas on one database). `notify` may coalesce; the core then calls
     * read_changes(). A store with a single writer never calls it. */
    void (*watch)(void *instance, trellis_store_notify_fn notify, void *arg);
} trellis_store_ops;

#define TRELLIS_STORE_OPS_HEADER                                                \
    .header = {sizeof(trellis_store_ops), TRELLIS_STORE_OPS_VERSION }

#if UINTPTR_MAX == 0xffffffffffffffffu && !defined(__cplusplus)
_Static_assert(sizeof(trellis_store_op) == 40, "ABI: trellis_store_op");
_Static_assert(offsetof(trellis_store_op, expected_version) == 32, "ABI: trellis_store_op");
_Static_assert(sizeof(trellis_store_record) == 40, "ABI: trellis_store_record");
_Static_assert(offsetof(trellis_store_record, revision) == 32, "ABI: trellis_store_record");
_Static_assert(sizeof(trellis_store_ops) == 40, "ABI: trellis_store_ops (version 1)");
#endif

#ifdef __cplusplus
}
#endif

#endif /* TRELLIS_STORE_H */
