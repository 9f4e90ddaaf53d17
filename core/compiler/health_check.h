/*
 * Active health checks. A virtual node listener's healthCheck is run by every
 * client: it becomes health_checks[0] of each client's egress cluster for
 * that node and port (research TS-HC-01, dump D2), not of the node's own
 * local cluster.
 *   timeoutMillis -> timeout; intervalMillis -> interval;
 *   healthyThreshold / unhealthyThreshold -> healthy_threshold / unhealthy_threshold;
 *   protocol http  -> http_health_check {host: "<discovery name>:<port>", path};
 *   protocol http2 -> the same with codec_client_type HTTP2;
 *   protocol grpc  -> grpc_health_check {} (gRPC Health Checking Protocol);
 *   protocol tcp   -> tcp_health_check {} (connect only);
 *   port           -> health_check_config.port_value of every endpoint (v3 has
 *                     no cluster-wide alt_port; see endpoints.h).
 */
#ifndef TRELLIS_COMPILER_HEALTH_CHECK_H
#define TRELLIS_COMPILER_HEALTH_CHECK_H

#include <jansson.h>
#include <stdint.h>

#include "compile_context.h"

/* Cluster.health_checks for a listener's healthCheck, or NULL when it has
 * none (or one without the required members). `host` is the target's
 * discovery name (DNS hostname, or service.namespace for Cloud Map). */
json_t *health_checks_build(compile_ctx *c, const json_t *health_check, const char *host,
                            uint32_t listener_port);

/* The port health checks probe when it differs from the traffic port, else 0. */
uint32_t health_check_port(const json_t *health_check, uint32_t listener_port);

#endif
