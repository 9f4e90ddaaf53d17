#include "route_order.h"

#include <stdlib.h>
#include <string.h>

enum { PATH_EXACT = 0, PATH_REGEX = 1, PATH_PREFIX = 2 };

typedef struct specificity {
    int path_kind;
    size_t path_length;
    size_t conditions;
} specificity;

static specificity specificity_of(const plan_route *r)
{
    specificity s = {PATH_PREFIX, 1, 0};
    const json_t *match = json_object_get(r->route, "match");
    if (r->type == PROTOCOL_GRPC) {
        const char *service = json_string_value(json_object_get(match, "serviceName"));
        const char *method = json_string_value(json_object_get(match, "methodName"));
        if (service != NULL && method != NULL)
            s = (specificity){PATH_EXACT, strlen(service) + strlen(method) + 2, 0};
        else if (service != NULL)
            s.path_length = strlen(service) + 2;
        s.conditions = json_array_size(json_object_get(match, "metadata")) +
                       (json_object_get(match, "hostname") != NULL);
        return s;
    }
    const json_t *path = json_object_get(match, "path");
    const char *exact = json_string_value(json_object_get(path, "exact"));
    const char *regex = json_string_value(json_object_get(path, "regex"));
    const char *prefix = json_string_value(json_object_get(match, "prefix"));
    if (exact != NULL)
        s = (specificity){PATH_EXACT, strlen(exact), 0};
    else if (regex != NULL)
        s = (specificity){PATH_REGEX, 0, 0};
    else if (prefix != NULL)
        s.path_length = strlen(prefix);
    s.conditions = json_array_size(json_object_get(match, "headers")) +
                   json_array_size(json_object_get(match, "queryParameters")) +
                   (json_object_get(match, "method") != NULL) +
                   (json_object_get(match, "scheme") != NULL) +
                   (json_object_get(match, "hostname") != NULL);
    return s;
}

static int compare_routes(const void *a, const void *b)
{
    const plan_route *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    specificity sx = specificity_of(x), sy = specificity_of(y);
    if (sx.path_kind != sy.path_kind)
        return sx.path_kind < sy.path_kind ? -1 : 1;
    if (sx.path_length != sy.path_length)
        return sx.path_length > sy.path_length ? -1 : 1;
    if (sx.conditions != sy.conditions)
        return sx.conditions > sy.conditions ? -1 : 1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

void route_order_sort(plan_route *routes, size_t count)
{
    if (count > 1)
        qsort(routes, count, sizeof(*routes), compare_routes);
}
