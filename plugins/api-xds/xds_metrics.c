#include "xds_metrics.h"

#include "xds_types.h"

static const char *const refusal_names[XDS_REFUSAL_COUNT] = {
    [XDS_REFUSED_CONNECTION_LIMIT] = "connection_limit",
    [XDS_REFUSED_FD_LIMIT] = "fd_limit",
    [XDS_REFUSED_IDENTITY_QUOTA] = "identity_quota",
    [XDS_REFUSED_UNKNOWN_NODE] = "unknown_node",
    [XDS_REFUSED_INVALID_NODE] = "invalid_node",
    [XDS_REFUSED_UNAVAILABLE] = "unavailable",
    [XDS_REFUSED_BAD_REQUEST] = "bad_request",
};

void xds_metrics_init(xds_metrics *m, const trellis_host *h, trellis_host_ctx *ctx)
{
    m->connections = h->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_xds_connections",
                                   "Open HTTP/2 connections to the xDS server.", NULL, NULL, 0);
    m->proxies = h->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_xds_connected_proxies",
                               "ADS streams whose proxy identity was accepted.", NULL, NULL, 0);
    for (int i = 0; i < XDS_REFUSAL_COUNT; i++) {
        const char *labels[] = {"reason", refusal_names[i], NULL};
        m->refused[i] = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_xds_refused_total",
                                      "Connections and streams the xDS server turned away.", labels,
                                      NULL, 0);
    }
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        const char *labels[] = {"type", xds_type_info_of((trellis_xds_type)t)->short_name, NULL};
        m->pushes[t] = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_xds_pushes_total",
                                     "Discovery responses sent.", labels, NULL, 0);
        m->retained_pushes[t] = h->metric_new(
            ctx, TRELLIS_METRIC_COUNTER, "trellis_xds_retained_pushes_total",
            "Discovery responses that kept resources a sidecar's listeners or routes may still "
            "use (make before break).",
            labels, NULL, 0);
        m->acks[t] = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_xds_acks_total",
                                   "Discovery responses the proxy accepted.", labels, NULL, 0);
        m->nacks[t] = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_xds_nacks_total",
                                    "Discovery responses the proxy rejected.", labels, NULL, 0);
    }
    m->stale_requests = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_xds_stale_requests_total",
                                      "Requests answering an outdated nonce, ignored.", NULL, NULL, 0);
    static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    m->push_latency = h->metric_new(ctx, TRELLIS_METRIC_HISTOGRAM, "trellis_xds_push_latency_seconds",
                                    "From a catalog change to the proxy's ACK of the response "
                                    "carrying it.",
                                    NULL, latency_buckets,
                                    sizeof(latency_buckets) / sizeof(latency_buckets[0]));
    m->bytes_sent = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_xds_bytes_sent_total",
                                  "Bytes written to xDS connections.", NULL, NULL, 0);
    m->encode_errors = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_xds_encode_errors_total",
                                     "Resources the encoder refused; their type was not sent.",
                                     NULL, NULL, 0);
}
