/*
 * Endpoints: the load_assignment of STATIC and DNS clusters, and the
 * ClusterLoadAssignment (EDS) of clusters whose endpoints come from the
 * discovery source (Cloud Map nodes; DNS nodes the source resolves itself;
 * for proxyless clients DNS ENDPOINTS nodes always). Discovered endpoints are filtered by the node's IP preference,
 * de-duplicated (address, port), and grouped into one locality per zone;
 * every locality has a `locality` (empty object when the zone is unknown)
 * and a load_balancing_weight equal to its endpoint count, as gRPC clients
 * require. When the source has nothing for the node the assignment is empty.
 */
#ifndef TRELLIS_COMPILER_ENDPOINTS_H
#define TRELLIS_COMPILER_ENDPOINTS_H

#include <jansson.h>
#include <stdint.h>

#include "compile_context.h"
#include "ip_preference.h"

/* {"cluster_name", "endpoints": [{"lb_endpoints": [one endpoint]}]} for an
 * address (IP literal or DNS name); health_port non-zero sets the endpoint's
 * health_check_config.port_value. */
json_t *endpoints_single(compile_ctx *c, const char *cluster_name, const char *address,
                         uint32_t port, uint32_t health_port);

/* Whether the endpoint source resolves the DNS name of `node` itself for this
 * compile's clients (compile_source.resolves_dns); the output then depends on
 * the source (deps.endpoints). */
bool endpoints_resolves_dns(compile_ctx *c, const char *node);

/* Adds the ClusterLoadAssignment of an EDS cluster for a virtual node. */
void endpoints_discovered(compile_ctx *c, const char *cluster_name, const char *node,
                          uint32_t default_port, ip_preference preference, uint32_t health_port);

#endif
