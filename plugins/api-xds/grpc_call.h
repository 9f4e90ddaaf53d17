/*
 * gRPC over one HTTP/2 stream (the gRPC HTTP/2 protocol): request header
 * checks (POST, content-type application/grpc, no compression), the
 * length-prefixed message framing with a size bound, one outbound message at
 * a time sent without copying its shared body, and the status in trailers
 * (or a trailers-only response when nothing was sent yet).
 *
 *   refusals before a handler exists:
 *     not POST                     HTTP 405
 *     content-type not gRPC        HTTP 415 with grpc-status 3
 *     unknown path                 grpc-status 12 UNIMPLEMENTED
 *     grpc-encoding not identity   grpc-status 12 UNIMPLEMENTED
 *   while running:
 *     message above the limit      grpc-status 8 RESOURCE_EXHAUSTED
 *     server-wide receive budget   grpc-status 8 RESOURCE_EXHAUSTED
 *     compressed-flag set          grpc-status 13 INTERNAL (no encoding was negotiated)
 *     stream ends mid-message      grpc-status 13 INTERNAL
 * Each only affects its own stream.
 */
#ifndef TRELLIS_XDS_GRPC_CALL_H
#define TRELLIS_XDS_GRPC_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "h2_conn.h"
#include "refbuf.h"

enum grpc_status_code {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_NOT_FOUND = 5,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
    GRPC_UNAUTHENTICATED = 16
};

typedef struct grpc_call_handler {
    /* A complete request message (borrowed for the call). */
    void (*on_message)(void *arg, const uint8_t *data, size_t len);
    /* The client half-closed its side. */
    void (*on_half_close)(void *arg);
    /* The outbound message was handed to the connection: another may be sent. */
    void (*on_send_done)(void *arg);
    /* The stream is gone; the handler must not use the call afterwards. */
    void (*on_close)(void *arg);
} grpc_call_handler;

struct grpc_call {
    h2_conn *conn;
    int32_t stream_id;
    grpc_call *conn_next, *conn_prev;

    /* request headers */
    char *path;
    bool method_post;
    bool content_type_grpc;
    bool content_type_seen;
    bool compressed_encoding;       /* grpc-encoding other than identity */
    size_t header_bytes;
    bool headers_done;

    /* inbound message framing */
    uint8_t prefix[5];
    size_t prefix_have;
    uint8_t *message;               /* being assembled; freed after delivery */
    size_t message_cap;             /* bytes allocated (counted in the server's budget) */
    size_t message_len;
    size_t message_have;
    bool discarding;                /* refused or finished: inbound data is dropped */

    /* outbound */
    bool response_started;          /* response HEADERS submitted */
    bool sending;                   /* a message is being handed to nghttp2 */
    uint8_t out_prefix[5];
    refbuf *out_body;
    uint8_t *out_tail;
    size_t out_tail_len;
    size_t out_total;
    size_t out_scheduled;           /* bytes nghttp2 took for DATA frames */
    size_t out_sent;                /* bytes queued to the connection */
    bool send_done_pending;         /* on_send_done to run after the send loop */

    /* status */
    bool finishing;
    bool trailers_submitted;
    int status;
    char *status_message;

    const grpc_call_handler *handler;
    void *handler_arg;
};

/* Called by h2_conn from nghttp2 callbacks. */
grpc_call *grpc_call_new(h2_conn *c, int32_t stream_id);
int grpc_call_on_header(grpc_call *call, const uint8_t *name, size_t namelen, const uint8_t *value,
                        size_t valuelen);
void grpc_call_on_headers_done(grpc_call *call);
void grpc_call_on_data(grpc_call *call, const uint8_t *data, size_t len);
void grpc_call_on_end_stream(grpc_call *call);
/* The stream closed (or the connection is going away): frees the call. */
void grpc_call_on_close(grpc_call *call);
/* nghttp2's send_data_callback for this call's DATA frame. */
int grpc_call_send_data(grpc_call *call, const uint8_t *framehd, size_t length);
/* After the send loop: runs on_send_done if the last message completed. */
void grpc_call_after_send(grpc_call *call);
/* Our trailers went out: ask the client to stop sending (RST_STREAM NO_ERROR). */
void grpc_call_on_trailers_sent(grpc_call *call);

/* For services. */
void grpc_call_set_handler(grpc_call *call, const grpc_call_handler *handler, void *arg);
bool grpc_call_can_send(const grpc_call *call);
/* Sends one message: the 5-byte prefix, `body` by reference, then a copy of
 * `tail` (a stream's own fields, e.g. the nonce). TRELLIS_ERR_LIMIT if a
 * message is in flight, TRELLIS_ERR_NOMEM on allocation failure. */
trellis_status grpc_call_send(grpc_call *call, refbuf *body, const uint8_t *tail, size_t tail_len);
/* Ends the call with `code` and `message` after the message in flight. */
void grpc_call_finish(grpc_call *call, int code, const char *message);
const char *grpc_call_peer(const grpc_call *call);
const trellis_host *grpc_call_host(const grpc_call *call);

/* The service behind the server: accepts a call for `path` by setting its
 * handler, or returns false (the call is answered UNIMPLEMENTED). */
bool xds_service_open(xds_server *s, grpc_call *call, const char *path);

#endif
