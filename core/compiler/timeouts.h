/*
 * App Mesh durations ({"value": n, "unit": "s"|"ms"}) and the request / idle
 * timeouts of listeners and routes, with App Mesh's defaults: 15 s per
 * request (http, http2, grpc) and 300 s idle (every protocol); a value of 0
 * disables the timeout (Envoy reads a 0 s route timeout the same way).
 */
#ifndef TRELLIS_COMPILER_TIMEOUTS_H
#define TRELLIS_COMPILER_TIMEOUTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

#define TIMEOUT_DEFAULT_REQUEST_MS 15000
#define TIMEOUT_DEFAULT_IDLE_MS 300000

typedef struct mesh_timeouts {
    int64_t request_ms;         /* perRequest, or the default */
    int64_t idle_ms;            /* idle, or the default */
} mesh_timeouts;

/* A Duration in milliseconds; false when absent or without a value. A
 * missing unit reads as seconds. Capped where Envoy converts to int64
 * nanoseconds (about 292 years). */
bool duration_ms(const json_t *duration, int64_t *millis);

/* Timeouts of a route's "timeout" object or of a listener's timeout for its
 * protocol (listeners[].timeout.<protocol>), defaults filled in. */
mesh_timeouts timeouts_of(const json_t *timeout);
const json_t *listener_timeout(const json_t *listener, mesh_protocol protocol);

#endif
