/*
 * api.xds — the Envoy xDS management server: gRPC ADS (state of the world
 * and delta) over HTTP/2 cleartext, serving the snapshots the core compiles
 * for each proxy identity to Envoy sidecars and proxyless gRPC clients.
 * See README.md for the protocol decisions, the configuration and the
 * sync-status view (GET /debug/proxies on api.admin).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/frontend.h>
#include <trellis/plugin.h>

#include "sync_status.h"
#include "xds_server.h"

typedef struct xds_plugin {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    xds_server *server;
} xds_plugin;

static const trellis_config_field xds_schema[] = {
    {"listen", TRELLIS_CONFIG_ADDRESS, 0, "\"127.0.0.1:15010\"", 0, 0, NULL,
     "address to serve gRPC ADS on (HTTP/2 cleartext); loopback unless you mean otherwise"},
    {"max_connections", TRELLIS_CONFIG_INTEGER, 0, "10000", 1, 1000000, NULL,
     "concurrent connections; the open-file limit is raised to fit, more are accepted and closed"},
    {"max_connections_per_identity", TRELLIS_CONFIG_INTEGER, 0, "50", 1, 1000000, NULL,
     "ADS streams per virtual node or gateway (App Mesh's Envoy quota); more end with gRPC status 8"},
    {"max_streams_per_connection", TRELLIS_CONFIG_INTEGER, 0, "16", 1, 1000, NULL,
     "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS"},
    {"max_request_bytes", TRELLIS_CONFIG_INTEGER, 0, "4194304", 1024, 268435456, NULL,
     "largest DiscoveryRequest accepted; larger ones end the stream with gRPC status 8"},
    {"max_response_bytes", TRELLIS_CONFIG_INTEGER, 0, "67108864", 65536, 1073741824, NULL,
     "largest encoded resource or response; a type that does not fit is not sent (and reported)"},
    {"keepalive_interval_ms", TRELLIS_CONFIG_INTEGER, 0, "30000", 1000, 3600000, NULL,
     "a PING is sent after this long without hearing from the peer"},
    {"keepalive_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "20000", 1000, 600000, NULL,
     "the connection closes when a PING or a blocked write gets no progress for this long"},
    {"handshake_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "10000", 100, 600000, NULL,
     "time for a new connection to send its first request"},
    {"idle_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "300000", 1000, 86400000, NULL,
     "a connection without streams for this long is closed (GOAWAY)"},
    {"cache_mb", TRELLIS_CONFIG_INTEGER, 0, "256", 1, 65536, NULL,
     "memory for encoded resources and shared responses (half each)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static void read_config(const trellis_host *h, const trellis_config *c, xds_config *cfg)
{
    cfg->listen = h->config_get0_string(c, "listen");
    cfg->max_connections = (size_t)h->config_get_int(c, "max_connections");
    cfg->max_connections_per_identity = (size_t)h->config_get_int(c, "max_connections_per_identity");
    cfg->max_streams_per_connection = (size_t)h->config_get_int(c, "max_streams_per_connection");
    cfg->max_request_bytes = (size_t)h->config_get_int(c, "max_request_bytes");
    cfg->max_response_bytes = (size_t)h->config_get_int(c, "max_response_bytes");
    cfg->keepalive_interval_ms = (uint64_t)h->config_get_int(c, "keepalive_interval_ms");
    cfg->keepalive_timeout_ms = (uint64_t)h->config_get_int(c, "keepalive_timeout_ms");
    cfg->handshake_timeout_ms = (uint64_t)h->config_get_int(c, "handshake_timeout_ms");
    cfg->idle_timeout_ms = (uint64_t)h->config_get_int(c, "idle_timeout_ms");
    cfg->cache_bytes = (size_t)h->config_get_int(c, "cache_mb") << 20;
}

static trellis_status xds_check_config(const trellis_host *host, const trellis_config *config,
                                       trellis_error *err)
{
    /* The xDS services arrived in ABI 1.2; a newer host has them too. */
    size_t needed = offsetof(trellis_host, xds_snapshot_unref) + sizeof(host->xds_snapshot_unref);
    if (host->abi_minor < 2 || host->size < needed) {
        host->error_set(err, NULL, "api.xds needs a host with xDS snapshots (plugin ABI 1.2)");
        return TRELLIS_ERR_UNSUPPORTED;
    }
    xds_config cfg;
    read_config(host, config, &cfg);
    if (cfg.max_connections_per_identity > cfg.max_connections) {
        host->error_set(err, "max_connections_per_identity",
                        "is %zu, more than max_connections (%zu)", cfg.max_connections_per_identity,
                        cfg.max_connections);
        return TRELLIS_ERR_INVALID;
    }
    if (cfg.keepalive_timeout_ms >= cfg.idle_timeout_ms) {
        host->error_set(err, "keepalive_timeout_ms", "must be shorter than idle_timeout_ms");
        return TRELLIS_ERR_INVALID;
    }
    return TRELLIS_OK;
}

static trellis_status xds_create(const trellis_host *host, trellis_host_ctx *ctx,
                                 const trellis_config *config, void **instance_out,
                                 trellis_error *err)
{
    trellis_status st = xds_check_config(host, config, err);
    if (st != TRELLIS_OK)
        return st;
    xds_plugin *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    x->host = host;
    x->ctx = ctx;
    xds_config cfg;
    read_config(host, config, &cfg);
    x->server = xds_server_new(host, ctx, &cfg, err);
    if (x->server == NULL) {
        free(x);
        return TRELLIS_ERR_NOMEM;
    }
    *instance_out = x;
    return TRELLIS_OK;
}

static trellis_status xds_start(void *instance, trellis_error *err)
{
    xds_plugin *x = instance;
    trellis_status st = xds_server_start(x->server, err);
    if (st != TRELLIS_OK)
        return st;
    st = x->host->debug_register(x->ctx, "proxies", xds_sync_status, x->server);
    if (st != TRELLIS_OK) {
        x->host->error_set(err, NULL, "cannot register the \"proxies\" debug view");
        return st;
    }
    return TRELLIS_OK;
}

static void on_drained(void *arg)
{
    xds_plugin *x = arg;
    x->host->stopped(x->ctx);
}

static trellis_status xds_stop(void *instance)
{
    xds_plugin *x = instance;
    return xds_server_drain(x->server, on_drained, x) ? TRELLIS_OK : TRELLIS_AGAIN;
}

static void xds_destroy(void *instance)
{
    xds_plugin *x = instance;
    xds_server_free(x->server);
    free(x);
}

static const trellis_frontend_ops xds_ops = TRELLIS_FRONTEND_OPS_INIT;

static const trellis_plugin_descriptor xds_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER,
    .name = "api.xds",
    .version = TRELLIS_PLUGIN_VERSION,
    .summary = "Envoy xDS management server: gRPC ADS (SotW and delta) over HTTP/2",
    .kind = TRELLIS_KIND_FRONTEND,
    .ops = &xds_ops,
    .config_schema = xds_schema,
    .check_config = xds_check_config,
    .create = xds_create,
    .start = xds_start,
    .stop = xds_stop,
    .destroy = xds_destroy,
};

TRELLIS_PLUGIN_ENTRY(xds_descriptor)
