/*
 * Route retry policies: an App Mesh retryPolicy becomes an Envoy RetryPolicy,
 * and routes without one get App Mesh's default policy (when the compile
 * options ask for it). Event mapping (App Mesh API reference, HttpRetryPolicy):
 *   server-error     -> 5xx               (500..511)
 *   gateway-error    -> gateway-error     (502, 503, 504)
 *   client-error     -> retriable-4xx     (409)
 *   stream-error     -> refused-stream    (REFUSED_STREAM resets)
 *   connection-error -> connect-failure   (tcpRetryEvents)
 *   gRPC events      -> the Envoy names, which are the same (cancelled,
 *                       deadline-exceeded, internal, resource-exhausted, unavailable)
 */
#ifndef TRELLIS_COMPILER_RETRY_POLICY_H
#define TRELLIS_COMPILER_RETRY_POLICY_H

#include <jansson.h>
#include <stdbool.h>

#include "compile_context.h"

/* The Envoy retry policy of a route: the route's own policy, else App Mesh's
 * default when c->src->options.default_retry_policy, else NULL. A policy
 * whose retries cannot happen (no mapped event; for proxyless clients also
 * maxRetries 0, which gRPC rejects) yields NULL: the user asked for a
 * policy, so the default does not apply. */
json_t *retry_policy_for_route(compile_ctx *c, const json_t *retry_policy, bool proxyless);

/* App Mesh's default policy (DEF-05..10): 2 retries on connect-failure,
 * refused-stream, reset, HTTP 503 and gRPC UNAVAILABLE; NULL when the option
 * is off. Also what routes to virtual-node providers get. */
json_t *retry_policy_default(compile_ctx *c);

#endif
