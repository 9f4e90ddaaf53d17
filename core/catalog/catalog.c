#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_key.h"
#include "strmap.h"

#define CATALOG_MAX_LISTENERS 8

struct catalog {
    catalog_entry **entries;     /* sorted by key */
    size_t count;
    size_t capacity;
    uint64_t revision;

    strmap *tokens;              /* client token -> entry whose last write carried it */

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

static void entry_free(catalog_entry *e)
{
    if (e == NULL)
        return;
    free(e->key);
    free(e->mesh);
    free(e->parent);
    free(e->name);
    json_decref(e->record);
    free(e->data_text);
    free(e->ref_text);
    free(e->value);
    free(e->client_token);
    free(e);
}

void catalog_clear(catalog *cat)
{
    for (size_t i = 0; i < cat->count; i++)
        entry_free(cat->entries[i]);
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

size_t catalog_seek(const catalog *cat, const char *key)
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

const catalog_entry *catalog_get(const catalog *cat, const char *key)
{
    size_t i = catalog_seek(cat, key);
    if (i < cat->count && strcmp(cat->entries[i]->key, key) == 0)
        return cat->entries[i];
    return NULL;
}

size_t catalog_count(const catalog *cat)
{
    return cat->count;
}

const catalog_entry *catalog_at(const catalog *cat, size_t index)
{
    return index < cat->count ? cat->entries[index] : NULL;
}

void catalog_scan_prefix(const catalog *cat, const char *prefix, catalog_visit_fn fn, void *arg)
{
    size_t n = strlen(prefix);
    for (size_t i = catalog_seek(cat, prefix); i < cat->count; i++) {
        if (strncmp(cat->entries[i]->key, prefix, n) != 0 || !fn(cat->entries[i], arg))
            break;
    }
}

size_t catalog_count_prefix(const catalog *cat, const char *prefix)
{
    size_t n = strlen(prefix);
    size_t count = 0;
    for (size_t i = catalog_seek(cat, prefix); i < cat->count; i++) {
        if (strncmp(cat->entries[i]->key, prefix, n) != 0)
            break;
        count++;
    }
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
    return token != NULL ? strmap_get(cat->tokens, token) : NULL;
}

/* ---- put / remove ---- */

static catalog_entry *entry_for_resource(const char *key, resource_kind kind, const char *mesh,
                                         const char *parent, const char *name, json_t *record,
                                         char *errbuf, size_t errbuf_size)
{
    json_t *data = json_object_get(record, "data");
    json_t *tags = json_object_get(record, "tags");
    json_t *token = json_object_get(record, "clientToken");
    if (!json_is_object(data) || (tags != NULL && !json_is_array(tags)) ||
        (token != NULL && !json_is_string(token))) {
        snprintf(errbuf, errbuf_size, "%s: stored document lacks data/tags", key);
        json_decref(record);
        return NULL;
    }
    catalog_entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        json_decref(record);
        snprintf(errbuf, errbuf_size, "out of memory");
        return NULL;
    }
    e->kind = kind;
    e->record = record;
    e->data = data;
    e->key = strdup(key);
    e->mesh = strdup(mesh);
    e->parent = strdup(parent);
    e->name = strdup(name);
    e->data_text = json_dumps(data, CATALOG_JSON_FLAGS);
    e->client_token = token ? strdup(json_string_value(token)) : NULL;
    if (e->key == NULL || e->mesh == NULL || e->parent == NULL || e->name == NULL ||
        e->data_text == NULL || (token != NULL && e->client_token == NULL)) {
        entry_free(e);
        snprintf(errbuf, errbuf_size, "out of memory");
        return NULL;
    }
    e->data_len = strlen(e->data_text);
    return e;
}

bool catalog_put(catalog *cat, const char *key, uint64_t version, uint64_t revision,
                 json_t *record, const char *value, size_t value_len, char *errbuf,
                 size_t errbuf_size)
{
    resource_kind kind;
    char mesh[CATALOG_KEY_MAX], parent[CATALOG_KEY_MAX], name[CATALOG_KEY_MAX];
    if (!catalog_key_parse(key, &kind, mesh, parent, name, sizeof(name))) {
        snprintf(errbuf, errbuf_size, "malformed catalog key '%s'", key);
        json_decref(record);
        return false;
    }
    catalog_entry *e;
    if (kind == RESOURCE_SYSTEM) {
        json_decref(record);
        e = calloc(1, sizeof(*e));
        if (e != NULL) {
            e->kind = RESOURCE_SYSTEM;
            e->key = strdup(key);
            e->value = malloc(value_len + 1);
            if (e->value != NULL) {
                memcpy(e->value, value, value_len);
                e->value[value_len] = '\0';
                e->value_len = value_len;
            }
        }
        if (e == NULL || e->key == NULL || e->value == NULL) {
            entry_free(e);
            snprintf(errbuf, errbuf_size, "out of memory");
            return false;
        }
    } else {
        if (record == NULL) {
            json_error_t jerr;
            record = json_loadb(value, value_len, 0, &jerr);
            if (record == NULL) {
                snprintf(errbuf, errbuf_size, "%s: stored document is not JSON: %s", key, jerr.text);
                return false;
            }
        }
        e = entry_for_resource(key, kind, mesh, parent, name, record, errbuf, errbuf_size);
        if (e == NULL)
            return false;
    }
    e->version = version;
    e->revision = revision;

    size_t i = catalog_seek(cat, key);
    bool replace = i < cat->count && strcmp(cat->entries[i]->key, key) == 0;
    if (!replace && cat->count == cat->capacity) {
        size_t capacity = cat->capacity ? cat->capacity * 2 : 256;
        catalog_entry **grown = realloc(cat->entries, capacity * sizeof(*grown));
        if (grown == NULL) {
            entry_free(e);
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
        entry_free(e);
        snprintf(errbuf, errbuf_size, "out of memory");
        return false;
    }
    if (replace) {
        entry_free(cat->entries[i]);
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
    entry_free(cat->entries[i]);
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
