/*
 * The catalog: the App Mesh resources as the store last acknowledged them,
 * in memory, ordered by store key (so every listing is a stable prefix scan),
 * with the global revision, a client-token index and change subscribers.
 *
 * Each resource record's value is a JSON document:
 *   {"data": <XxxData as the API returns it>, "tags": [TagRef...],
 *    "clientToken": "...", "inputHash": "..."}      (last two optional)
 * System records (scope/..., meta/...) keep their raw bytes.
 *
 * Loop thread only. Entries are stable pointers until removed.
 */
#ifndef TRELLIS_CORE_CATALOG_H
#define TRELLIS_CORE_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resource_kind.h"

typedef struct catalog catalog;

/* How catalog documents are serialized: compact, and with timestamps (epoch
 * seconds with milliseconds, the only reals in a document) printed as
 * 1700000000.123 rather than with 17 significant digits. */
#define CATALOG_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(13))

typedef struct catalog_entry {
    char *key;
    resource_kind kind;          /* RESOURCE_SYSTEM for scope/meta records */
    char *mesh;                  /* decoded names (resources only) */
    char *parent;                /* router/gateway of routes, else "" */
    char *name;
    uint64_t version;            /* store record version */
    uint64_t revision;           /* revision of the commit that wrote it */
    json_t *record;              /* resources: the parsed document (owned) */
    json_t *data;                /* resources: record["data"] (borrowed) */
    char *data_text;             /* resources in the catalog (not overlays): compact JSON
                                  * of data, for Describe */
    size_t data_len;
    char *ref_text;              /* resources: the list item's JSON, cached by the first List */
    size_t ref_len;
    char *value;                 /* system records: raw bytes (NUL-terminated) */
    size_t value_len;
    char *client_token;          /* resources: token of the last write, or NULL */
} catalog_entry;

/* One changed key of a committed revision, as published to subscribers. */
typedef struct catalog_change {
    const char *key;
    resource_kind kind;
    const char *mesh;            /* resources only, else NULL */
    bool deleted;
} catalog_change;

typedef void (*catalog_listener_fn)(void *arg, uint64_t revision, const catalog_change *changes,
                                    size_t change_count);

catalog *catalog_new(void);
void catalog_free(catalog *cat);

const catalog_entry *catalog_get(const catalog *cat, const char *key);
/* catalog_get of a resource by kind and names (catalog_key_resource);
 * NULL when absent or when the names make no key. */
const catalog_entry *catalog_get_resource(const catalog *cat, resource_kind kind, const char *mesh,
                                          const char *parent, const char *name);
size_t catalog_count(const catalog *cat);
/* Calls fn for each entry whose key starts with prefix, in key order, until
 * fn returns false. The catalog must not change during the scan. Like
 * catalog_get, catalog_count_prefix and catalog_find_token, it sees the
 * overlay in use, if any. */
typedef bool (*catalog_visit_fn)(const catalog_entry *entry, void *arg);
void catalog_scan_prefix(const catalog *cat, const char *prefix, catalog_visit_fn fn, void *arg);

/* Number of entries whose key starts with prefix. */
size_t catalog_count_prefix(const catalog *cat, const char *prefix);

/*
 * Stores a record. For resource keys `record` (a parsed document, stolen even
 * on failure) must be given; for system keys the raw value is copied. On
 * failure (malformed key or document, allocation) returns false with the
 * reason in errbuf and leaves the catalog unchanged.
 */
bool catalog_put(catalog *cat, const char *key, uint64_t version, uint64_t revision,
                 json_t *record, const char *value, size_t value_len, char *errbuf,
                 size_t errbuf_size);
/* Removes a key; false if it was not present. */
bool catalog_remove(catalog *cat, const char *key);
/* Removes everything (before a full reload). */
void catalog_clear(catalog *cat);

uint64_t catalog_revision(const catalog *cat);
void catalog_set_revision(catalog *cat, uint64_t revision);

/* Remembers an entry's serialized list item (taking ownership of `text`);
 * entries are replaced, never modified, so the cache cannot go stale. */
void catalog_entry_cache_ref_text(const catalog_entry *entry, char *text);

/* The resource whose last write carried this client token, or NULL. */
const catalog_entry *catalog_find_token(const catalog *cat, const char *token);

/*
 * Planning overlay: writes sent to the store but not yet durable. While an
 * overlay is in use (catalog_use_overlay), catalog_get, catalog_scan_prefix,
 * catalog_count_prefix and catalog_find_token see it over the catalog; the
 * write lanes set it only around the planning of a write, so readers never
 * see an unacknowledged write. Every tentative write carries the sequence
 * number of the planned write that made it. Loop thread.
 */
typedef struct catalog_overlay catalog_overlay;

catalog_overlay *catalog_overlay_new(void);
void catalog_overlay_free(catalog_overlay *ov);
/* A PUT the store will give `version`: a resource's document (`record`,
 * borrowed; a reference is kept) or a system record's raw bytes. */
bool catalog_overlay_put(catalog_overlay *ov, const char *key, uint64_t version, json_t *record,
                         const char *raw_value, size_t raw_len, uint64_t seq, char *errbuf,
                         size_t errbuf_size);
bool catalog_overlay_delete(catalog_overlay *ov, const char *key, uint64_t seq);
/* The write `seq` is durable (the catalog has it): forget its tentative entries. */
void catalog_overlay_forget(catalog_overlay *ov, uint64_t seq);
/* The write `seq` failed: forget its entries and those of every later write. */
void catalog_overlay_forget_from(catalog_overlay *ov, uint64_t seq);
/* Lookups see `ov` over the catalog until called with NULL. */
void catalog_use_overlay(catalog *cat, const catalog_overlay *ov);

/* Change subscribers, called after every applied revision in order. */
bool catalog_subscribe(catalog *cat, catalog_listener_fn fn, void *arg);
void catalog_unsubscribe(catalog *cat, catalog_listener_fn fn, void *arg);
void catalog_publish(catalog *cat, uint64_t revision, const catalog_change *changes,
                     size_t change_count);

#endif
