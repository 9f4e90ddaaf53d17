#include "retention.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct retention {
    retention_registry *registry;
    const char *key; /* the registry's copy */
    unsigned refs;
    trellis_xds_snapshot *current;                   /* a reference: its address is in the key */
    retention_source sources[RETENTION_MAX_SOURCES]; /* references: the retained content */
    size_t source_count;
    retained_list clusters;
    retained_list endpoints;
};

void retention_registry_init(retention_registry *reg, const trellis_host *host)
{
    reg->host = host;
    strmap_init(&reg->by_key);
}

void retention_registry_free(retention_registry *reg)
{
    strmap_free(&reg->by_key);
}

static void destroy(retention *r)
{
    const trellis_host *h = r->registry->host;
    for (size_t i = 0; i < r->source_count; i++)
        h->xds_snapshot_unref(r->sources[i].snapshot);
    if (r->current)
        h->xds_snapshot_unref(r->current);
    free(r->clusters.items);
    free(r->endpoints.items);
    free(r);
}

void retention_release(retention *r)
{
    if (r == NULL || --r->refs > 0)
        return;
    strmap_remove(&r->registry->by_key, r->key);
    destroy(r);
}

const retained_list *retention_list(const retention *r, trellis_xds_type type)
{
    const retained_list *l = type == TRELLIS_XDS_CLUSTER    ? &r->clusters
                             : type == TRELLIS_XDS_ENDPOINT ? &r->endpoints
                                                            : NULL;
    return l != NULL && l->count > 0 ? l : NULL;
}

const trellis_xds_resource *retained_find(const retained_list *list, const char *name)
{
    size_t lo = 0, hi = list->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(list->items[mid]->name, name);
        if (c == 0)
            return list->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Computing a retention                                                     */
/* ------------------------------------------------------------------------ */

/* Resources of `type` the sources have and the current snapshot lacks:
 * name -> resource, the newest source's. false on allocation failure. */
static bool collect_candidates(const retention *r, trellis_xds_type type, strmap *out)
{
    const trellis_host *h = r->registry->host;
    for (size_t s = 0; s < r->source_count; s++) {
        trellis_xds_snapshot *snap = r->sources[s].snapshot;
        size_t n = h->xds_snapshot_count(snap, type);
        for (size_t i = 0; i < n; i++) {
            const trellis_xds_resource *res = h->xds_snapshot_at(snap, type, i);
            if (h->xds_snapshot_find(r->current, type, res->name) != NULL ||
                strmap_get(out, res->name) != NULL)
                continue;
            if (strmap_put(out, res->name, (void *)res) == NULL)
                return false;
        }
    }
    return true;
}

typedef struct reference_scan {
    const strmap *candidates; /* name -> resource */
    strmap *referenced;       /* the candidates found so far */
    bool failed;
} reference_scan;

static void mark_if_candidate(reference_scan *scan, const char *name)
{
    void **slot = strmap_get(scan->candidates, name);
    if (slot != NULL && strmap_get(scan->referenced, name) == NULL &&
        strmap_put(scan->referenced, name, *slot) == NULL)
        scan->failed = true;
}

static void scan_value(reference_scan *scan, const json_t *v)
{
    if (json_is_string(v)) {
        mark_if_candidate(scan, json_string_value(v));
    } else if (json_is_object(v)) {
        const char *key;
        const json_t *member;
        json_object_foreach((json_t *)v, key, member) scan_value(scan, member);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) scan_value(scan, item);
    }
}

/* Marks the candidates named by string values of a resource's JSON. */
static void scan_resource(reference_scan *scan, const trellis_xds_resource *res)
{
    json_t *doc = json_loadb(res->json, res->json_len, 0, NULL);
    if (doc == NULL) {
        /* The core serialised it: only memory can fail here. Failing keeps
         * the stream from dropping a cluster that is still in use. */
        scan->failed = true;
        return;
    }
    scan_value(scan, doc);
    json_decref(doc);
}

static int compare_by_name(const void *a, const void *b)
{
    const trellis_xds_resource *x = *(const trellis_xds_resource *const *)a;
    const trellis_xds_resource *y = *(const trellis_xds_resource *const *)b;
    return strcmp(x->name, y->name);
}

static bool hex_digest(EVP_MD_CTX *md, char out[RETENTION_VERSION_SIZE])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(md, digest, &len) != 1 || len < 16)
        return false;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return true;
}

/* The union's version: the snapshot's version of the type, then each
 * retained name and hash, through SHA-256 (128-bit prefix, like the core's
 * versions: stable across processes and replicas). */
static bool union_version(const char *snapshot_version, retained_list *list)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, snapshot_version, strlen(snapshot_version) + 1) == 1;
    for (size_t i = 0; ok && i < list->count; i++) {
        const trellis_xds_resource *res = list->items[i];
        ok = EVP_DigestUpdate(md, res->name, strlen(res->name) + 1) == 1 &&
             EVP_DigestUpdate(md, res->hash, strlen(res->hash) + 1) == 1;
    }
    ok = ok && hex_digest(md, list->version);
    EVP_MD_CTX_free(md);
    return ok;
}

/* Turns the referenced candidates into the type's list, in name order. */
static bool make_list(const retention *r, trellis_xds_type type, const strmap *referenced,
                      retained_list *list)
{
    if (referenced->count == 0)
        return true;
    list->items = malloc(referenced->count * sizeof(*list->items));
    if (list->items == NULL)
        return false;
    size_t cursor = 0;
    const char *name;
    void *value;
    while (strmap_next(referenced, &cursor, &name, &value))
        list->items[list->count++] = value;
    qsort(list->items, list->count, sizeof(*list->items), compare_by_name);
    const char *version = r->registry->host->xds_snapshot_version(r->current, type);
    return union_version(version ? version : "", list);
}

/* Clusters named by the listeners and route configurations of the sources. */
static bool retain_clusters(retention *r)
{
    const trellis_host *h = r->registry->host;
    strmap candidates, referenced;
    strmap_init(&candidates);
    strmap_init(&referenced);
    reference_scan scan = {&candidates, &referenced, false};
    bool ok = collect_candidates(r, TRELLIS_XDS_CLUSTER, &candidates);
    static const trellis_xds_type referring[] = {TRELLIS_XDS_LISTENER, TRELLIS_XDS_ROUTE};
    for (size_t s = 0; ok && candidates.count > 0 && s < r->source_count; s++) {
        for (size_t k = 0; k < sizeof(referring) / sizeof(referring[0]); k++) {
            trellis_xds_type t = referring[k];
            if (!(r->sources[s].types & (1u << t)))
                continue;
            size_t n = h->xds_snapshot_count(r->sources[s].snapshot, t);
            for (size_t i = 0; i < n && !scan.failed; i++)
                scan_resource(&scan, h->xds_snapshot_at(r->sources[s].snapshot, t, i));
        }
        ok = !scan.failed;
    }
    ok = ok && make_list(r, TRELLIS_XDS_CLUSTER, &referenced, &r->clusters);
    strmap_free(&candidates);
    strmap_free(&referenced);
    return ok;
}

/* Endpoint assignments of the retained clusters. */
static bool retain_endpoints(retention *r)
{
    if (r->clusters.count == 0)
        return true;
    strmap candidates, referenced;
    strmap_init(&candidates);
    strmap_init(&referenced);
    reference_scan scan = {&candidates, &referenced, false};
    bool ok = collect_candidates(r, TRELLIS_XDS_ENDPOINT, &candidates);
    for (size_t i = 0; ok && candidates.count > 0 && i < r->clusters.count && !scan.failed; i++) {
        /* EDS without a service_name asks for the cluster's own name */
        mark_if_candidate(&scan, r->clusters.items[i]->name);
        scan_resource(&scan, r->clusters.items[i]);
    }
    ok = ok && !scan.failed && make_list(r, TRELLIS_XDS_ENDPOINT, &referenced, &r->endpoints);
    strmap_free(&candidates);
    strmap_free(&referenced);
    return ok;
}

/* "<current>;<source>:<types>;..." (addresses: unique while the retention
 * holds the snapshots). */
static void make_key(char *key, size_t size, trellis_xds_snapshot *current,
                     const retention_source *sources, size_t count)
{
    size_t n = (size_t)snprintf(key, size, "%p", (void *)current);
    for (size_t i = 0; i < count && n < size; i++)
        n += (size_t)snprintf(key + n, size - n, ";%p:%x", (void *)sources[i].snapshot,
                              sources[i].types);
}

retention *retention_get(retention_registry *reg, trellis_xds_snapshot *current,
                         const retention_source *sources, size_t count)
{
    if (count > RETENTION_MAX_SOURCES)
        return NULL;
    char key[32 * (RETENTION_MAX_SOURCES + 1)];
    make_key(key, sizeof(key), current, sources, count);
    void **slot = strmap_get(&reg->by_key, key);
    if (slot != NULL) {
        retention *shared = *slot;
        shared->refs++;
        return shared;
    }
    const trellis_host *h = reg->host;
    retention *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->registry = reg;
    r->refs = 1;
    r->current = h->xds_snapshot_ref(current);
    for (size_t i = 0; i < count; i++) {
        r->sources[i].snapshot = h->xds_snapshot_ref(sources[i].snapshot);
        r->sources[i].types = sources[i].types;
        r->source_count++;
    }
    if (!retain_clusters(r) || !retain_endpoints(r) ||
        (r->key = strmap_put(&reg->by_key, key, r)) == NULL) {
        destroy(r);
        return NULL;
    }
    return r;
}
