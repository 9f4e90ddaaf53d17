/*
 * The link between the catalog and the store plugin instance: loads every
 * record at start, commits the core's writes and applies them once durable,
 * and follows the store's change feed when another writer (a replica sharing
 * the database) commits. Subscribers hear about every applied revision.
 *
 * Loop thread only.
 */
#ifndef TRELLIS_CORE_CATALOG_STORE_H
#define TRELLIS_CORE_CATALOG_STORE_H

#include <jansson.h>

#include <trellis/store.h>

#include "catalog.h"

typedef struct catalog_store catalog_store;

/* One write of a commit. For resource keys a PUT gives `record` (borrowed,
 * serialized by the commit); system keys give raw bytes. `expected_version`
 * is always explicit (TRELLIS_STORE_ABSENT or the version the write read). */
typedef struct catalog_op {
    trellis_store_op_type type;
    const char *key;
    json_t *record;
    const char *raw_value;
    size_t raw_len;
    uint64_t expected_version;
} catalog_op;

typedef void (*catalog_done_fn)(void *arg, trellis_status status, uint64_t revision,
                                const char *message);

catalog_store *catalog_store_new(catalog *cat, const trellis_store_ops *ops,
                                 void *store_instance);
void catalog_store_free(catalog_store *cs);

/* Reads every record into the (empty) catalog, then calls done. Afterwards
 * the link follows the store's change notifications. */
void catalog_store_load(catalog_store *cs, catalog_done_fn done, void *arg);

/*
 * Commits `ops` atomically. On TRELLIS_OK the changes are already in the
 * catalog and published when done runs. On TRELLIS_ERR_CONFLICT the catalog
 * has caught up with the store, so the caller can validate again and retry.
 * Other statuses: nothing changed (TRELLIS_ERR_UNAVAILABLE, TRELLIS_ERR_IO...).
 * Returns TRELLIS_OK when accepted (done follows once), else an error.
 */
trellis_status catalog_store_commit(catalog_store *cs, const catalog_op *ops, size_t op_count,
                                    catalog_done_fn done, void *arg);

#endif
