#include "catalog_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_key.h"

void catalog_entry_free(catalog_entry *e)
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

static catalog_entry *resource_entry(const char *key, resource_kind kind, const char *mesh,
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
    e->client_token = token ? strdup(json_string_value(token)) : NULL;
    if (e->key == NULL || e->mesh == NULL || e->parent == NULL || e->name == NULL ||
        (token != NULL && e->client_token == NULL)) {
        catalog_entry_free(e);
        snprintf(errbuf, errbuf_size, "out of memory");
        return NULL;
    }
    return e;
}

bool catalog_entry_render(catalog_entry *e)
{
    if (e->kind == RESOURCE_SYSTEM || e->data_text != NULL)
        return true;
    e->data_text = json_dumps(e->data, CATALOG_JSON_FLAGS);
    if (e->data_text == NULL)
        return false;
    e->data_len = strlen(e->data_text);
    return true;
}

static catalog_entry *system_entry(const char *key, const char *value, size_t value_len,
                                   char *errbuf, size_t errbuf_size)
{
    catalog_entry *e = calloc(1, sizeof(*e));
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
        catalog_entry_free(e);
        snprintf(errbuf, errbuf_size, "out of memory");
        return NULL;
    }
    return e;
}

catalog_entry *catalog_entry_new(const char *key, uint64_t version, uint64_t revision,
                                 json_t *record, const char *value, size_t value_len,
                                 char *errbuf, size_t errbuf_size)
{
    resource_kind kind;
    char mesh[CATALOG_KEY_MAX], parent[CATALOG_KEY_MAX], name[CATALOG_KEY_MAX];
    if (!catalog_key_parse(key, &kind, mesh, parent, name, sizeof(name))) {
        snprintf(errbuf, errbuf_size, "malformed catalog key '%s'", key);
        json_decref(record);
        return NULL;
    }
    catalog_entry *e;
    if (kind == RESOURCE_SYSTEM) {
        json_decref(record);
        e = system_entry(key, value, value_len, errbuf, errbuf_size);
    } else {
        if (record == NULL) {
            json_error_t jerr;
            record = json_loadb(value, value_len, 0, &jerr);
            if (record == NULL) {
                snprintf(errbuf, errbuf_size, "%s: stored document is not JSON: %s", key, jerr.text);
                return NULL;
            }
        }
        e = resource_entry(key, kind, mesh, parent, name, record, errbuf, errbuf_size);
    }
    if (e != NULL) {
        e->version = version;
        e->revision = revision;
    }
    return e;
}
