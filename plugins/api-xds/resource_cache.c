#include "resource_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_buffer.h"
#include "lru_index.h"
#include "pb_json.h"
#include "xds_types.h"

typedef struct cache_entry {
    lru_entry lru;              /* first: the index's entry is the cache's */
    refbuf *any;                /* NULL when the encode failed */
    char *error;
} cache_entry;

struct resource_cache {
    lru_index lru;
    size_t max_resource_bytes;
};

static void entry_free(cache_entry *e)
{
    refbuf_unref(e->any);
    free(e->error);
    free(e);
}

static void drop_entry(void *owner, lru_entry *e)
{
    (void)owner;
    entry_free((cache_entry *)e);
}

resource_cache *resource_cache_new(size_t max_bytes, size_t max_resource_bytes)
{
    resource_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    lru_index_init(&c->lru, max_bytes, drop_entry, c);
    c->max_resource_bytes = max_resource_bytes;
    return c;
}

void resource_cache_free(resource_cache *c)
{
    if (c == NULL)
        return;
    lru_index_free(&c->lru);
    free(c);
}

const refbuf *resource_cache_get(resource_cache *c, trellis_xds_type type,
                                 const trellis_xds_resource *r, const char **error,
                                 bool *first_failure)
{
    *first_failure = false;
    char key[160];
    snprintf(key, sizeof(key), "%d:%s", (int)type, r->hash);
    cache_entry *e = (cache_entry *)lru_index_get(&c->lru, key);
    if (e != NULL) {
        *error = e->error;
        return e->any;
    }

    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        *error = "out of memory";
        return NULL;
    }
    byte_buffer out;
    bb_init(&out, c->max_resource_bytes);
    char message[1024];
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
        *first_failure = true;
    }
    bb_free(&out);
    size_t bytes = sizeof(*e) + strlen(key) + (e->any ? e->any->len : 0) +
                   (e->error ? strlen(e->error) : 0);
    if (!lru_index_add(&c->lru, key, &e->lru, bytes)) {
        entry_free(e);
        *error = "out of memory";
        return NULL;
    }
    *error = e->error;
    return e->any;
}
