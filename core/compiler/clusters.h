/*
 * Clusters (names: naming.h).
 *  - local app, one per node listener: cds_ingress_<mesh>_<node>_<proto>_<port>,
 *    STATIC, the loopback address of the node's IP preference and the
 *    listener port, connect timeout 0.25 s (like App Mesh's loopback
 *    self_redirect cluster), circuit breakers from the listener's
 *    connectionPool;
 *  - egress, one per target node and listener: cds_egress_<mesh>_<node>_<proto>_<port>,
 *    discovery per service_discovery.h, connect timeout 1 s, DNS lookup
 *    family from the target's IP preference, App Mesh's default circuit
 *    breakers, and (sidecars) the target listener's health check and outlier
 *    detection;
 *  - gateways: cds_ingress_<mesh>_<gateway>_self_redirect[_<port>]_<proto>_15001,
 *    STATIC 127.0.0.1:15001, 0.25 s (dump D1);
 *  - cds_egress_<mesh>_amazonaws and (ALLOW_ALL) cds_egress_<mesh>_mesh-allow-all:
 *    ORIGINAL_DST passthrough, CLUSTER_PROVIDED load balancing.
 * http2 and grpc upstreams get HTTP/2 through typed_extension_protocol_options
 * (Cluster.http2_protocol_options is deprecated). Each function adds the
 * cluster once and returns its name (arena), or NULL when it cannot exist.
 */
#ifndef TRELLIS_COMPILER_CLUSTERS_H
#define TRELLIS_COMPILER_CLUSTERS_H

#include <jansson.h>
#include <stdbool.h>

#include "compile_context.h"
#include "egress_plan.h"

const char *cluster_local(compile_ctx *c, const json_t *listener, uint32_t port,
                          mesh_protocol protocol);
const char *cluster_for_target(compile_ctx *c, const plan_target *target, bool proxyless);
/* A gateway listener's loopback cluster into the gateway's own egress
 * listener (127.0.0.1:15001), the listener's connectionPool as breakers. */
const char *cluster_self_redirect(compile_ctx *c, const json_t *listener, bool several_listeners,
                                  uint32_t port, mesh_protocol protocol);
const char *cluster_amazonaws(compile_ctx *c);
const char *cluster_allow_all(compile_ctx *c);

#endif
