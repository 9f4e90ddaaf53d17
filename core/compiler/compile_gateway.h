/*
 * Virtual gateways (sidecar flavor), the way App Mesh's gateway dump shows
 * them (research §2, dump D1):
 *  - per gateway listener P: listener lds_ingress_0.0.0.0_<P> bound on P
 *    itself (no iptables redirect), tls_inspector, one chain with an HCM
 *    (stat prefix "ingress", or "ingress.<protocol>.<P>" with several
 *    listeners) and RDS rds_ingress_<protocol>_<P>: one virtual host
 *    "self_redirect" (domains "*") holding the gateway routes of that
 *    listener in priority order, all sent to the loopback cluster
 *    cds_ingress_<mesh>_<gateway>_self_redirect[_<P>]_<protocol>_15001
 *    (127.0.0.1:15001, the listener's connectionPool as circuit breakers);
 *  - listener lds_egress_0.0.0.0_15001 with RDS rds_egress_<protocol>_15001:
 *    one virtual host per target virtual service (domains "<service>",
 *    "<service>:15001") with the service's own routes and clusters, as a
 *    virtual node's egress would have them.
 * Gateway routes:
 *   match prefix / path.exact / path.regex / headers / queryParameters /
 *   method -> as for routes (route_match.h); hostname.exact / .suffix ->
 *   a ":authority" header matcher (keeps priority order across routes with
 *   and without hostnames); grpc serviceName -> prefix "/<service>/".
 *   rewrite: prefix matches rewrite the matched prefix to "/" unless
 *   prefix.defaultPrefix is DISABLED or prefix.value gives another; path
 *   matches are rewritten only by path.exact (the whole path); the Host
 *   becomes the target service's name (host_rewrite_literal) unless
 *   hostname.defaultTargetHostname is DISABLED, in which case the route adds
 *   x-app-mesh-virtual-service: <service> and the egress configuration's
 *   virtual host "default_backend" (domains "*") routes on that header.
 *   timeout: the largest request / idle timeout of the target service's
 *   routes, so the gateway never cuts a request its backend route allows.
 *   target.port picks the service's port; without it the lowest HTTP-family
 *   port; the first gateway route naming a service decides its port.
 * A listener's healthCheck has no Envoy effect (nothing in the mesh targets
 * a gateway; load balancers probe the listener port). TLS arrives with the
 * TLS issue.
 */
#ifndef TRELLIS_COMPILER_COMPILE_GATEWAY_H
#define TRELLIS_COMPILER_COMPILE_GATEWAY_H

#include "compile_context.h"

void gateway_compile(compile_ctx *c);

#endif
