/*
 * trellis/frontend.h — the frontend kind: protocol front ends (REST API, xDS,
 * admin). A frontend serves clients through the host services of
 * trellis/plugin.h (listening sockets, fd watches, timers) and reaches the core
 * through the host; the core calls nothing on a frontend beyond the lifecycle.
 *
 * Ops changelog
 *   1  header only (ABI 1.0).
 */
#ifndef TRELLIS_FRONTEND_H
#define TRELLIS_FRONTEND_H

#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRELLIS_FRONTEND_OPS_VERSION 1u

typedef struct trellis_frontend_ops {
    trellis_ops_header header; /* { sizeof(trellis_frontend_ops), TRELLIS_FRONTEND_OPS_VERSION } */
} trellis_frontend_ops;

#define TRELLIS_FRONTEND_OPS_INIT                                               \
    {                                                                           \
        .header = {sizeof(trellis_frontend_ops), TRELLIS_FRONTEND_OPS_VERSION } \
    }

#if !defined(__cplusplus)
_Static_assert(sizeof(trellis_frontend_ops) == 8, "ABI: trellis_frontend_ops (version 1)");
#endif

#ifdef __cplusplus
}
#endif

#endif /* TRELLIS_FRONTEND_H */
