/*
 * The two network filters of App Mesh listeners: the HTTP connection manager
 * (http, http2, grpc) and the TCP proxy (tcp), each with the node's access
 * logs. Every HCM ends with the router filter; http listeners accept
 * websocket upgrades; path normalisation (normalize_path, merge_slashes) is
 * on when the routes behind the HCM match on paths (guide: "If you enable
 * Path/Prefix based matching, App Mesh enables path normalization").
 */
#ifndef TRELLIS_COMPILER_NETWORK_FILTERS_H
#define TRELLIS_COMPILER_NETWORK_FILTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "compile_context.h"

typedef struct hcm_options {
    const char *stat_prefix;
    const char *route_config_name;  /* RDS over ADS */
    bool websocket;
    bool normalize_path;
    bool access_log;
} hcm_options;

/* The HttpConnectionManager message (with its @type), for a filter or an api_listener. */
json_t *hcm_config(compile_ctx *c, const hcm_options *options);
/* {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}. */
json_t *hcm_filter(compile_ctx *c, const hcm_options *options);

typedef struct tcp_cluster {
    const char *name;
    uint32_t weight;
} tcp_cluster;

/* A tcp_proxy filter to one cluster or, with several, weighted clusters
 * (zero weights left out: Envoy requires weights >= 1). NULL when no cluster
 * has weight. `idle_ms` < 0 leaves Envoy's default. */
json_t *tcp_proxy_filter(compile_ctx *c, const char *stat_prefix, const tcp_cluster *clusters,
                         size_t count, int64_t idle_ms);

#endif
