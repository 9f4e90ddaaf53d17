#include "resource_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_buffer.h"
#include "pb_json.h"
#include "strmap.h"
#include "xds_types.h"

typedef struct cache_entry {
    const char *key;            /* "<type>:<hash>", borrowed from the map */
    refbuf *any;                /* NULL when the encode failed */
    char *error;
    size_t bytes;
    struct cache_entry *newer;  /* LRU list, most recent at `newest` */
    struct cache_entry *older;
} cache_entry;

struct resource_cache {
    strmap by_key;
    cache_entry *newest;
    cache_entry *oldest;
    size_t max_bytes;
    size_t max_resource_bytes;
    resource_cache_stats stats;
};

resource_cache *resource_cache_new(size_t max_bytes, size_t max_resource_bytes)
{
    resource_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    strmap_init(&c->by_key);
    c->max_bytes = max_bytes;
    c->max_resource_bytes = max_resource_bytes;
    return c;
}

static void lru_unlink(resource_cache *c, cache_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push_newest(resource_cache *c, cache_entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    c->newest = e;
    if (c->oldest == NULL)
        c->oldest = e;
}

static void entry_free(cache_entry *e)
{
    refbuf_unref(e->any);
    free(e->error);
    free(e);
}

static void evict_oldest(resource_cache *c)
{
    cache_entry *e = c->oldest;
    lru_unlink(c, e);
    c->stats.bytes -= e->bytes;
    c->stats.entries--;
    c->stats.evictions++;
    strmap_remove(&c->by_key, e->key);
    entry_free(e);
}

void resource_cache_free(resource_cache *c)
{
    if (c == NULL)
        return;
    while (c->oldest)
        evict_oldest(c);
    strmap_free(&c->by_key);
    free(c);
}

const refbuf *resource_cache_get(resource_cache *c, trellis_xds_type type,
                                 const trellis_xds_resource *r, const char **error,
                                 bool *first_failure)
{
    *first_failure = false;
    char key[160];
    snprintf(key, sizeof(key), "%d:%s", (int)type, r->hash);
    void **slot = strmap_get(&c->by_key, key);
    if (slot != NULL) {
        cache_entry *e = *slot;
        c->stats.hits++;
        lru_unlink(c, e);
        lru_push_newest(c, e);
        *error = e->error;
        return e->any;
    }

    cache_entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        *error = "out of memory";
        return NULL;
    }
    byte_buffer out;
    bb_init(&out, c->max_resource_bytes);
    char message[1024];
    c->stats.encodes++;
    if (pb_json_encode_any_text(xds_type_descriptor(type), r->json, r->json_len, &out, message,
                                sizeof(message))) {
        e->any = refbuf_copy(out.data, out.len);
        if (e->any == NULL) {
            bb_free(&out);
            free(e);
            *error = "out of memory";
            return NULL;
        }
    } else {
        e->error = strdup(message);
        c->stats.failures++;
        *first_failure = true;
    }
    bb_free(&out);
    e->bytes = sizeof(*e) + strlen(key) + (e->any ? e->any->len : 0) + (e->error ? strlen(e->error) : 0);
    /* The map owns the key; the entry borrows it to remove itself on eviction. */
    e->key = strmap_put(&c->by_key, key, e);
    if (e->key == NULL) {
        entry_free(e);
        *error = "out of memory";
        return NULL;
    }
    lru_push_newest(c, e);
    c->stats.bytes += e->bytes;
    c->stats.entries++;
    /* Keep the entry just made even if it alone is over budget. */
    while (c->stats.bytes > c->max_bytes && c->oldest != e)
        evict_oldest(c);
    *error = e->error;
    return e->any;
}

void resource_cache_get_stats(const resource_cache *c, resource_cache_stats *out)
{
    *out = c->stats;
}
