/*
 * One Envoy Route per App Mesh route (and one per virtual-node-provided
 * service: App Mesh "creates an Envoy route ... when you define a virtual
 * node provider", matching every request, with only the default retry
 * policy).
 *   match           -> route_match.h
 *   weightedTargets -> route.weighted_clusters (one cluster per target node
 *                      and port; a target named twice is merged)
 *   timeout.perRequest -> route.timeout (default 15 s; 0 disables);
 *                      proxyless: route.max_stream_duration.max_stream_duration
 *   timeout.idle    -> route.idle_timeout (default 300 s; 0 disables; sidecars)
 *   retryPolicy     -> route.retry_policy (retry_policy.h)
 */
#ifndef TRELLIS_COMPILER_ROUTE_BUILD_H
#define TRELLIS_COMPILER_ROUTE_BUILD_H

#include <jansson.h>
#include <stdbool.h>

#include "compile_context.h"
#include "egress_plan.h"
#include "network_filters.h"

/* The Envoy Route, or NULL when the route cannot apply (proxyless matches a
 * gRPC client cannot see). Sets *uses_path when it matches on the path. */
json_t *route_build_http(compile_ctx *c, const plan_route *route, bool proxyless, bool *uses_path);

/* The clusters of a tcp route (weights as given), in `out` (room for
 * route->target_count); returns the count. */
size_t route_tcp_clusters(compile_ctx *c, const plan_route *route, tcp_cluster *out);

#endif
