#include "plugin_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

struct trellis_config {
    const trellis_config_field *schema;
    json_t *values;        /* the instance config with defaults filled in */
    json_t *object_texts;  /* key -> JSON text of OBJECT-typed values */
};

const char *plugin_config_type_name(uint32_t type)
{
    switch (type) {
    case TRELLIS_CONFIG_STRING: return "string";
    case TRELLIS_CONFIG_INTEGER: return "integer";
    case TRELLIS_CONFIG_BOOLEAN: return "boolean";
    case TRELLIS_CONFIG_NUMBER: return "number";
    case TRELLIS_CONFIG_ADDRESS: return "address";
    case TRELLIS_CONFIG_STRING_LIST: return "string list";
    case TRELLIS_CONFIG_OBJECT: return "object";
    default: return NULL;
    }
}

static const trellis_config_field *schema_find(const trellis_config_field *schema, const char *key)
{
    for (const trellis_config_field *f = schema; f != NULL && f->key != NULL; f++) {
        if (strcmp(f->key, key) == 0)
            return f;
    }
    return NULL;
}

static bool bounded(const trellis_config_field *f)
{
    return !(f->min == 0 && f->max == 0);
}

static bool in_choices(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return true;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    return false;
}

/* Checks one value against its field; the reason goes into errbuf. */
static bool check_value(const trellis_config_field *f, const json_t *v, char *errbuf, size_t n)
{
    switch (f->type) {
    case TRELLIS_CONFIG_STRING:
    case TRELLIS_CONFIG_ADDRESS: {
        if (!json_is_string(v)) {
            snprintf(errbuf, n, "expected a string");
            return false;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (strlen(s) != len) {
            snprintf(errbuf, n, "must not contain NUL characters");
            return false;
        }
        if (f->type == TRELLIS_CONFIG_ADDRESS) {
            struct sockaddr_storage ss;
            socklen_t sl;
            char reason[160];
            if (!address_parse(s, &ss, &sl, reason, sizeof(reason))) {
                snprintf(errbuf, n, "%s", reason);
                return false;
            }
            return true;
        }
        if (bounded(f) && ((double)len < f->min || (double)len > f->max)) {
            snprintf(errbuf, n, "length %zu is outside %.0f..%.0f", len, f->min, f->max);
            return false;
        }
        if (f->choices != NULL && !in_choices(f->choices, s)) {
            if (f->flags & TRELLIS_CONFIG_SECRET)
                snprintf(errbuf, n, "must be one of %s", f->choices);
            else
                snprintf(errbuf, n, "\"%s\" is not one of %s", s, f->choices);
            return false;
        }
        return true;
    }
    case TRELLIS_CONFIG_INTEGER: {
        if (!json_is_integer(v)) {
            snprintf(errbuf, n, "expected an integer");
            return false;
        }
        json_int_t i = json_integer_value(v);
        if (bounded(f) && ((double)i < f->min || (double)i > f->max)) {
            snprintf(errbuf, n, "%lld is outside %.0f..%.0f", (long long)i, f->min, f->max);
            return false;
        }
        return true;
    }
    case TRELLIS_CONFIG_NUMBER: {
        if (!json_is_number(v)) {
            snprintf(errbuf, n, "expected a number");
            return false;
        }
        double d = json_number_value(v);
        if (bounded(f) && (d < f->min || d > f->max)) {
            snprintf(errbuf, n, "%g is outside %g..%g", d, f->min, f->max);
            return false;
        }
        return true;
    }
    case TRELLIS_CONFIG_BOOLEAN:
        if (!json_is_boolean(v)) {
            snprintf(errbuf, n, "expected true or false");
            return false;
        }
        return true;
    case TRELLIS_CONFIG_STRING_LIST: {
        if (!json_is_array(v)) {
            snprintf(errbuf, n, "expected an array of strings");
            return false;
        }
        size_t count = json_array_size(v);
        if (bounded(f) && ((double)count < f->min || (double)count > f->max)) {
            snprintf(errbuf, n, "%zu items is outside %.0f..%.0f", count, f->min, f->max);
            return false;
        }
        for (size_t i = 0; i < count; i++) {
            const json_t *item = json_array_get(v, i);
            if (!json_is_string(item) || strlen(json_string_value(item)) != json_string_length(item)) {
                snprintf(errbuf, n, "item %zu is not a string", i);
                return false;
            }
        }
        return true;
    }
    case TRELLIS_CONFIG_OBJECT:
        if (!json_is_object(v)) {
            snprintf(errbuf, n, "expected an object");
            return false;
        }
        return true;
    default:
        snprintf(errbuf, n, "unknown type %u in the plugin's schema", f->type);
        return false;
    }
}

bool plugin_schema_check(const trellis_config_field *schema, char *errbuf, size_t errbuf_size)
{
    size_t count = 0;
    for (const trellis_config_field *f = schema; f != NULL && f->key != NULL; f++) {
        if (++count > 256) {
            snprintf(errbuf, errbuf_size, "config schema has more than 256 keys (missing terminator?)");
            return false;
        }
        if (f->key[0] == '\0' || strlen(f->key) > 64) {
            snprintf(errbuf, errbuf_size, "config schema entry %zu has an empty or long key", count - 1);
            return false;
        }
        if (plugin_config_type_name(f->type) == NULL) {
            snprintf(errbuf, errbuf_size, "config key '%s' has unknown type %u", f->key, f->type);
            return false;
        }
        if (f->flags & ~(TRELLIS_CONFIG_REQUIRED | TRELLIS_CONFIG_SECRET)) {
            snprintf(errbuf, errbuf_size, "config key '%s' has unknown flags 0x%x", f->key, f->flags);
            return false;
        }
        if (schema_find(schema, f->key) != f) {
            snprintf(errbuf, errbuf_size, "config key '%s' is declared twice", f->key);
            return false;
        }
        if (f->default_json != NULL) {
            json_error_t jerr;
            json_t *def = json_loads(f->default_json, JSON_DECODE_ANY, &jerr);
            char reason[200];
            if (def == NULL)
                snprintf(reason, sizeof(reason), "not JSON (%s)", jerr.text);
            bool ok = def != NULL && check_value(f, def, reason, sizeof(reason));
            json_decref(def);
            if (!ok) {
                snprintf(errbuf, errbuf_size, "config key '%s' has an invalid default %s: %s",
                         f->key, f->default_json, reason);
                return false;
            }
        }
    }
    return true;
}

bool plugin_config_validate(const trellis_config_field *schema, const json_t *config,
                            const char *prefix, diag_list *diags)
{
    bool ok = true;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)config, key, value) {
        const trellis_config_field *f = schema_find(schema, key);
        if (f == NULL) {
            diag_add(diags, "%s%s: unknown key", prefix, key);
            ok = false;
            continue;
        }
        char reason[256];
        if (!check_value(f, value, reason, sizeof(reason))) {
            diag_add(diags, "%s%s: %s", prefix, key, reason);
            ok = false;
        }
    }
    for (const trellis_config_field *f = schema; f != NULL && f->key != NULL; f++) {
        if ((f->flags & TRELLIS_CONFIG_REQUIRED) &&
            (config == NULL || json_object_get(config, f->key) == NULL)) {
            diag_add(diags, "%s%s: required key is missing", prefix, f->key);
            ok = false;
        }
    }
    return ok;
}

trellis_config *plugin_config_new(const trellis_config_field *schema, const json_t *config)
{
    trellis_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->schema = schema;
    c->values = config ? json_deep_copy(config) : json_object();
    c->object_texts = json_object();
    if (c->values == NULL || c->object_texts == NULL)
        goto fail;
    for (const trellis_config_field *f = schema; f != NULL && f->key != NULL; f++) {
        json_t *v = json_object_get(c->values, f->key);
        if (v == NULL && f->default_json != NULL) {
            v = json_loads(f->default_json, JSON_DECODE_ANY, NULL);
            if (v == NULL || json_object_set_new(c->values, f->key, v) != 0)
                goto fail;
        }
        if (v != NULL && f->type == TRELLIS_CONFIG_OBJECT) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
            if (text == NULL || json_object_set_new(c->object_texts, f->key, json_string(text)) != 0) {
                free(text);
                goto fail;
            }
            free(text);
        }
    }
    return c;
fail:
    plugin_config_free(c);
    return NULL;
}

void plugin_config_free(trellis_config *config)
{
    if (config == NULL)
        return;
    json_decref(config->values);
    json_decref(config->object_texts);
    free(config);
}

bool plugin_config_has(const trellis_config *config, const char *key)
{
    return config != NULL && key != NULL && json_object_get(config->values, key) != NULL;
}

const char *plugin_config_get0_string(const trellis_config *config, const char *key)
{
    if (config == NULL || key == NULL)
        return NULL;
    json_t *text = json_object_get(config->object_texts, key);
    if (text != NULL)
        return json_string_value(text);
    return json_string_value(json_object_get(config->values, key));
}

int64_t plugin_config_get_int(const trellis_config *config, const char *key)
{
    if (config == NULL || key == NULL)
        return 0;
    json_t *v = json_object_get(config->values, key);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    return json_is_real(v) ? (int64_t)llround(json_real_value(v)) : 0;
}

bool plugin_config_get_bool(const trellis_config *config, const char *key)
{
    return config != NULL && key != NULL && json_is_true(json_object_get(config->values, key));
}

double plugin_config_get_number(const trellis_config *config, const char *key)
{
    if (config == NULL || key == NULL)
        return 0;
    return json_number_value(json_object_get(config->values, key));
}

size_t plugin_config_list_count(const trellis_config *config, const char *key)
{
    if (config == NULL || key == NULL)
        return 0;
    return json_array_size(json_object_get(config->values, key));
}

const char *plugin_config_get0_list_item(const trellis_config *config, const char *key,
                                         size_t index)
{
    if (config == NULL || key == NULL)
        return NULL;
    return json_string_value(json_array_get(json_object_get(config->values, key), index));
}

bool plugin_config_same_value(const trellis_config *a, const trellis_config *b, const char *key)
{
    json_t *va = json_object_get(a->values, key);
    json_t *vb = json_object_get(b->values, key);
    return (va == NULL && vb == NULL) || (va != NULL && vb != NULL && json_equal(va, vb));
}
