/*
 * A small HTTP/1.1 client for plugins, built only on the host services of
 * trellis/plugin.h: fd watches and timers on the loop thread, the offload
 * pool for name resolution (getaddrinfo blocks). One origin per client
 * (http:// or https://host[:port]), a bounded pool of keep-alive
 * connections, a bounded queue of waiting requests, TLS with OpenSSL
 * (certificate and host name verified), bounded response heads and bodies,
 * Content-Length, chunked and until-close bodies, and a deadline for
 * connecting and one for each request.
 *
 * A request that fails on a reused keep-alive connection before any byte of
 * the answer arrived (the server closed it meanwhile) is retried once on a
 * fresh connection when the caller marked it idempotent.
 *
 * Threading: loop thread only. Callbacks run on the loop thread, never
 * inside http_client_send().
 */
#ifndef TRELLIS_PLUGIN_HTTP_CLIENT_H
#define TRELLIS_PLUGIN_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "http_response_parser.h"

typedef struct http_client http_client;
typedef struct http_client_call http_client_call;

typedef struct http_client_options {
    const char *url;                /* "http://host[:port]" or "https://host[:port]"; IPv6 in [] */
    const char *ca_file;            /* https: PEM CA bundle; NULL: the system trust store */
    size_t max_connections;         /* requests in flight at once (0: 4) */
    size_t max_queue;               /* requests waiting for a connection (0: 1024) */
    size_t max_head_bytes;          /* response status line and headers (0: 16 KiB) */
    size_t max_body_bytes;          /* response body (0: 8 MiB) */
    uint64_t connect_timeout_ms;    /* TCP connect and TLS handshake (0: 5000) */
    uint64_t request_timeout_ms;    /* from the first byte sent to the last received (0: 10000) */
    uint64_t idle_timeout_ms;       /* an unused keep-alive connection closes (0: 30000) */
} http_client_options;

typedef struct http_client_request {
    const char *method;             /* "POST" */
    const char *path;               /* "/" (with the query, if any) */
    const http_response_header *headers; /* extra headers; Host and Content-Length are added */
    size_t header_count;
    const char *body;
    size_t body_len;
    bool idempotent;                /* may be retried on a fresh connection (see above) */
} http_client_request;

/* The answer, borrowed for the callback. */
typedef struct http_client_response {
    int status;
    const http_response_header *headers;
    size_t header_count;
    const char *body;               /* NUL-terminated ("" when empty) */
    size_t body_len;
} http_client_response;

/* Exactly once per request that was not cancelled: `response` for any HTTP
 * answer (any status), else NULL and `error` says what failed (resolve,
 * connect, TLS, timeout, malformed or oversized answer). */
typedef void (*http_client_done_fn)(void *arg, const http_client_response *response,
                                    const char *error);

typedef struct http_client_stats {
    uint64_t requests;              /* sent (retries included) */
    uint64_t bytes_sent;            /* request bytes written (before TLS) */
    uint64_t bytes_received;        /* response bytes read (after TLS) */
    uint64_t connections;           /* opened */
    size_t open_connections;
} http_client_stats;

/* NULL with the reason through host->error_set(err, "endpoint", ...). */
http_client *http_client_new(const trellis_host *host, trellis_host_ctx *ctx,
                             const http_client_options *options, trellis_error *err);
/* Closes everything; callbacks of unfinished requests are not called. Safe
 * from inside a callback. */
void http_client_free(http_client *client);

/* Queues a request. TRELLIS_ERR_LIMIT when the queue is full,
 * TRELLIS_ERR_NOMEM. `call_out` (may be NULL) can cancel it until `done`. */
trellis_status http_client_send(http_client *client, const http_client_request *request,
                                http_client_done_fn done, void *arg, http_client_call **call_out);
/* Abandons a request; its callback is not called. */
void http_client_cancel(http_client_call *call);

/* The Host header value the client sends ("host", "host:port", "[v6]:port"). */
const char *http_client_authority(const http_client *client);
void http_client_get_stats(const http_client *client, http_client_stats *out);

/* Case-insensitive header lookup in a response; NULL if absent. */
const char *http_client_response_header(const http_client_response *response, const char *name);

#endif
