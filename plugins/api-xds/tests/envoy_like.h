/*
 * What an Envoy (or a proxyless gRPC client) subscribes to next, from the
 * responses it received: the route configurations its listeners name (HTTP
 * connection managers with RDS, in filter chains or an api_listener) and the
 * endpoint assignments of its EDS clusters. Used by the probe tool and the
 * benchmark client to follow LDS -> RDS and CDS -> EDS as Envoy does.
 */
#ifndef TRELLIS_XDS_ENVOY_LIKE_H
#define TRELLIS_XDS_ENVOY_LIKE_H

#include "ads_client.h"
#include "name_set.h"

/* Adds the RDS names a Listener response references to `out`. */
void envoy_like_route_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *lds, name_set *out);
/* Adds the EDS service names a Cluster response references to `out`. */
void envoy_like_endpoint_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *cds,
                               name_set *out);
/* Adds the clusters a RouteConfiguration response routes to (proxyless
 * clients subscribe to those by name). */
void envoy_like_cluster_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *rds,
                              name_set *out);
/* The names of the resources in a response (Listener/Cluster/RouteConfiguration
 * by name, ClusterLoadAssignment by cluster_name) added to `out`. */
void envoy_like_resource_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *r,
                               name_set *out);

#endif
