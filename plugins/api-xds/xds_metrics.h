/*
 * api.xds's Prometheus series (exported by api.admin at /metrics).
 *
 *   trellis_xds_connections                       gauge: open HTTP/2 connections
 *   trellis_xds_connected_proxies                 gauge: ADS streams with a known identity
 *   trellis_xds_refused_total{reason}             connections and streams turned away
 *   trellis_xds_pushes_total{type}                responses sent
 *   trellis_xds_retained_pushes_total{type}       of which kept resources a sidecar's listeners
 *                                                 or routes may still use (make before break)
 *   trellis_xds_acks_total{type}                  responses accepted by the proxy
 *   trellis_xds_nacks_total{type}                 responses rejected by the proxy
 *   trellis_xds_stale_requests_total              requests answering an outdated nonce (ignored)
 *   trellis_xds_push_latency_seconds              from the catalog change (snapshot changed_ns)
 *                                                 to the proxy's ACK of the response carrying it
 *   trellis_xds_bytes_sent_total                  bytes written to sockets
 *   trellis_xds_encode_errors_total               resources the encoder refused (not sent)
 */
#ifndef TRELLIS_XDS_METRICS_H
#define TRELLIS_XDS_METRICS_H

#include <trellis/plugin.h>

typedef enum xds_refusal {
    XDS_REFUSED_CONNECTION_LIMIT = 0,  /* max_connections reached */
    XDS_REFUSED_FD_LIMIT,              /* out of file descriptors */
    XDS_REFUSED_IDENTITY_QUOTA,        /* max_connections_per_identity (gRPC 8) */
    XDS_REFUSED_UNKNOWN_NODE,          /* no such mesh / node / gateway (gRPC 3) */
    XDS_REFUSED_INVALID_NODE,          /* malformed node.id (gRPC 3) */
    XDS_REFUSED_UNAVAILABLE,           /* the catalog is not loaded yet (gRPC 14) */
    XDS_REFUSED_BAD_REQUEST,           /* undecodable or oversized request, bad headers */
    XDS_REFUSAL_COUNT
} xds_refusal;

typedef struct xds_metrics {
    trellis_metric *connections;
    trellis_metric *proxies;
    trellis_metric *refused[XDS_REFUSAL_COUNT];
    trellis_metric *pushes[TRELLIS_XDS_TYPE_COUNT];
    trellis_metric *retained_pushes[TRELLIS_XDS_TYPE_COUNT];
    trellis_metric *acks[TRELLIS_XDS_TYPE_COUNT];
    trellis_metric *nacks[TRELLIS_XDS_TYPE_COUNT];
    trellis_metric *stale_requests;
    trellis_metric *push_latency;
    trellis_metric *bytes_sent;
    trellis_metric *encode_errors;
} xds_metrics;

void xds_metrics_init(xds_metrics *m, const trellis_host *host, trellis_host_ctx *ctx);

#endif
