/*
 * The xDS server instance: the listening socket and the accept path
 * (connection limit, file-descriptor limit and the spare-descriptor trick),
 * the registry of connections and proxies, the deferred flush of connections
 * that have something to send, the one-second clock that drives keepalives
 * and timeouts, and the caches every stream shares. Loop thread only.
 */
#ifndef TRELLIS_XDS_SERVER_H
#define TRELLIS_XDS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "resource_cache.h"
#include "response_cache.h"
#include "retention.h"
#include "strmap.h"
#include "xds_metrics.h"

typedef struct h2_conn h2_conn;
typedef struct xds_proxy xds_proxy;

typedef struct xds_config {
    const char *listen;
    size_t max_connections;
    size_t max_connections_per_identity;
    size_t max_streams_per_connection;
    size_t max_request_bytes;
    size_t max_response_bytes;
    uint64_t keepalive_interval_ms;
    uint64_t keepalive_timeout_ms;
    uint64_t handshake_timeout_ms;
    uint64_t idle_timeout_ms;
    size_t cache_bytes;
} xds_config;

/* The size of the buffer every connection reads into (one, shared: the loop
 * reads one socket at a time). */
#define XDS_READ_BUFFER_BYTES 65536

typedef struct xds_server {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    xds_config cfg;

    int listen_fd;
    trellis_watch *listen_watch;
    int spare_fd;                   /* closed to accept-and-close when out of descriptors */
    size_t connection_limit;        /* max_connections, lowered to what RLIMIT_NOFILE allows */
    uint64_t last_fd_warning_ns;
    trellis_timer *clock;
    trellis_timer *flush_timer;     /* zero-delay: flushes the dirty connections */
    trellis_timer *drained_timer;   /* zero-delay: reports the end of a drain */

    h2_conn *conns;                 /* every open connection (h2_conn.all_*) */
    size_t conn_count;
    h2_conn *dirty;                 /* connections waiting for a flush (h2_conn.dirty_next) */
    bool flush_scheduled;

    xds_proxy *proxies;             /* every ADS stream (xds_proxy.all_*) */
    size_t proxy_count;
    size_t identified_count;        /* streams whose identity was accepted */
    strmap identity_streams;        /* canonical identity -> (uintptr_t) stream count */

    size_t request_bytes_buffered;  /* partial requests being received, all streams */
    size_t request_bytes_budget;    /* their bound */

    resource_cache *resources;
    response_cache *responses;
    retention_registry retentions;  /* make before break, shared by the streams holding them */
    xds_metrics metrics;
    char control_plane[64];         /* ControlPlane.identifier in every response */

    bool stopping;
    void (*on_drained)(void *arg);  /* set by stop(): called once the last connection closed */
    void *on_drained_arg;

    uint8_t read_buffer[XDS_READ_BUFFER_BYTES];
} xds_server;

/* Creates the instance state (no socket yet). NULL with err set on failure. */
xds_server *xds_server_new(const trellis_host *host, trellis_host_ctx *ctx, const xds_config *cfg,
                           trellis_error *err);
/* Raises RLIMIT_NOFILE, listens, starts the clock. */
trellis_status xds_server_start(xds_server *s, trellis_error *err);
/* Stops accepting, ends every stream with gRPC status 0 (Envoy reconnects
 * elsewhere) and closes connections once flushed. Returns true when nothing
 * is left; otherwise calls on_drained(arg) later. */
bool xds_server_drain(xds_server *s, void (*on_drained)(void *arg), void *arg);
/* Closes everything and frees. */
void xds_server_free(xds_server *s);

/* A connection has frames to send: flush it after the current callback. */
void xds_server_schedule_flush(xds_server *s, h2_conn *c);
/* Bookkeeping for h2_conn. */
void xds_server_conn_closed(xds_server *s, h2_conn *c);

#endif
