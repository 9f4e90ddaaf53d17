/*
 * What the xDS caches (resource_cache, response_cache) share: entries found
 * by a string key, kept in least-recently-used order and bounded by the
 * bytes they account for. Each cache embeds an lru_entry as the first
 * member of its own entry and keeps what the entry holds; the index owns
 * the keys (copies in its map) and gives an evicted entry back to the cache
 * through `drop`, which frees it. Loop thread.
 */
#ifndef TRELLIS_XDS_LRU_INDEX_H
#define TRELLIS_XDS_LRU_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strmap.h"

typedef struct lru_entry {
    const char *key; /* borrowed from the index's map while indexed */
    size_t bytes;    /* what it counts against the budget */
    struct lru_entry *newer;
    struct lru_entry *older;
} lru_entry;

/* Frees an entry the index evicted (no longer indexed). */
typedef void (*lru_drop_fn)(void *owner, lru_entry *entry);

typedef struct lru_index {
    strmap by_key;
    lru_entry *newest;
    lru_entry *oldest;
    size_t max_bytes;
    size_t bytes; /* of the entries indexed */
    size_t entries;
    uint64_t evictions;
    lru_drop_fn drop;
    void *owner; /* drop's first argument */
} lru_index;

void lru_index_init(lru_index *l, size_t max_bytes, lru_drop_fn drop, void *owner);
/* Drops every entry and frees the map. */
void lru_index_free(lru_index *l);

/* The entry under `key`, made the most recently used; NULL if none. */
lru_entry *lru_index_get(lru_index *l, const char *key);

/* Indexes `e` under a copy of `key` as the most recently used entry,
 * counting `bytes`, then evicts the least recently used ones until the
 * budget holds again, never `e` itself (kept even when it alone is over).
 * false on allocation failure: `e` is not indexed and stays the caller's. */
bool lru_index_add(lru_index *l, const char *key, lru_entry *e, size_t bytes);

/* Removes `e` from the index and drops it. */
void lru_index_evict(lru_index *l, lru_entry *e);

#endif
