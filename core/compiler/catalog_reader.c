#include "catalog_reader.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_key.h"

void reader_init(catalog_reader *r, const catalog *cat, arena *memory)
{
    memset(r, 0, sizeof(*r));
    r->cat = cat;
    r->arena = memory;
}

static void record(catalog_reader *r, const char ***list, size_t *count, size_t *capacity,
                   const char *text)
{
    if (text == NULL)
        return;
    if (*count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 32;
        const char **fresh = arena_grow(r->arena, *list, *count, grown, sizeof(**list));
        if (fresh == NULL)
            return;
        *list = fresh;
        *capacity = grown;
    }
    (*list)[(*count)++] = text;
}

const catalog_entry *reader_get(catalog_reader *r, resource_kind kind, const char *mesh,
                                const char *parent, const char *name)
{
    char key[CATALOG_KEY_MAX];
    if (name == NULL || !catalog_key_resource(key, sizeof(key), kind, mesh, parent ? parent : "", name))
        return NULL;
    const catalog_entry *e = catalog_get(r->cat, key);
    /* A found entry's key is stable for the whole compile: no copy needed. */
    record(r, &r->keys, &r->key_count, &r->key_capacity,
           e != NULL ? e->key : arena_strdup(r->arena, key));
    return e;
}

const json_t *reader_spec(const catalog_entry *entry)
{
    return entry != NULL ? json_object_get(entry->data, "spec") : NULL;
}

void reader_scan(catalog_reader *r, resource_kind kind, const char *mesh, const char *parent,
                 catalog_visit_fn fn, void *arg)
{
    char prefix[CATALOG_KEY_MAX];
    if (!catalog_key_list_prefix(prefix, sizeof(prefix), kind, mesh, parent ? parent : ""))
        return;
    record(r, &r->prefixes, &r->prefix_count, &r->prefix_capacity, arena_strdup(r->arena, prefix));
    catalog_scan_prefix(r->cat, prefix, fn, arg);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts, drops duplicates and copies to malloc'd strings. */
static bool export_list(const char **list, size_t count, char ***out, size_t *out_count)
{
    *out = NULL;
    *out_count = 0;
    if (count == 0)
        return true;
    qsort(list, count, sizeof(*list), compare_strings);
    char **copy = calloc(count, sizeof(*copy));
    if (copy == NULL)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (n > 0 && strcmp(copy[n - 1], list[i]) == 0)
            continue;
        copy[n] = strdup(list[i]);
        if (copy[n] == NULL) {
            for (size_t k = 0; k < n; k++)
                free(copy[k]);
            free(copy);
            return false;
        }
        n++;
    }
    *out = copy;
    *out_count = n;
    return true;
}

bool reader_finish(catalog_reader *r, compile_deps *deps)
{
    memset(deps, 0, sizeof(*deps));
    deps->endpoints = r->endpoints;
    if (r->arena->failed)
        return false;
    if (!export_list(r->keys, r->key_count, &deps->keys, &deps->key_count))
        return false;
    if (!export_list(r->prefixes, r->prefix_count, &deps->prefixes, &deps->prefix_count)) {
        compile_deps_free(deps);
        return false;
    }
    return true;
}
