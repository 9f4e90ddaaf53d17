/*
 * Circuit breakers. App Mesh sets the default-priority thresholds of every
 * cluster to 2147483647 (max_connections, max_pending_requests, max_requests,
 * max_retries: "effectively disables circuit breakers", DEF-20..25) when the
 * compile options ask for App Mesh's defaults. A virtual node listener's
 * connectionPool caps its local app cluster (destination side):
 *   tcp.maxConnections        -> max_connections
 *   http.maxConnections       -> max_connections
 *   http.maxPendingRequests   -> max_pending_requests (default 2147483647)
 *   http2/grpc.maxRequests    -> max_requests
 */
#ifndef TRELLIS_COMPILER_CIRCUIT_BREAKERS_H
#define TRELLIS_COMPILER_CIRCUIT_BREAKERS_H

#include <jansson.h>

#include "compile_context.h"

#define BREAKER_UNLIMITED 2147483647

/* Cluster.circuit_breakers for a cluster without a pool: App Mesh's defaults
 * (shared), or NULL when the option is off. */
json_t *breakers_default(compile_ctx *c);
/* Cluster.circuit_breakers for a listener's connectionPool (NULL pool: same
 * as breakers_default). */
json_t *breakers_for_pool(compile_ctx *c, const json_t *pool);

#endif
