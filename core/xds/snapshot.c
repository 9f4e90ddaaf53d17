#include "snapshot.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct snapshot_type {
    trellis_xds_resource *items; /* name order */
    size_t count;
    char version[SNAPSHOT_HASH_SIZE];
} snapshot_type;

struct trellis_xds_snapshot {
    _Atomic unsigned refs;
    uint64_t changed_ns;
    char digest[SNAPSHOT_HASH_SIZE];
    snapshot_type types[TRELLIS_XDS_TYPE_COUNT];
};

/* 128-bit prefix of SHA-256 in hex: collisions are not a practical concern
 * and the value is stable across processes (Envoy may reconnect to another
 * replica and present a version it already has). */
static bool digest_hex(EVP_MD_CTX *md, char out[SNAPSHOT_HASH_SIZE])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(md, digest, &len) != 1 || len < 16)
        return false;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return true;
}

static bool hash_text(const char *text, size_t len, char out[SNAPSHOT_HASH_SIZE])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, text, len) == 1 && digest_hex(md, out);
    EVP_MD_CTX_free(md);
    return ok;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void free_type(snapshot_type *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free((char *)t->items[i].name);
        free((char *)t->items[i].json);
        free((char *)t->items[i].hash);
    }
    free(t->items);
}

static void snapshot_free(xds_snapshot *s)
{
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++)
        free_type(&s->types[t]);
    free(s);
}

/* Fills one type from a JSON object name -> resource. */
static bool build_type(snapshot_type *t, const json_t *resources, EVP_MD_CTX *type_md)
{
    size_t count = json_object_size(resources);
    const char **names = count ? malloc(count * sizeof(char *)) : NULL;
    t->items = count ? calloc(count, sizeof(trellis_xds_resource)) : NULL;
    if (count > 0 && (names == NULL || t->items == NULL)) {
        free(names);
        return false;
    }
    size_t n = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)resources, key, value) {
        names[n++] = key;
    }
    if (count > 1)
        qsort(names, count, sizeof(char *), compare_names);
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        trellis_xds_resource *r = &t->items[i];
        char *json = json_dumps(json_object_get(resources, names[i]), JSON_COMPACT);
        char *hash = malloc(SNAPSHOT_HASH_SIZE);
        r->name = strdup(names[i]);
        r->json = json;
        r->json_len = json ? strlen(json) : 0;
        r->hash = hash;
        t->count++;
        ok = json != NULL && hash != NULL && r->name != NULL && hash_text(json, r->json_len, hash) &&
             EVP_DigestUpdate(type_md, r->name, strlen(r->name) + 1) == 1 &&
             EVP_DigestUpdate(type_md, hash, SNAPSHOT_HASH_SIZE) == 1;
    }
    free(names);
    return ok && digest_hex(type_md, t->version);
}

xds_snapshot *xds_snapshot_build(const compile_output *out, uint64_t changed_ns)
{
    xds_snapshot *s = calloc(1, sizeof(*s));
    EVP_MD_CTX *all = EVP_MD_CTX_new();
    EVP_MD_CTX *type_md = EVP_MD_CTX_new();
    bool ok = s != NULL && all != NULL && type_md != NULL &&
              EVP_DigestInit_ex(all, EVP_sha256(), NULL) == 1;
    for (int t = 0; ok && t < TRELLIS_XDS_TYPE_COUNT; t++) {
        ok = EVP_DigestInit_ex(type_md, EVP_sha256(), NULL) == 1 &&
             build_type(&s->types[t], out->resources[t], type_md) &&
             EVP_DigestUpdate(all, s->types[t].version, SNAPSHOT_HASH_SIZE) == 1;
    }
    ok = ok && digest_hex(all, s->digest);
    EVP_MD_CTX_free(all);
    EVP_MD_CTX_free(type_md);
    if (!ok) {
        if (s != NULL)
            snapshot_free(s);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->changed_ns = changed_ns;
    return s;
}

const char *xds_snapshot_digest(const xds_snapshot *s)
{
    return s->digest;
}

xds_snapshot *xds_snapshot_ref(xds_snapshot *s)
{
    if (s != NULL)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

void xds_snapshot_unref(xds_snapshot *s)
{
    if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
        snapshot_free(s);
}

const char *xds_snapshot_version(const xds_snapshot *s, trellis_xds_type type)
{
    return (unsigned)type < TRELLIS_XDS_TYPE_COUNT ? s->types[type].version : "";
}

size_t xds_snapshot_count(const xds_snapshot *s, trellis_xds_type type)
{
    return (unsigned)type < TRELLIS_XDS_TYPE_COUNT ? s->types[type].count : 0;
}

const trellis_xds_resource *xds_snapshot_at(const xds_snapshot *s, trellis_xds_type type,
                                            size_t index)
{
    if ((unsigned)type >= TRELLIS_XDS_TYPE_COUNT || index >= s->types[type].count)
        return NULL;
    return &s->types[type].items[index];
}

const trellis_xds_resource *xds_snapshot_find(const xds_snapshot *s, trellis_xds_type type,
                                              const char *name)
{
    if ((unsigned)type >= TRELLIS_XDS_TYPE_COUNT || name == NULL)
        return NULL;
    const snapshot_type *t = &s->types[type];
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->items[mid].name, name);
        if (c == 0)
            return &t->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

uint64_t xds_snapshot_changed_ns(const xds_snapshot *s)
{
    return s->changed_ns;
}
