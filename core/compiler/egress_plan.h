/*
 * What a client can reach: the node's backends resolved through the catalog
 * into virtual services on ports, each with its ordered routes and their
 * resolved targets (a virtual node listener). Everything that cannot be
 * compiled (a missing virtual service, provider, router or target node, a
 * target port the node no longer listens on, a node without service
 * discovery) is left out here, so the resource builders never produce a
 * dangling reference. All memory is in the compile arena; catalog pointers
 * are borrowed.
 *
 * Port rules (the egress listener matches on the destination port only):
 *  - a virtual service provided by a virtual router is reachable on each
 *    router listener port; one provided by a virtual node on each node
 *    listener port;
 *  - http, http2 and grpc services on one port share one HTTP connection
 *    manager and one route configuration, named after the first protocol in
 *    the order http, http2, grpc;
 *  - tcp services cannot share a port (App Mesh: "TCP backends cannot share
 *    a port"): an HTTP-family service on the port wins over tcp ones, and
 *    among tcp services the first backend in the node's list wins;
 *  - virtual hosts are ordered by service name; a service whose name equals
 *    another's ignoring case is left out on that port (domains are
 *    case-insensitive, Envoy rejects duplicates).
 */
#ifndef TRELLIS_COMPILER_EGRESS_PLAN_H
#define TRELLIS_COMPILER_EGRESS_PLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "compile_context.h"
#include "protocol.h"

#define ROUTE_PRIORITY_UNSET 1001   /* after every explicit priority (0..1000) */

typedef struct plan_target {
    const char *node;               /* virtual node name */
    const json_t *node_spec;
    const json_t *listener;         /* the node listener traffic goes to */
    uint32_t port;
    mesh_protocol protocol;         /* of that listener */
    uint32_t weight;
} plan_target;

typedef struct plan_route {
    const char *name;               /* App Mesh route name; NULL: a virtual node provider */
    const json_t *route;            /* httpRoute/http2Route/grpcRoute/tcpRoute; NULL likewise */
    mesh_protocol type;
    int priority;
    plan_target *targets;
    size_t target_count;
} plan_route;

typedef struct plan_service {
    const char *name;               /* virtual service name */
    uint32_t port;                  /* the port the application connects to */
    mesh_protocol protocol;
    const json_t *backend;          /* the node's backends[] entry (client policy) */
    size_t backend_index;           /* position in the node's backends */
    plan_route *routes;             /* in App Mesh match order */
    size_t route_count;
} plan_service;

typedef struct plan_port {
    uint32_t port;
    mesh_protocol protocol;         /* tcp, or the protocol naming the route configuration */
    plan_service **services;        /* http family: by name; tcp: exactly one */
    size_t service_count;
} plan_port;

typedef struct router_routes router_routes;

typedef struct egress_plan {
    plan_service *services;         /* every reachable (service, port), by name then port */
    size_t service_count, service_capacity;
    plan_port *ports;               /* by port */
    size_t port_count;
    router_routes *routers;         /* routes scanned so far, one scan per router */
} egress_plan;

/* Resolves `backends` (a virtual node's spec.backends). False only on
 * allocation failure. */
bool egress_plan_build(compile_ctx *c, const json_t *backends, egress_plan *plan);

/* Resolves one virtual service by name into its (service, port) entries,
 * appended to the plan's services (used by gateways, whose targets are
 * virtual services named by gateway routes). */
bool egress_plan_add_service(compile_ctx *c, egress_plan *plan, const char *virtual_service,
                             const json_t *backend, size_t backend_index);
/* Sorts the services and groups them by port (after the adds). */
bool egress_plan_group_ports(compile_ctx *c, egress_plan *plan);

#endif
