/*
 * IP version preference (mesh spec.serviceDiscovery.ipPreference, overridden
 * per node by its serviceDiscovery.dns/awsCloudMap ipPreference) and what it
 * changes in Envoy, following the guide's table (virtual nodes, "IP version
 * preference"): the DNS lookup family of clusters, the local app endpoint's
 * loopback address, which discovered addresses are usable, and whether the
 * listeners bind IPv6 as well.
 */
#ifndef TRELLIS_COMPILER_IP_PREFERENCE_H
#define TRELLIS_COMPILER_IP_PREFERENCE_H

#include <jansson.h>
#include <stdbool.h>

typedef enum ip_preference {
    IP_PREFERENCE_DEFAULT = 0,  /* none set anywhere */
    IP_PREFERENCE_IPV6_PREFERRED,
    IP_PREFERENCE_IPV4_PREFERRED,
    IP_PREFERENCE_IPV6_ONLY,
    IP_PREFERENCE_IPV4_ONLY
} ip_preference;

ip_preference ip_preference_of_mesh(const json_t *mesh_spec);
/* The node's own preference, else the mesh's. */
ip_preference ip_preference_of_node(const json_t *node_spec, ip_preference mesh);

/* Envoy Cluster.dns_lookup_family, or NULL for Envoy's default (AUTO: prefer
 * IPv6, fall back to IPv4, which is the guide's "Default" behaviour). */
const char *ip_preference_dns_lookup_family(ip_preference preference);
/* Loopback address of the local app endpoint: "::1" when IPv6 is preferred or
 * required, else "127.0.0.1". */
const char *ip_preference_loopback(ip_preference preference);
/* Whether listeners also accept IPv6 (bind "::" with ipv4_compat). */
bool ip_preference_dual_stack(ip_preference preference);
/* Whether a discovered address (IPv4 or IPv6 literal) may be used. */
bool ip_preference_allows(ip_preference preference, const char *address);

#endif
