/*
 * Proxyless gRPC clients (App Mesh never had them). A gRPC client whose node
 * id names a virtual node dials xds:///<service>:<port> and asks for the
 * Listener named exactly "<service>:<port>". For every backend virtual
 * service of the node and each of its HTTP-family ports (gRPC cannot use tcp
 * ones) we emit that listener: an api_listener holding an
 * HttpConnectionManager (router filter last) whose RDS route configuration
 * rds_proxyless_<service>_<port> has one virtual host (domains
 * "<service>:<port>" and "<service>") with the service's App Mesh routes,
 * route timeouts as max_stream_duration, and clusters a gRPC client accepts
 * (EDS or LOGICAL_DNS, see service_discovery.h). Only the node's own
 * backends are reachable.
 */
#ifndef TRELLIS_COMPILER_LISTENER_PROXYLESS_H
#define TRELLIS_COMPILER_LISTENER_PROXYLESS_H

#include "compile_context.h"
#include "egress_plan.h"

void proxyless_compile(compile_ctx *c, const egress_plan *plan);

#endif
