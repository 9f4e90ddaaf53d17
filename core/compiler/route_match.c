#include "route_match.h"

#include <string.h>

#include "json_build.h"

static json_t *string_matcher(compile_ctx *c, const char *kind, const char *value)
{
    json_t *matcher = jb_object(c);
    if (strcmp(kind, "safe_regex") == 0) {
        json_t *regex = jb_object(c);
        jb_set_string(c, regex, "regex", value);
        jb_set(c, matcher, "safe_regex", regex);
    } else {
        jb_set_string(c, matcher, kind, value);
    }
    return matcher;
}

json_t *route_match_header(compile_ctx *c, const char *name, const json_t *method, bool invert)
{
    json_t *header = jb_object(c);
    jb_set_string(c, header, "name", name);
    static const char *const kinds[][2] = {
        {"exact", "exact"}, {"prefix", "prefix"}, {"suffix", "suffix"}, {"regex", "safe_regex"}};
    bool matched = false;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !matched; i++) {
        const char *value = json_string_value(json_object_get(method, kinds[i][0]));
        if (value == NULL)
            continue;
        matched = true;
        if (value[0] == '\0' && strcmp(kinds[i][0], "exact") != 0) {
            /* Envoy wants non-empty prefixes, suffixes and regexes; an empty
             * prefix or suffix matches any value, an empty regex only "". */
            if (strcmp(kinds[i][0], "regex") == 0)
                jb_set(c, header, "string_match", string_matcher(c, "exact", ""));
            else
                jb_set_bool(c, header, "present_match", true);
        } else {
            jb_set(c, header, "string_match", string_matcher(c, kinds[i][1], value));
        }
    }
    const json_t *range = json_object_get(method, "range");
    if (!matched && range != NULL) {
        matched = true;
        json_t *range_match = jb_object(c);
        jb_set_integer(c, range_match, "start", json_integer_value(json_object_get(range, "start")));
        jb_set_integer(c, range_match, "end", json_integer_value(json_object_get(range, "end")));
        jb_set(c, header, "range_match", range_match);
    }
    if (!matched)
        jb_set_bool(c, header, "present_match", true);
    if (invert)
        jb_set_bool(c, header, "invert_match", true);
    return header;
}

static json_t *exact_header(compile_ctx *c, const char *name, const char *value)
{
    json_t *header = jb_object(c);
    jb_set_string(c, header, "name", name);
    jb_set(c, header, "string_match", string_matcher(c, "exact", value));
    return header;
}

static json_t *present_header(compile_ctx *c, const char *name)
{
    json_t *header = jb_object(c);
    jb_set_string(c, header, "name", name);
    jb_set_bool(c, header, "present_match", true);
    return header;
}

/* headers[] / metadata[] entries: {name, invert, match}.
 *
 * An inverted value match never matches a missing header in Envoy (App
 * Mesh's semantics), but does in gRPC, which inverts "absent, no match".
 * Proxyless clients get the header's presence as a second condition, so a
 * call without it falls through to the next route as it would in Envoy. */
static void add_header_list(compile_ctx *c, json_t *headers, const json_t *list, bool proxyless)
{
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        if (name == NULL || name[0] == '\0')
            continue;
        bool invert = json_is_true(json_object_get(item, "invert"));
        json_t *header = route_match_header(c, name, json_object_get(item, "match"), invert);
        if (proxyless && invert && json_object_get(header, "present_match") == NULL)
            jb_push(c, headers, present_header(c, name));
        jb_push(c, headers, header);
    }
}

static bool build_http(compile_ctx *c, json_t *out, const json_t *match, bool proxyless,
                       bool *uses_path)
{
    const char *prefix = json_string_value(json_object_get(match, "prefix"));
    const json_t *path = json_object_get(match, "path");
    const char *exact = json_string_value(json_object_get(path, "exact"));
    const char *regex = json_string_value(json_object_get(path, "regex"));
    if (exact != NULL) {
        jb_set_string(c, out, "path", exact);
    } else if (regex != NULL && regex[0] != '\0') {
        json_t *safe = jb_object(c);
        jb_set_string(c, safe, "regex", regex);
        jb_set(c, out, "safe_regex", safe);
    } else {
        jb_set_string(c, out, "prefix", prefix != NULL ? prefix : "/");
    }
    *uses_path = true;

    const char *method = json_string_value(json_object_get(match, "method"));
    const char *scheme = json_string_value(json_object_get(match, "scheme"));
    const json_t *params = json_object_get(match, "queryParameters");
    if (proxyless) {
        if (scheme != NULL || json_array_size(params) > 0 ||
            (method != NULL && strcmp(method, "POST") != 0))
            return false;
        method = NULL;
    }
    const json_t *header_list = json_object_get(match, "headers");
    if (json_array_size(header_list) > 0 || method != NULL || scheme != NULL) {
        json_t *headers = jb_array(c);
        add_header_list(c, headers, header_list, proxyless);
        if (method != NULL)
            jb_push(c, headers, exact_header(c, ":method", method));
        if (scheme != NULL)
            jb_push(c, headers, exact_header(c, ":scheme", scheme));
        jb_set(c, out, "headers", headers);
    }
    if (json_array_size(params) > 0) {
        json_t *query = jb_array(c);
        size_t i;
        const json_t *param;
        json_array_foreach(params, i, param) {
            const char *name = json_string_value(json_object_get(param, "name"));
            if (name == NULL || name[0] == '\0')
                continue;
            json_t *matcher = jb_object(c);
            jb_set_string(c, matcher, "name", name);
            const char *value =
                json_string_value(json_object_get(json_object_get(param, "match"), "exact"));
            if (value != NULL)
                jb_set(c, matcher, "string_match", string_matcher(c, "exact", value));
            else
                jb_set_bool(c, matcher, "present_match", true);
            jb_push(c, query, matcher);
        }
        jb_set(c, out, "query_parameters", query);
    }
    return true;
}

static void build_grpc(compile_ctx *c, json_t *out, const json_t *match, bool proxyless,
                       bool *uses_path)
{
    const char *service = json_string_value(json_object_get(match, "serviceName"));
    const char *method = json_string_value(json_object_get(match, "methodName"));
    if (service != NULL && method != NULL) {
        jb_set(c, out, "path", jb_string(c, arena_printf(&c->arena, "/%s/%s", service, method)));
        *uses_path = true;
    } else if (service != NULL) {
        jb_set(c, out, "prefix", jb_string(c, arena_printf(&c->arena, "/%s/", service)));
        *uses_path = true;
    } else {
        jb_set_string(c, out, "prefix", "/");
    }
    const json_t *metadata = json_object_get(match, "metadata");
    if (json_array_size(metadata) > 0) {
        json_t *headers = jb_array(c);
        add_header_list(c, headers, metadata, proxyless);
        jb_set(c, out, "headers", headers);
    }
}

route_match_result route_match_build(compile_ctx *c, const json_t *match, mesh_protocol type,
                                     bool proxyless)
{
    route_match_result result = {jb_object(c), false};
    if (type == PROTOCOL_GRPC) {
        build_grpc(c, result.match, match, proxyless, &result.uses_path);
    } else if (!build_http(c, result.match, match, proxyless, &result.uses_path)) {
        json_decref(result.match);
        result.match = NULL;
    }
    return result;
}
