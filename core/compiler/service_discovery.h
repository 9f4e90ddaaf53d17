/*
 * A virtual node's service discovery and the Envoy cluster discovery it
 * becomes (research DNS-03, D1/D2 dumps):
 *   dns, responseType LOADBALANCER (the default) -> LOGICAL_DNS (one address)
 *   dns, responseType ENDPOINTS                  -> STRICT_DNS (every address)
 *   awsCloudMap                                  -> EDS over ADS, endpoints
 *                                                   from the discovery source
 * Proxyless gRPC clients accept only EDS and LOGICAL_DNS, so there ENDPOINTS
 * nodes become EDS clusters fed from the discovery source as well. When the
 * source resolves DNS names itself (compile_source.resolves_dns, trellis's
 * discovery.dns), every DNS node it resolves becomes EDS too.
 * A node without service discovery cannot be a traffic target.
 */
#ifndef TRELLIS_COMPILER_SERVICE_DISCOVERY_H
#define TRELLIS_COMPILER_SERVICE_DISCOVERY_H

#include <jansson.h>
#include <stdbool.h>

typedef enum discovery_kind {
    DISCOVERY_NONE = 0,
    DISCOVERY_DNS_LOADBALANCER,
    DISCOVERY_DNS_ENDPOINTS,
    DISCOVERY_CLOUD_MAP
} discovery_kind;

typedef struct discovery {
    discovery_kind kind;
    const char *hostname;       /* dns */
    const char *namespace_name; /* awsCloudMap */
    const char *service_name;   /* awsCloudMap */
} discovery;

discovery service_discovery_of(const json_t *node_spec);
bool service_discovery_reachable(const json_t *node_spec);

#endif
