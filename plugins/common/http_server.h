/*
 * A small HTTP/1.1 server for frontend plugins, built only on the host
 * services of trellis/plugin.h (listening socket, fd watches, timers). It
 * parses requests with bounded header and body sizes, supports keep-alive,
 * Content-Length and chunked bodies, Expect: 100-continue, and per-connection
 * timeouts. Responses may be sent later (asynchronously) through the exchange.
 *
 * Threading: everything runs on the host loop thread.
 */
#ifndef TRELLIS_PLUGIN_HTTP_SERVER_H
#define TRELLIS_PLUGIN_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#define HTTP_MAX_HEADERS 64

typedef struct http_server http_server;
typedef struct http_exchange http_exchange;

typedef struct http_header {
    const char *name;
    const char *value;
} http_header;

/* A parsed request. Strings are NUL-terminated and borrowed: valid until the
 * exchange is answered. Header names keep the client's case. */
typedef struct http_request {
    const char *method;
    const char *path;       /* raw (still percent-encoded) path, without the query */
    const char *query;      /* raw query string after '?', or "" */
    http_header headers[HTTP_MAX_HEADERS];
    size_t header_count;
    const char *body;       /* NUL-terminated for convenience; may contain NULs */
    size_t body_len;
    const char *peer;       /* "ip:port" of the client */
} http_request;

/* Called once per request. Answer it (now or later) with http_respond(). */
typedef void (*http_handler_fn)(void *arg, http_exchange *exchange, const http_request *request);

/*
 * Called when the server refuses a request before the handler sees it:
 * `status` is what the server would answer (400 malformed request or chunked
 * body, 413 body too large, 417 unsupported Expect, 431 headers too large,
 * 505 HTTP version), `reason` a short phrase ("request body too large") and
 * `peer` the client's "ip:port".
 * The hook answers through http_respond(exchange, ...) with any status,
 * headers and body (an API can keep its own error format this way); it
 * should answer at once. The connection closes after the answer, after
 * reading and discarding what the client still sends for a bounded time, so
 * the client reads the answer instead of a connection reset.
 */
typedef void (*http_refusal_fn)(void *arg, http_exchange *exchange, int status,
                                const char *reason, const char *peer);

typedef struct http_server_options {
    const char *listen;             /* "127.0.0.1:7081" */
    size_t max_header_bytes;        /* request line + headers */
    size_t max_body_bytes;
    size_t max_connections;
    uint64_t request_timeout_ms;    /* to receive a whole request once it began */
    uint64_t idle_timeout_ms;       /* keep-alive idle time between requests */
    uint64_t write_timeout_ms;      /* to send a response to a slow reader */
    const char *server_name;        /* "Server:" header value */
    /* Optional: answers refusals instead of the default {"message": reason}
     * JSON body with the server's status. NULL keeps the default. */
    http_refusal_fn on_refusal;
    void *on_refusal_arg;
} http_server_options;

/* Creates the server and starts listening. On failure returns NULL with the
 * reason set through host->error_set(err, "listen", ...). */
http_server *http_server_start(const trellis_host *host, trellis_host_ctx *ctx,
                               const http_server_options *options, http_handler_fn handler,
                               void *handler_arg, trellis_error *err);

/* Stops accepting; open connections finish their current exchange and close.
 * Returns true when no connection is left (always for a NULL server: one
 * that never started); otherwise `on_drained(arg)` runs once the last one
 * closes. */
bool http_server_drain(http_server *server, void (*on_drained)(void *arg), void *arg);

/* Closes everything and frees the server. Unanswered exchanges stay valid
 * until answered (their answer is then discarded). */
void http_server_free(http_server *server);

/* Case-insensitive header lookup; NULL if absent. */
const char *http_request_header(const http_request *request, const char *name);

/*
 * Sends the response and finishes the exchange (which is freed: do not use it
 * afterwards). `headers` may be NULL. Content-Length, Date-free framing and
 * Connection are added by the server. Safe after the client went away.
 */
void http_respond(http_exchange *exchange, int status, const char *content_type,
                  const http_header *headers, size_t header_count, const char *body,
                  size_t body_len);

/* Whether the client is still connected (an answer would be delivered). */
bool http_exchange_alive(const http_exchange *exchange);

/* Number of open connections (for metrics). */
size_t http_server_connection_count(const http_server *server);

/* The reason phrase for a status code ("Not Found"). */
const char *http_status_reason(int status);

/* Percent-decodes `in` (len bytes) into out (size bytes, NUL-terminated).
 * `plus_is_space` for query strings. false on bad escapes, NUL bytes or overflow. */
bool http_url_decode(const char *in, size_t len, char *out, size_t size, bool plus_is_space);

/* Iterates a raw query string: each call yields the next decoded name/value
 * pair. `*cursor` starts at the query. Returns false at the end; sets *bad on
 * an undecodable pair (and stops). */
bool http_query_next(const char **cursor, char *name, size_t name_size, char *value,
                     size_t value_size, bool *bad);

#endif
