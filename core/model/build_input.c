/*
 * model_build_input(): turns one REST request (JSON body + the members bound
 * to the URI, query string and headers) into the operation's validated input
 * document. Every failure is a BadRequestException whose message names the
 * offending field, parameter or position in the body.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_text.h"

/* Parameter values quoted in messages are cut after this many characters. */
#define QUOTED_PARAM_MAX_CHARS 256

static const char *location_phrase(uint8_t location)
{
    switch ((model_location)location) {
    case MODEL_IN_URI: return "the request URI";
    case MODEL_IN_QUERY: return "the query string";
    case MODEL_IN_HEADER: return "a request header";
    case MODEL_IN_BODY: break;
    }
    return "the request body";
}

static bool body_is_blank(const char *body, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n')
            return false;
    }
    return true;
}

static json_t *parse_body(const char *body, size_t len, model_text *out)
{
    if (body == NULL || body_is_blank(body, len))
        return json_object();
    json_error_t error;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
    if (doc == NULL) {
        switch (json_error_code(&error)) {
        case json_error_invalid_utf8:
            model_text_appendf(out, "Request body is not valid UTF-8 (line %d, column %d): ",
                               error.line, error.column);
            break;
        case json_error_null_character:
            model_text_appendf(out,
                               "Request body contains the NUL character \\u0000 (line %d, "
                               "column %d), which App Mesh strings cannot hold: ",
                               error.line, error.column);
            break;
        case json_error_duplicate_key:
            model_text_appendf(out, "Request body has a duplicate member (line %d, column %d): ",
                               error.line, error.column);
            break;
        case json_error_out_of_memory:
            model_text_append(out, "out of memory while reading the request body");
            return NULL;
        default:
            model_text_appendf(out, "Request body is not valid JSON (line %d, column %d): ",
                               error.line, error.column);
            break;
        }
        /* jansson's text may quote raw bytes of the body: escape them. */
        model_text_append_escaped(out, error.text, strnlen(error.text, sizeof(error.text)),
                                  QUOTED_PARAM_MAX_CHARS);
        return NULL;
    }
    if (!json_is_object(doc)) {
        model_text_appendf(out, "Request body must be a JSON object, not %s",
                           json_is_array(doc)    ? "a list"
                           : json_is_string(doc) ? "a string"
                           : json_is_number(doc) ? "a number"
                           : json_is_null(doc)   ? "null"
                                                 : "a boolean");
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* A canonical decimal integer: optional '-', no '+', no leading zeros, no
 * spaces, within [min, max]. */
static bool parse_canonical_integer(const char *s, int64_t min, int64_t max, int64_t *out)
{
    const char *digits = s[0] == '-' ? s + 1 : s;
    if (digits[0] < '0' || digits[0] > '9')
        return false;
    if (digits[0] == '0' && (digits[1] != '\0' || s[0] == '-'))
        return false; /* "007", "-0" */
    for (const char *p = digits; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
    }
    errno = 0;
    char *end = NULL;
    long long value = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return false;
    *out = value;
    return true;
}

static void bad_param(model_text *out, const char *name, const char *value, const char *what)
{
    model_text_appendf(out, "Parameter '%s' must be %s, got '", name, what);
    model_text_append_escaped(out, value, strlen(value), QUOTED_PARAM_MAX_CHARS);
    model_text_append(out, "'");
}

/* Converts one bound parameter to its member's JSON type. */
static json_t *convert_param(const model_member *member, const char *value, model_text *out)
{
    const char *name = member->name;
    int64_t number;
    switch ((model_type)member->shape->type) {
    case MODEL_STRING:
        if (!model_utf8_valid(value, strlen(value))) {
            bad_param(out, name, value, "valid UTF-8");
            return NULL;
        }
        return json_string(value);
    case MODEL_INTEGER:
        if (!parse_canonical_integer(value, INT32_MIN, INT32_MAX, &number)) {
            bad_param(out, name, value, "an integer from -2147483648 to 2147483647");
            return NULL;
        }
        return json_integer(number);
    case MODEL_LONG:
        if (!parse_canonical_integer(value, INT64_MIN, INT64_MAX, &number)) {
            bad_param(out, name, value, "a 64-bit integer");
            return NULL;
        }
        return json_integer(number);
    case MODEL_BOOLEAN:
        if (strcmp(value, "true") == 0)
            return json_true();
        if (strcmp(value, "false") == 0)
            return json_false();
        bad_param(out, name, value, "true or false");
        return NULL;
    default:
        /* The App Mesh model binds only strings and integers. */
        model_text_appendf(out, "Parameter '%s' has a type that cannot be bound to %s", name,
                           location_phrase(member->location));
        return NULL;
    }
}

static bool add_params(const model_operation *op, json_t *input,
                       const trellis_api_param *params, size_t param_count, model_text *out)
{
    for (size_t i = 0; i < param_count; i++) {
        const char *name = params[i].name;
        const char *value = params[i].value;
        if (name == NULL || value == NULL) {
            model_text_append(out, "A request parameter has no name or value");
            return false;
        }
        const model_member *member = model_member_find(op->input, name);
        if (member == NULL || member->location == MODEL_IN_BODY) {
            model_text_appendf(out, "%s takes no request parameter named '", op->name);
            model_text_append_escaped(out, name, strlen(name), QUOTED_PARAM_MAX_CHARS);
            model_text_append(out, "'");
            return false;
        }
        if (json_object_get(input, member->name) != NULL) {
            model_text_appendf(out, "Parameter '%s' is given more than once", member->name);
            return false;
        }
        json_t *converted = convert_param(member, value, out);
        if (converted == NULL || json_object_set_new(input, member->name, converted) != 0) {
            if (converted == NULL && out->len == 0)
                model_text_append(out, "out of memory while reading the request");
            return false;
        }
    }
    return true;
}

/* Rejects body members that the model binds to the URI, query or headers:
 * they must come from there, never from the body. */
static bool check_body_members(const model_operation *op, json_t *body, model_text *out)
{
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) {
        const model_member *member = model_member_find(op->input, key);
        if (member != NULL && member->location != MODEL_IN_BODY) {
            model_text_appendf(out,
                               "Member '%s' must be given in %s, not in the request body",
                               member->name, location_phrase(member->location));
            return false;
        }
    }
    return true;
}

/* Removes JSON null members (validation treated them as not set) so the
 * document handed on holds only members that are set. */
static void strip_nulls(const model_shape *shape, json_t *value)
{
    if (shape->type == MODEL_STRUCTURE && json_is_object(value)) {
        for (size_t i = 0; i < shape->member_count; i++) {
            json_t *member = json_object_get(value, shape->members[i].name);
            if (member == NULL)
                continue;
            if (json_is_null(member))
                json_object_del(value, shape->members[i].name);
            else
                strip_nulls(shape->members[i].shape, member);
        }
    } else if (shape->type == MODEL_LIST && json_is_array(value)) {
        size_t i;
        json_t *element;
        json_array_foreach(value, i, element) strip_nulls(shape->element, element);
    } else if (shape->type == MODEL_MAP && json_is_object(value)) {
        const char *key;
        json_t *entry;
        json_object_foreach(value, key, entry) strip_nulls(shape->element, entry);
    }
}

json_t *model_build_input(const model_operation *op, const trellis_api_param *params,
                          size_t param_count, const char *body, size_t body_len, char *message,
                          size_t message_size)
{
    model_text out;
    model_text_init(&out, message, message_size);
    if (op == NULL || op->input == NULL) {
        model_text_append(&out, "Unknown operation");
        return NULL;
    }
    json_t *input = parse_body(body, body_len, &out);
    if (input == NULL)
        return NULL;
    if (!check_body_members(op, input, &out) ||
        !add_params(op, input, params, param_count, &out)) {
        json_decref(input);
        return NULL;
    }
    if (model_validate(op->input, input, "", message, message_size) > 0) {
        json_decref(input);
        return NULL;
    }
    strip_nulls(op->input, input);
    return input;
}
