#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_internal.h"
#include "catalog_key.h"
#include "strmap.h"

#define CATALOG_MAX_LISTENERS 8

struct catalog {
    catalog_entry **entries;     /* sorted by key */
    size_t count;
    size_t capacity;
    uint64_t revision;

    strmap *tokens;              /* client token -> entry whose last write carried it */
    const catalog_overlay *view; /* tentative writes seen by lookups, or NULL */

    struct {
        catalog_listener_fn fn;
        void *arg;
    } listeners[CATALOG_MAX_LISTENERS];
    size_t listener_count;
};

catalog *catalog_new(void)
{
    catalog *cat = calloc(1, sizeof(catalog));
    if (cat != NULL && (cat->tokens = strmap_new()) == NULL) {
        free(cat);
        return NULL;
    }
    return cat;
}

void catalog_clear(catalog *cat)
{
    for (size_t i = 0; i < cat->count; i++)
        catalog_entry_free(cat->entries[i]);
    cat->count = 0;
    strmap *fresh = strmap_new();
    if (fresh != NULL) {
        strmap_free(cat->tokens);
        cat->tokens = fresh;
    }
}

void catalog_free(catalog *cat)
{
    if (cat == NULL)
        return;
    catalog_clear(cat);
    strmap_free(cat->tokens);
    free(cat->entries);
    free(cat);
}

/* Index of the first entry whose key is >= key (cat->count when none); the
 * overlay is not consulted. */
static size_t catalog_seek(const catalog *cat, const char *key)
{
    size_t lo = 0, hi = cat->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(cat->entries[mid]->key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const catalog_entry *base_get(const catalog *cat, const char *key)
{
    size_t i = catalog_seek(cat, key);
    if (i < cat->count && strcmp(cat->entries[i]->key, key) == 0)
        return cat->entries[i];
    return NULL;
}

const catalog_entry *catalog_get(const catalog *cat, const char *key)
{
    if (cat->view != NULL) {
        const overlay_slot *slot = overlay_find(cat->view, key);
        if (slot != NULL)
            return slot->entry; /* NULL: deleted by a write in flight */
    }
    return base_get(cat, key);
}

void catalog_use_overlay(catalog *cat, const catalog_overlay *ov)
{
    cat->view = ov;
}

const catalog_entry *catalog_get_resource(const catalog *cat, resource_kind kind, const char *mesh,
                                          const char *parent, const char *name)
{
    char key[CATALOG_KEY_MAX];
    if (!catalog_key_resource(key, sizeof(key), kind, mesh, parent, name))
        return NULL;
    return catalog_get(cat, key);
}

size_t catalog_count(const catalog *cat)
{
    return cat->count;
}

/* Walks the catalog and the overlay in use together, in key order; an
 * overlay slot replaces (or, when deleted, hides) the catalog's entry. */
void catalog_scan_prefix(const catalog *cat, const char *prefix, catalog_visit_fn fn, void *arg)
{
    size_t n = strlen(prefix);
    size_t i = catalog_seek(cat, prefix);
    size_t j = cat->view ? overlay_lower_bound(cat->view, prefix) : 0;
    for (;;) {
        const catalog_entry *base =
            i < cat->count && strncmp(cat->entries[i]->key, prefix, n) == 0 ? cat->entries[i] : NULL;
        const overlay_slot *slot = cat->view ? overlay_at(cat->view, j) : NULL;
        if (slot != NULL && strncmp(slot->key, prefix, n) != 0)
            slot = NULL;
        if (base == NULL && slot == NULL)
            return;
        int order = base == NULL ? 1 : slot == NULL ? -1 : strcmp(base->key, slot->key);
        const catalog_entry *visit;
        if (order < 0) {
            visit = base;
            i++;
        } else {
            visit = slot->entry;
            j++;
            if (order == 0)
                i++;
        }
        if (visit != NULL && !fn(visit, arg))
            return;
    }
}

static bool count_one(const catalog_entry *entry, void *arg)
{
    (void)entry;
    (*(size_t *)arg)++;
    return true;
}

size_t catalog_count_prefix(const catalog *cat, const char *prefix)
{
    size_t count = 0;
    catalog_scan_prefix(cat, prefix, count_one, &count);
    return count;
}

uint64_t catalog_revision(const catalog *cat)
{
    return cat->revision;
}

void catalog_set_revision(catalog *cat, uint64_t revision)
{
    cat->revision = revision;
}

void catalog_entry_cache_ref_text(const catalog_entry *entry, char *text)
{
    catalog_entry *e = (catalog_entry *)entry; /* a memo, not a change of state */
    free(e->ref_text);
    e->ref_text = text;
    e->ref_len = text ? strlen(text) : 0;
}

/* ---- client token index ---- */

static bool token_index_add(catalog *cat, const catalog_entry *e)
{
    return strmap_put(cat->tokens, e->client_token, (void *)e);
}

static void token_index_remove(catalog *cat, const catalog_entry *e)
{
    /* Only if the token still points here: a later write may have reused it. */
    if (e->client_token != NULL && strmap_get(cat->tokens, e->client_token) == e)
        strmap_remove(cat->tokens, e->client_token);
}

const catalog_entry *catalog_find_token(const catalog *cat, const char *token)
{
    if (token == NULL)
        return NULL;
    if (cat->view != NULL) {
        for (size_t i = 0; i < overlay_count(cat->view); i++) {
            const catalog_entry *e = overlay_at(cat->view, i)->entry;
            if (e != NULL && e->client_token != NULL && strcmp(e->client_token, token) == 0)
                return e;
        }
    }
    const catalog_entry *e = strmap_get(cat->tokens, token);
    /* A write in flight replaced or deleted it: its token no longer counts. */
    if (e != NULL && cat->view != NULL && overlay_find(cat->view, e->key) != NULL)
        return NULL;
    return e;
}

/* ---- put / remove ---- */

bool catalog_put(catalog *cat, const char *key, uint64_t version, uint64_t revision,
                 json_t *record, const char *value, size_t value_len, char *errbuf,
                 size_t errbuf_size)
{
    catalog_entry *e =
        catalog_entry_new(key, version, revision, record, value, value_len, errbuf, errbuf_size);
    if (e == NULL)
        return false;
    if (!catalog_entry_render(e)) {
        catalog_entry_free(e);
        snprintf(errbuf, errbuf_size, "out of memory");
        return false;
    }

    size_t i = catalog_seek(cat, key);
    bool replace = i < cat->count && strcmp(cat->entries[i]->key, key) == 0;
    if (!replace && cat->count == cat->capacity) {
        size_t capacity = cat->capacity ? cat->capacity * 2 : 256;
        catalog_entry **grown = realloc(cat->entries, capacity * sizeof(*grown));
        if (grown == NULL) {
            catalog_entry_free(e);
            snprintf(errbuf, errbuf_size, "out of memory");
            return false;
        }
        cat->entries = grown;
        cat->capacity = capacity;
    }
    if (replace)
        token_index_remove(cat, cat->entries[i]);
    if (e->client_token != NULL && !token_index_add(cat, e)) {
        if (replace && cat->entries[i]->client_token != NULL)
            token_index_add(cat, cat->entries[i]); /* has room: a slot was just freed */
        catalog_entry_free(e);
        snprintf(errbuf, errbuf_size, "out of memory");
        return false;
    }
    if (replace) {
        catalog_entry_free(cat->entries[i]);
        cat->entries[i] = e;
    } else {
        memmove(&cat->entries[i + 1], &cat->entries[i], (cat->count - i) * sizeof(*cat->entries));
        cat->entries[i] = e;
        cat->count++;
    }
    return true;
}

bool catalog_remove(catalog *cat, const char *key)
{
    size_t i = catalog_seek(cat, key);
    if (i >= cat->count || strcmp(cat->entries[i]->key, key) != 0)
        return false;
    token_index_remove(cat, cat->entries[i]);
    catalog_entry_free(cat->entries[i]);
    memmove(&cat->entries[i], &cat->entries[i + 1], (cat->count - i - 1) * sizeof(*cat->entries));
    cat->count--;
    return true;
}

/* ---- subscribers ---- */

bool catalog_subscribe(catalog *cat, catalog_listener_fn fn, void *arg)
{
    if (cat->listener_count == CATALOG_MAX_LISTENERS)
        return false;
    cat->listeners[cat->listener_count].fn = fn;
    cat->listeners[cat->listener_count].arg = arg;
    cat->listener_count++;
    return true;
}

void catalog_unsubscribe(catalog *cat, catalog_listener_fn fn, void *arg)
{
    for (size_t i = 0; i < cat->listener_count; i++) {
        if (cat->listeners[i].fn == fn && cat->listeners[i].arg == arg) {
            memmove(&cat->listeners[i], &cat->listeners[i + 1],
                    (cat->listener_count - i - 1) * sizeof(cat->listeners[0]));
            cat->listener_count--;
            return;
        }
    }
}

void catalog_publish(catalog *cat, uint64_t revision, const catalog_change *changes,
                     size_t change_count)
{
    for (size_t i = 0; i < cat->listener_count; i++)
        cat->listeners[i].fn(cat->listeners[i].arg, revision, changes, change_count);
}
