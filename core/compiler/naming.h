/*
 * The names App Mesh gave Envoy resources (user guide, "Envoy resource
 * naming"; research NAME-01..15). Stats, dashboards and alarms depend on
 * them, so they are conformance facts. Strings live in the compile arena.
 */
#ifndef TRELLIS_COMPILER_NAMING_H
#define TRELLIS_COMPILER_NAMING_H

#include <stdint.h>

#include "arena.h"
#include "protocol.h"

#define NAME_INGRESS_PORT 15000
#define NAME_EGRESS_PORT 15001
#define NAME_ANY_IPV4 "0.0.0.0"

/* lds_<direction>_0.0.0.0_<port>: "lds_ingress_0.0.0.0_15000", "lds_egress_0.0.0.0_15001". */
char *name_listener(arena *a, const char *direction, uint32_t port);
/* cds_<direction>_<mesh>_<node>_<protocol>_<port>:
 * "cds_ingress_my-mesh_my-virtual-node_http_8080". */
char *name_cluster(arena *a, const char *direction, const char *mesh, const char *node,
                   mesh_protocol protocol, uint32_t port);
/* cds_egress_<mesh>_amazonaws, cds_egress_<mesh>_mesh-allow-all. */
char *name_cluster_amazonaws(arena *a, const char *mesh);
char *name_cluster_allow_all(arena *a, const char *mesh);
/* rds_<direction>_<protocol>_<port>: "rds_ingress_http_8080", "rds_egress_grpc_9000". */
char *name_route_config(arena *a, const char *direction, mesh_protocol protocol, uint32_t port);
/* Ingress HCM stat prefix: "ingress" for a single listener, "ingress.<protocol>.<port>"
 * when the node has several. */
char *name_ingress_stat_prefix(arena *a, bool several_listeners, mesh_protocol protocol,
                               uint32_t port);

/* A gateway's loopback cluster into its own egress listener:
 * cds_ingress_<mesh>_<gateway>_self_redirect_<protocol>_15001, or with several
 * listeners cds_ingress_<mesh>_<gateway>_self_redirect_<listener port>_<protocol>_15001. */
char *name_cluster_self_redirect(arena *a, const char *mesh, const char *gateway,
                                 bool several_listeners, uint32_t listener_port,
                                 mesh_protocol protocol);

/* Proxyless: the listener a gRPC client asks for with xds:///<service>:<port>,
 * and its route configuration "rds_proxyless_<service>_<port>". */
char *name_proxyless_listener(arena *a, const char *virtual_service, uint32_t port);
char *name_proxyless_route_config(arena *a, const char *virtual_service, uint32_t port);

/* Virtual host domains: "<service>" and "<service>:<port>". */
char *name_domain_with_port(arena *a, const char *virtual_service, uint32_t port);

#endif
