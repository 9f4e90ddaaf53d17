/*
 * The generic validator: checks a JSON document against a model shape and
 * words every violation the way AWS's Coral framework does:
 *
 *   1 validation error detected: Value 'x' at 'spec.listeners.1.member.portMapping.port'
 *   failed to satisfy constraint: Member must have value less than or equal to 65535
 *
 * Coral's own sentences are used for its constraints (null, length, value
 * range, enum, pattern). For what Coral never reports (wrong JSON type,
 * unknown member, union with zero or several members, NUL in a string) the
 * same "Value ... at '<path>' failed to satisfy constraint: Member ..." form
 * is kept, so every violation names its field and all of them read alike.
 *
 * JSON null is treated as "not set", as Coral's deserializer does: a null
 * required member is reported as `Value null`, a null optional member is
 * ignored. Inside a list, null is an error (a list element cannot be unset).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_pattern.h"
#include "model_text.h"

/* Values quoted in messages are cut after this many characters. Longer than
 * any length limit in the model (1024) so boundary messages quote in full. */
#define QUOTED_VALUE_MAX_CHARS 2048
/* Deep enough for any path in the model (about 12 levels of short names). */
#define PATH_MAX_BYTES 1024

typedef struct validation {
    model_text items;   /* the violations, separated by "; " */
    size_t count;
    char path[PATH_MAX_BYTES];
    size_t path_len;
} validation;

/* ---- paths ---- */

static size_t path_push_member(validation *v, const char *name)
{
    size_t saved = v->path_len;
    int n = snprintf(v->path + v->path_len, sizeof(v->path) - v->path_len, "%s%s",
                     v->path_len ? "." : "", name);
    if (n > 0)
        v->path_len += (size_t)n;
    if (v->path_len >= sizeof(v->path))
        v->path_len = sizeof(v->path) - 1; /* cut (never happens with the model) */
    return saved;
}

static size_t path_push_index(validation *v, size_t index_from_one)
{
    size_t saved = v->path_len;
    int n = snprintf(v->path + v->path_len, sizeof(v->path) - v->path_len, "%s%zu.member",
                     v->path_len ? "." : "", index_from_one);
    if (n > 0)
        v->path_len += (size_t)n;
    if (v->path_len >= sizeof(v->path))
        v->path_len = sizeof(v->path) - 1;
    return saved;
}

static void path_pop(validation *v, size_t saved)
{
    v->path_len = saved;
    v->path[saved] = '\0';
}

/* ---- rendering values the way Coral quotes them ---- */

static void append_value(model_text *t, const json_t *value);

static void append_json_compact(model_text *t, const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        model_text_append(t, "?");
        return;
    }
    model_text_append_escaped(t, text, strlen(text), QUOTED_VALUE_MAX_CHARS);
    free(text);
}

/* Strings raw, numbers and booleans as written, lists like Java's
 * List.toString() ("[a, b]"), objects as compact JSON. */
static void append_value(model_text *t, const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_STRING:
        model_text_append_escaped(t, json_string_value(value), json_string_length(value),
                                  QUOTED_VALUE_MAX_CHARS);
        break;
    case JSON_INTEGER:
        model_text_appendf(t, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        break;
    case JSON_TRUE:
        model_text_append(t, "true");
        break;
    case JSON_FALSE:
        model_text_append(t, "false");
        break;
    case JSON_NULL:
        model_text_append(t, "null");
        break;
    case JSON_ARRAY: {
        model_text_append(t, "[");
        size_t i;
        const json_t *element;
        json_array_foreach(value, i, element) {
            if (i > 0)
                model_text_append(t, ", ");
            append_value(t, element);
        }
        model_text_append(t, "]");
        break;
    }
    default:
        append_json_compact(t, value);
        break;
    }
}

/* Starts one violation: "Value 'x' at 'path' failed to satisfy constraint: ".
 * The caller appends the constraint sentence. `value` NULL means unset. */
static model_text *violation(validation *v, const json_t *value)
{
    model_text *t = &v->items;
    if (v->count++ > 0)
        model_text_append(t, "; ");
    if (value == NULL || json_is_null(value)) {
        model_text_append(t, "Value null");
    } else {
        model_text_append(t, "Value '");
        append_value(t, value);
        model_text_append(t, "'");
    }
    model_text_append(t, " at '");
    model_text_append(t, v->path);
    model_text_append(t, "' failed to satisfy constraint: ");
    return t;
}

static const char *json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a decimal number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

static void wrong_type(validation *v, const json_t *value, const char *expected)
{
    model_text_appendf(violation(v, value), "Member must be %s, not %s", expected,
                       json_type_name(value));
}

/* ---- constraints ---- */

static void check_length(validation *v, const model_shape *shape, const json_t *value,
                         size_t length)
{
    if (shape->has_min && (int64_t)length < shape->min)
        model_text_appendf(violation(v, value),
                           "Member must have length greater than or equal to %" PRId64,
                           shape->min);
    if (shape->has_max && (int64_t)length > shape->max)
        model_text_appendf(violation(v, value),
                           "Member must have length less than or equal to %" PRId64, shape->max);
}

static void check_range(validation *v, const model_shape *shape, const json_t *value)
{
    json_int_t n = json_integer_value(value);
    if (shape->has_min && n < shape->min)
        model_text_appendf(violation(v, value),
                           "Member must have value greater than or equal to %" PRId64,
                           shape->min);
    if (shape->has_max && n > shape->max)
        model_text_appendf(violation(v, value),
                           "Member must have value less than or equal to %" PRId64, shape->max);
}

static void check_enum(validation *v, const model_shape *shape, const json_t *value)
{
    const char *s = json_string_value(value);
    for (const char *const *e = shape->enum_values; *e != NULL; e++) {
        if (strcmp(*e, s) == 0)
            return;
    }
    model_text *t = violation(v, value);
    model_text_append(t, "Member must satisfy enum value set: [");
    for (const char *const *e = shape->enum_values; *e != NULL; e++) {
        if (e != shape->enum_values)
            model_text_append(t, ", ");
        model_text_append(t, *e);
    }
    model_text_append(t, "]");
}

static void check_string(validation *v, const model_shape *shape, const json_t *value)
{
    const char *s = json_string_value(value);
    size_t bytes = json_string_length(value);
    if (memchr(s, '\0', bytes) != NULL) {
        /* Only reachable for documents built with JSON_ALLOW_NUL. */
        model_text_append(violation(v, value), "Member must not contain NUL characters");
        return;
    }
    /* AWS counts characters; a code point is one character here. */
    check_length(v, shape, value, model_utf8_count(s, bytes));
    if (shape->enum_values != NULL)
        check_enum(v, shape, value);
    if (shape->pattern != NULL && !model_pattern_match(shape->pattern, s)) {
        model_text *t = violation(v, value);
        model_text_append(t, "Member must satisfy regular expression pattern: ");
        model_text_append(t, shape->pattern);
    }
}

static void check_value(validation *v, const model_shape *shape, const json_t *value);

static void check_union(validation *v, const model_shape *shape, const json_t *object)
{
    size_t set = 0;
    for (size_t i = 0; i < shape->member_count; i++) {
        const json_t *member = json_object_get(object, shape->members[i].name);
        set += member != NULL && !json_is_null(member);
    }
    if (set == 1)
        return;
    model_text *t = violation(v, object);
    model_text_append(t, "Member must have exactly one of [");
    for (size_t i = 0; i < shape->member_count; i++)
        model_text_appendf(t, "%s%s", i ? ", " : "", shape->members[i].name);
    if (set == 0) {
        model_text_append(t, "] set, but has none");
        return;
    }
    model_text_appendf(t, "] set, but has %zu: ", set);
    size_t listed = 0;
    for (size_t i = 0; i < shape->member_count; i++) {
        const json_t *member = json_object_get(object, shape->members[i].name);
        if (member != NULL && !json_is_null(member))
            model_text_appendf(t, "%s%s", listed++ ? ", " : "", shape->members[i].name);
    }
}

static void check_structure(validation *v, const model_shape *shape, const json_t *object)
{
    /* Unknown members first: a misspelt member usually explains a missing one. */
    const char *key;
    const json_t *member_value;
    json_object_foreach((json_t *)object, key, member_value) {
        if (model_member_find(shape, key) != NULL)
            continue;
        size_t saved = path_push_member(v, key);
        model_text_appendf(violation(v, member_value), "Member is not part of %s", shape->name);
        path_pop(v, saved);
    }
    for (size_t i = 0; i < shape->member_count; i++) {
        const model_member *m = &shape->members[i];
        const json_t *member = json_object_get(object, m->name);
        bool set = member != NULL && !json_is_null(member);
        if (!set && !m->required)
            continue;
        size_t saved = path_push_member(v, m->name);
        if (set)
            check_value(v, m->shape, member);
        else
            model_text_append(violation(v, NULL), "Member must not be null");
        path_pop(v, saved);
    }
    if (shape->is_union)
        check_union(v, shape, object);
}

static void check_list(validation *v, const model_shape *shape, const json_t *array)
{
    check_length(v, shape, array, json_array_size(array));
    size_t i;
    const json_t *element;
    json_array_foreach(array, i, element) {
        size_t saved = path_push_index(v, i + 1);
        if (json_is_null(element))
            model_text_append(violation(v, NULL), "Member must not be null");
        else
            check_value(v, shape->element, element);
        path_pop(v, saved);
    }
}

static void check_map(validation *v, const model_shape *shape, const json_t *object)
{
    check_length(v, shape, object, json_object_size(object));
    const char *key;
    const json_t *entry;
    json_object_foreach((json_t *)object, key, entry) {
        size_t saved = path_push_member(v, key);
        if (shape->key != NULL) {
            json_t *key_value = json_string(key);
            if (key_value != NULL)
                check_value(v, shape->key, key_value);
            json_decref(key_value);
        }
        if (json_is_null(entry))
            model_text_append(violation(v, NULL), "Member must not be null");
        else
            check_value(v, shape->element, entry);
        path_pop(v, saved);
    }
}

static void check_value(validation *v, const model_shape *shape, const json_t *value)
{
    switch ((model_type)shape->type) {
    case MODEL_STRUCTURE:
        if (!json_is_object(value))
            wrong_type(v, value, "an object");
        else
            check_structure(v, shape, value);
        return;
    case MODEL_LIST:
        if (!json_is_array(value))
            wrong_type(v, value, "a list");
        else
            check_list(v, shape, value);
        return;
    case MODEL_MAP:
        if (!json_is_object(value))
            wrong_type(v, value, "an object");
        else
            check_map(v, shape, value);
        return;
    case MODEL_STRING:
        if (!json_is_string(value))
            wrong_type(v, value, "a string");
        else
            check_string(v, shape, value);
        return;
    case MODEL_INTEGER:
        if (!json_is_integer(value)) {
            wrong_type(v, value, "an integer");
        } else if (json_integer_value(value) < INT32_MIN ||
                   json_integer_value(value) > INT32_MAX) {
            model_text_append(violation(v, value),
                              "Member must be an integer from -2147483648 to 2147483647");
        } else {
            check_range(v, shape, value);
        }
        return;
    case MODEL_LONG:
        if (!json_is_integer(value))
            wrong_type(v, value, "an integer");
        else
            check_range(v, shape, value);
        return;
    case MODEL_BOOLEAN:
        if (!json_is_boolean(value))
            wrong_type(v, value, "a boolean");
        return;
    case MODEL_TIMESTAMP:
        /* rest-json sends timestamps as epoch seconds. */
        if (!json_is_number(value))
            wrong_type(v, value, "a number of seconds since the epoch");
        return;
    case MODEL_DOUBLE:
        if (!json_is_number(value))
            wrong_type(v, value, "a number");
        return;
    }
    model_text_appendf(violation(v, value), "Member has an unknown model type %u", shape->type);
}

size_t model_validate(const model_shape *shape, const json_t *value, const char *path,
                      char *message, size_t message_size)
{
    /* The list of violations is collected first: its count leads the message. */
    size_t items_size = message_size > 0 ? message_size : 1;
    char *items = malloc(items_size);
    validation *v = malloc(sizeof(*v));
    if (items == NULL || v == NULL) {
        free(items);
        free(v);
        model_text out;
        model_text_init(&out, message, message_size);
        model_text_append(&out, "out of memory while validating the request");
        return 1;
    }
    model_text_init(&v->items, items, items_size);
    v->count = 0;
    v->path_len = 0;
    v->path[0] = '\0';
    path_push_member(v, path != NULL ? path : "");

    if (value == NULL || json_is_null(value))
        model_text_append(violation(v, NULL), "Member must not be null");
    else
        check_value(v, shape, value);

    size_t count = v->count;
    model_text out;
    model_text_init(&out, message, message_size);
    if (count > 0) {
        model_text_appendf(&out, "%zu validation error%s detected: ", count,
                           count == 1 ? "" : "s");
        model_text_append(&out, items);
    }
    free(items);
    free(v);
    return count;
}
