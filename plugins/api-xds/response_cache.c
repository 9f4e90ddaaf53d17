#include "response_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_buffer.h"
#include "lru_index.h"
#include "pb_wire.h"
#include "xds_types.h"
#include "xds_wire.h"

typedef struct response_entry {
    lru_entry lru;                  /* first: the index's entry is the cache's */
    sotw_response response;
    char *version;
    char *error;
    uint64_t last_used_ns;
} response_entry;

struct response_cache {
    const trellis_host *host;
    resource_cache *resources;
    lru_index lru;
    size_t max_message_bytes;
    char *control_plane;
};

static void entry_free(response_entry *e)
{
    refbuf_unref(e->response.body);
    free(e->version);
    free(e->error);
    free(e);
}

static void drop_entry(void *owner, lru_entry *e)
{
    (void)owner;
    entry_free((response_entry *)e);
}

response_cache *response_cache_new(const trellis_host *host, resource_cache *resources,
                                   size_t max_bytes, size_t max_message_bytes,
                                   const char *control_plane)
{
    response_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->control_plane = strdup(control_plane);
    if (c->control_plane == NULL) {
        free(c);
        return NULL;
    }
    c->host = host;
    c->resources = resources;
    lru_index_init(&c->lru, max_bytes, drop_entry, c);
    c->max_message_bytes = max_message_bytes;
    return c;
}

void response_cache_free(response_cache *c)
{
    if (c == NULL)
        return;
    lru_index_free(&c->lru);
    free(c->control_plane);
    free(c);
}

void xds_put_control_plane(byte_buffer *b, uint32_t field, const char *identifier)
{
    pb_put_tag(b, field, PB_WIRE_LEN);
    size_t mark = pb_begin_len(b);
    pb_put_string_field(b, CONTROL_PLANE_IDENTIFIER, identifier);
    pb_end_len(b, mark);
}

/* "<type version>/<type>/<star>" for a wildcard, else
 * "<type version>/<type>/=name\nname\n"; then "+<union version>" when
 * resources are retained. A type's version is a digest of its resources
 * (plugin.h), so equal keys are equal responses, whichever identity's
 * snapshot they come from, and no snapshot has to be kept alive for them. */
static char *make_key(const trellis_host *host, trellis_xds_snapshot *snapshot, trellis_xds_type type,
                      bool wildcard, const name_set *names, const retained_list *keep)
{
    const char *version = host->xds_snapshot_version(snapshot, type);
    if (version == NULL)
        version = "";
    size_t len = 64 + strlen(version) + (keep ? RETENTION_VERSION_SIZE + 1 : 0);
    if (!wildcard)
        for (size_t i = 0; i < names->count; i++)
            len += strlen(names->names[i]) + 1;
    char *key = malloc(len);
    if (key == NULL)
        return NULL;
    size_t n =
        (size_t)snprintf(key, len, "%s/%d/%s", version, (int)type, wildcard ? "*" : "=");
    if (!wildcard) {
        for (size_t i = 0; i < names->count; i++) {
            size_t l = strlen(names->names[i]);
            memcpy(key + n, names->names[i], l);
            n += l;
            key[n++] = '\n';
        }
        key[n] = '\0';
    }
    if (keep != NULL)
        snprintf(key + n, len - n, "+%s", keep->version);
    return key;
}

/* Appends one resource as `resources` (field 2); false with e->error set. */
static bool append_resource(response_cache *c, response_entry *e, byte_buffer *body,
                            trellis_xds_type type, const trellis_xds_resource *r, bool *first_error)
{
    const char *error = NULL;
    bool first = false;
    const refbuf *any = resource_cache_get(c->resources, type, r, &error, &first);
    if (any == NULL) {
        size_t len = strlen(r->name) + strlen(error) + 64;
        e->error = malloc(len);
        if (e->error)
            snprintf(e->error, len, "%s %s: %s", xds_type_info_of(type)->short_name, r->name, error);
        *first_error = first;
        return false;
    }
    pb_put_bytes_field(body, DISCOVERY_RESPONSE_RESOURCES, any->data, any->len);
    return true;
}

static bool build(response_cache *c, response_entry *e, trellis_xds_snapshot *snapshot,
                  trellis_xds_type type, bool wildcard, const name_set *names,
                  const retained_list *keep, bool *first_error)
{
    const trellis_host *h = c->host;
    byte_buffer body;
    bb_init(&body, c->max_message_bytes);
    const char *version = keep ? keep->version : h->xds_snapshot_version(snapshot, type);
    e->version = strdup(version ? version : "");
    if (e->version == NULL)
        return false;
    if (e->version[0] != '\0')
        pb_put_string_field(&body, DISCOVERY_RESPONSE_VERSION_INFO, e->version);
    size_t count = 0, retained = 0;
    bool ok = true;
    if (wildcard) {
        /* Both lists are in name order and disjoint: merge them, so the
         * union reads like a snapshot's response. */
        size_t n = h->xds_snapshot_count(snapshot, type), i = 0, k = 0;
        size_t kept = keep ? keep->count : 0;
        while (ok && (i < n || k < kept)) {
            const trellis_xds_resource *own = i < n ? h->xds_snapshot_at(snapshot, type, i) : NULL;
            const trellis_xds_resource *old = k < kept ? keep->items[k] : NULL;
            bool take_old = old != NULL && (own == NULL || strcmp(old->name, own->name) < 0);
            ok = append_resource(c, e, &body, type, take_old ? old : own, first_error);
            if (take_old) {
                k++;
                retained++;
            } else {
                i++;
            }
            count++;
        }
    } else {
        for (size_t i = 0; i < names->count && ok; i++) {
            const trellis_xds_resource *r = h->xds_snapshot_find(snapshot, type, names->names[i]);
            if (r == NULL && keep != NULL && (r = retained_find(keep, names->names[i])) != NULL)
                retained++;
            if (r == NULL)
                continue; /* not there (yet): SotW sends what exists */
            ok = append_resource(c, e, &body, type, r, first_error);
            count++;
        }
    }
    if (ok) {
        pb_put_string_field(&body, DISCOVERY_RESPONSE_TYPE_URL, xds_type_info_of(type)->url);
        xds_put_control_plane(&body, DISCOVERY_RESPONSE_CONTROL_PLANE, c->control_plane);
        if (bb_failed(&body)) {
            char message[160];
            snprintf(message, sizeof(message),
                     "the %s response exceeds max_response_bytes (%zu) or memory ran out",
                     xds_type_info_of(type)->short_name, c->max_message_bytes);
            e->error = strdup(message);
            *first_error = true;
        } else {
            e->response.body = refbuf_copy(body.data, body.len);
            if (e->response.body == NULL) {
                bb_free(&body);
                return false;
            }
        }
    }
    bb_free(&body);
    if (e->error == NULL && e->response.body == NULL)
        return false; /* out of memory while formatting the error */
    e->response.version = e->version;
    e->response.resource_count = count;
    e->response.retained_count = retained;
    e->response.error = e->error;
    return true;
}

const sotw_response *response_cache_get(response_cache *c, trellis_xds_snapshot *snapshot,
                                        trellis_xds_type type, bool wildcard, const name_set *names,
                                        const retained_list *keep, bool *first_error)
{
    *first_error = false;
    char *key = make_key(c->host, snapshot, type, wildcard, names, keep);
    if (key == NULL)
        return NULL;
    uint64_t now = c->host->monotonic_ns();
    response_entry *e = (response_entry *)lru_index_get(&c->lru, key);
    if (e != NULL) {
        free(key);
        e->last_used_ns = now;
        return &e->response;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        free(key);
        return NULL;
    }
    if (!build(c, e, snapshot, type, wildcard, names, keep, first_error)) {
        entry_free(e);
        free(key);
        return NULL;
    }
    e->last_used_ns = now;
    size_t bytes = sizeof(*e) + strlen(key) + (e->response.body ? e->response.body->len : 0);
    bool indexed = lru_index_add(&c->lru, key, &e->lru, bytes);
    free(key);
    if (!indexed) {
        entry_free(e);
        return NULL;
    }
    return &e->response;
}

void response_cache_sweep(response_cache *c, uint64_t idle_before_ns)
{
    while (c->lru.oldest != NULL &&
           ((response_entry *)c->lru.oldest)->last_used_ns < idle_before_ns)
        lru_index_evict(&c->lru, c->lru.oldest);
}
