/*
 * The egress side of a virtual node sidecar: listener lds_egress_0.0.0.0_15001
 * (always emitted) with listener filters original_dst and tls_inspector, and
 * filter chains matching the destination port (and, like App Mesh's, the
 * prefix range 0.0.0.0/0; plus ::/0 when bound dual-stack):
 *   - one per backend port (egress_plan.h): HTTP family -> HCM with stat
 *     prefix "egress" and RDS rds_egress_<protocol>_<port>; tcp -> tcp_proxy
 *     (stat prefix "egress") to the targets of the service's first route;
 *   - port 443 with SNI *.amazonaws.com -> tcp_proxy to cds_egress_<mesh>_amazonaws
 *     (always: AWS services stay reachable under DROP_ALL);
 *   - egressFilter ALLOW_ALL: port 443 without SNI (unless a backend uses 443)
 *     and a catch-all chain -> tcp_proxy to cds_egress_<mesh>_mesh-allow-all,
 *     and every egress route configuration gets a last virtual host (domains
 *     "*") routing unknown hosts there too (research NAME-12, DNS-02).
 */
#ifndef TRELLIS_COMPILER_LISTENER_EGRESS_H
#define TRELLIS_COMPILER_LISTENER_EGRESS_H

#include "compile_context.h"
#include "egress_plan.h"

void egress_compile(compile_ctx *c, const egress_plan *plan);

/* Whether the mesh lets traffic out to unknown destinations (ALLOW_ALL). */
bool egress_allow_all(const compile_ctx *c);

#endif
