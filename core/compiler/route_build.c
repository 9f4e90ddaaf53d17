#include "route_build.h"

#include <string.h>

#include "clusters.h"
#include "json_build.h"
#include "retry_policy.h"
#include "route_match.h"
#include "timeouts.h"

/* Clusters of the targets with their weights, targets naming the same
 * cluster merged; returns the count written to `out`. */
static size_t target_clusters(compile_ctx *c, const plan_route *route, bool proxyless,
                              tcp_cluster *out)
{
    size_t n = 0;
    for (size_t i = 0; i < route->target_count; i++) {
        const char *name = cluster_for_target(c, &route->targets[i], proxyless);
        if (name == NULL)
            continue;
        size_t k = 0;
        while (k < n && strcmp(out[k].name, name) != 0)
            k++;
        if (k == n)
            out[n++] = (tcp_cluster){name, 0};
        uint64_t sum = (uint64_t)out[k].weight + route->targets[i].weight;
        out[k].weight = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
    }
    return n;
}

size_t route_tcp_clusters(compile_ctx *c, const plan_route *route, tcp_cluster *out)
{
    return target_clusters(c, route, false, out);
}

static json_t *route_action(compile_ctx *c, const plan_route *route, bool proxyless)
{
    tcp_cluster *clusters = arena_alloc(&c->arena, (route->target_count + 1) * sizeof(*clusters));
    if (clusters == NULL)
        return NULL;
    size_t n = target_clusters(c, route, proxyless, clusters);
    bool some_weight = false;
    for (size_t i = 0; i < n; i++)
        some_weight = some_weight || clusters[i].weight > 0;
    if (!some_weight)
        return NULL;

    json_t *action = jb_object(c);
    if (route->name == NULL) {
        jb_set_string(c, action, "cluster", clusters[0].name);
    } else {
        json_t *list = jb_array(c);
        for (size_t i = 0; i < n; i++) {
            json_t *entry = jb_object(c);
            jb_set_string(c, entry, "name", clusters[i].name);
            jb_set_integer(c, entry, "weight", clusters[i].weight);
            jb_push(c, list, entry);
        }
        json_t *weighted = jb_object(c);
        jb_set(c, weighted, "clusters", list);
        jb_set(c, action, "weighted_clusters", weighted);
    }

    mesh_timeouts timeouts = timeouts_of(json_object_get(route->route, "timeout"));
    if (proxyless) {
        json_t *max = jb_object(c);
        jb_set(c, max, "max_stream_duration", jb_duration_ms(c, timeouts.request_ms));
        jb_set(c, action, "max_stream_duration", max);
    } else {
        jb_set(c, action, "timeout", jb_duration_ms(c, timeouts.request_ms));
        jb_set(c, action, "idle_timeout", jb_duration_ms(c, timeouts.idle_ms));
    }
    json_t *retry = retry_policy_for_route(c, json_object_get(route->route, "retryPolicy"), proxyless);
    if (retry != NULL)
        jb_set(c, action, "retry_policy", retry);
    return action;
}

json_t *route_build_http(compile_ctx *c, const plan_route *route, bool proxyless, bool *uses_path)
{
    route_match_result m = {NULL, false};
    if (route->route == NULL) {
        m.match = jb_object(c);
        jb_set_string(c, m.match, "prefix", "/");
    } else {
        m = route_match_build(c, json_object_get(route->route, "match"), route->type, proxyless);
        if (m.match == NULL)
            return NULL;
    }
    json_t *match = m.match;
    json_t *action = route_action(c, route, proxyless);
    if (action == NULL) {
        json_decref(match);
        return NULL;
    }
    *uses_path = *uses_path || m.uses_path;
    json_t *out = jb_object(c);
    if (route->name != NULL)
        jb_set_string(c, out, "name", route->name);
    jb_set(c, out, "match", match);
    jb_set(c, out, "route", action);
    return out;
}
