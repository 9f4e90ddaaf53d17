#include "route_match.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The decoded segments of a request path, in one owned buffer. */
typedef struct path_segments {
    const char *text[APPMESH_MAX_SEGMENTS];
    size_t count;
    char *storage;
} path_segments;

void appmesh_match_init(appmesh_match *match)
{
    memset(match, 0, sizeof(*match));
}

void appmesh_match_free(appmesh_match *match)
{
    for (size_t i = 0; i < match->param_count; i++)
        free(match->values[i]);
    match->param_count = 0;
}

static appmesh_match_status refuse(appmesh_match *match, appmesh_match_status status,
                                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static appmesh_match_status refuse(appmesh_match *match, appmesh_match_status status,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(match->message, sizeof(match->message), fmt, ap);
    va_end(ap);
    appmesh_match_free(match);
    match->route = NULL;
    return status;
}

/* Splits on '/' (raw), then percent-decodes each segment. Returns false with
 * *too_many set when the path has more segments than any route. */
static bool split_path(const char *path, path_segments *out, bool *too_many, bool *bad_escape)
{
    *too_many = false;
    *bad_escape = false;
    size_t len = strlen(path);
    out->count = 0;
    out->storage = malloc(len + APPMESH_MAX_SEGMENTS + 1);
    if (out->storage == NULL)
        return false;
    char *write = out->storage;
    const char *cursor = path[0] == '/' ? path + 1 : path;
    for (;;) {
        const char *end = strchr(cursor, '/');
        size_t seg_len = end ? (size_t)(end - cursor) : strlen(cursor);
        if (out->count == APPMESH_MAX_SEGMENTS) {
            *too_many = true;
            return false;
        }
        if (!http_url_decode(cursor, seg_len, write, seg_len + 1, false)) {
            *bad_escape = true;
            return false;
        }
        out->text[out->count++] = write;
        write += strlen(write) + 1;
        if (end == NULL)
            break;
        cursor = end + 1;
    }
    return true;
}

/* Whether the template's segments match the path's; literal segments must
 * be equal, {labels} match anything. */
static bool template_matches(const char *uri_template, const path_segments *segments)
{
    const char *cursor = uri_template + 1; /* templates start with '/' */
    for (size_t i = 0; i < segments->count; i++) {
        const char *end = strchr(cursor, '/');
        size_t seg_len = end ? (size_t)(end - cursor) : strlen(cursor);
        bool label = seg_len >= 2 && cursor[0] == '{' && cursor[seg_len - 1] == '}';
        if (!label && (strlen(segments->text[i]) != seg_len ||
                       memcmp(segments->text[i], cursor, seg_len) != 0))
            return false;
        if (end == NULL)
            return i + 1 == segments->count;
        cursor = end + 1;
    }
    return false; /* the template has more segments */
}

static bool add_param(appmesh_match *match, const char *member, const char *value)
{
    if (match->param_count == APPMESH_MAX_PARAMS)
        return false;
    char *copy = strdup(value);
    if (copy == NULL)
        return false;
    match->values[match->param_count] = copy;
    match->params[match->param_count].name = member;
    match->params[match->param_count].value = copy;
    match->param_count++;
    return true;
}

static bool has_param(const appmesh_match *match, const char *member)
{
    for (size_t i = 0; i < match->param_count; i++) {
        if (strcmp(match->params[i].name, member) == 0)
            return true;
    }
    return false;
}

static const appmesh_binding *find_binding(const appmesh_route *route, unsigned location,
                                           const char *name, size_t name_len)
{
    for (size_t i = 0; i < route->binding_count; i++) {
        const appmesh_binding *b = &route->bindings[i];
        if (b->location == location && strlen(b->location_name) == name_len &&
            memcmp(b->location_name, name, name_len) == 0)
            return b;
    }
    return NULL;
}

static appmesh_match_status bind_uri(const appmesh_route *route, const path_segments *segments,
                                     appmesh_match *match)
{
    const char *cursor = route->uri_template + 1;
    for (size_t i = 0; i < segments->count; i++) {
        const char *end = strchr(cursor, '/');
        size_t seg_len = end ? (size_t)(end - cursor) : strlen(cursor);
        if (seg_len >= 2 && cursor[0] == '{') {
            const appmesh_binding *b = find_binding(route, APPMESH_IN_URI, cursor + 1, seg_len - 2);
            if (b != NULL && !add_param(match, b->member, segments->text[i]))
                return APPMESH_MATCH_NO_MEMORY;
        }
        cursor = end ? end + 1 : cursor + seg_len;
    }
    return APPMESH_MATCH_OK;
}

static appmesh_match_status bind_query(const appmesh_route *route, const char *query,
                                       appmesh_match *match)
{
    size_t len = strlen(query);
    char *name = malloc(len + 1);
    char *value = malloc(len + 1);
    if (name == NULL || value == NULL) {
        free(name);
        free(value);
        return APPMESH_MATCH_NO_MEMORY;
    }
    appmesh_match_status status = APPMESH_MATCH_OK;
    const char *cursor = query;
    bool bad = false;
    while (http_query_next(&cursor, name, len + 1, value, len + 1, &bad)) {
        const appmesh_binding *b = find_binding(route, APPMESH_IN_QUERY, name, strlen(name));
        if (b == NULL)
            continue; /* AWS ignores query parameters an operation does not take */
        if (has_param(match, b->member)) {
            status = refuse(match, APPMESH_MATCH_BAD_REQUEST,
                            "Query parameter '%s' is given more than once", b->location_name);
            break;
        }
        if (!add_param(match, b->member, value)) {
            status = APPMESH_MATCH_NO_MEMORY;
            break;
        }
    }
    if (bad && status == APPMESH_MATCH_OK)
        status = refuse(match, APPMESH_MATCH_BAD_REQUEST,
                        "The query string has an invalid percent-encoding");
    free(name);
    free(value);
    return status;
}

static appmesh_match_status bind_headers(const appmesh_route *route, const http_header *headers,
                                         size_t header_count, appmesh_match *match)
{
    for (size_t i = 0; i < route->binding_count; i++) {
        const appmesh_binding *b = &route->bindings[i];
        if (b->location != APPMESH_IN_HEADER)
            continue;
        const char *value = NULL;
        for (size_t h = 0; h < header_count; h++) {
            if (strcasecmp(headers[h].name, b->location_name) != 0)
                continue;
            if (value != NULL)
                return refuse(match, APPMESH_MATCH_BAD_REQUEST,
                              "Header '%s' is given more than once", b->location_name);
            value = headers[h].value;
        }
        if (value != NULL && !add_param(match, b->member, value))
            return APPMESH_MATCH_NO_MEMORY;
    }
    return APPMESH_MATCH_OK;
}

appmesh_match_status appmesh_route_request(const char *method, const char *path,
                                           const char *query, const http_header *headers,
                                           size_t header_count, appmesh_match *match)
{
    appmesh_match_free(match);
    appmesh_match_init(match);
    path_segments segments;
    bool too_many, bad_escape;
    if (!split_path(path, &segments, &too_many, &bad_escape)) {
        free(segments.storage);
        if (bad_escape)
            return refuse(match, APPMESH_MATCH_BAD_REQUEST,
                          "The request path has an invalid percent-encoding");
        if (too_many)
            return refuse(match, APPMESH_MATCH_NO_ROUTE, "No App Mesh operation matches %s %s",
                          method, path);
        return APPMESH_MATCH_NO_MEMORY;
    }

    const appmesh_route *route = NULL;
    size_t route_index = 0;
    char allowed[64] = "";
    for (size_t i = 0; i < appmesh_route_count; i++) {
        if (!template_matches(appmesh_routes[i].uri_template, &segments))
            continue;
        if (strcmp(appmesh_routes[i].method, method) == 0) {
            route = &appmesh_routes[i];
            route_index = i;
            break;
        }
        if (strstr(allowed, appmesh_routes[i].method) == NULL) {
            size_t used = strlen(allowed);
            snprintf(allowed + used, sizeof(allowed) - used, "%s%s", used ? ", " : "",
                     appmesh_routes[i].method);
        }
    }
    appmesh_match_status status = APPMESH_MATCH_OK;
    if (route == NULL) {
        status = allowed[0] != '\0'
                     ? refuse(match, APPMESH_MATCH_NO_METHOD,
                              "No App Mesh operation matches %s %s (it accepts %s)", method,
                              path, allowed)
                     : refuse(match, APPMESH_MATCH_NO_ROUTE, "No App Mesh operation matches %s %s",
                              method, path);
    } else {
        status = bind_uri(route, &segments, match);
        if (status == APPMESH_MATCH_OK)
            status = bind_query(route, query, match);
        if (status == APPMESH_MATCH_OK)
            status = bind_headers(route, headers, header_count, match);
    }
    free(segments.storage);
    if (status == APPMESH_MATCH_NO_MEMORY)
        return refuse(match, APPMESH_MATCH_NO_MEMORY, "out of memory");
    if (status == APPMESH_MATCH_OK) {
        match->route = route;
        match->route_index = route_index;
    }
    return status;
}
