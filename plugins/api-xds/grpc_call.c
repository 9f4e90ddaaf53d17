#include "grpc_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request headers we keep are small; the whole header block is bounded. */
#define MAX_REQUEST_HEADER_BYTES 16384
#define MAX_PATH_BYTES 512

static nghttp2_session *session_of(const grpc_call *call)
{
    return call->conn->session;
}

const trellis_host *grpc_call_host(const grpc_call *call)
{
    return call->conn->server->host;
}

const char *grpc_call_peer(const grpc_call *call)
{
    return call->conn->peer;
}

grpc_call *grpc_call_new(h2_conn *c, int32_t stream_id)
{
    grpc_call *call = calloc(1, sizeof(*call));
    if (call == NULL)
        return NULL;
    call->conn = c;
    call->stream_id = stream_id;
    h2_conn_call_added(c, call);
    return call;
}

static bool header_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* "application/grpc", "application/grpc+proto", "application/grpc;charset=..." */
static bool is_grpc_content_type(const uint8_t *v, size_t len)
{
    static const char base[] = "application/grpc";
    size_t n = sizeof(base) - 1;
    if (len < n || strncasecmp((const char *)v, base, n) != 0)
        return false;
    return len == n || v[n] == '+' || v[n] == ';';
}

int grpc_call_on_header(grpc_call *call, const uint8_t *name, size_t namelen, const uint8_t *value,
                        size_t valuelen)
{
    call->header_bytes += namelen + valuelen + 32;
    if (call->header_bytes > MAX_REQUEST_HEADER_BYTES)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream only */
    if (header_is(name, namelen, ":method")) {
        call->method_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
    } else if (header_is(name, namelen, ":path")) {
        if (valuelen > MAX_PATH_BYTES || call->path != NULL)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        call->path = strndup((const char *)value, valuelen);
        if (call->path == NULL)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    } else if (header_is(name, namelen, "content-type")) {
        call->content_type_seen = true;
        call->content_type_grpc = is_grpc_content_type(value, valuelen);
    } else if (header_is(name, namelen, "grpc-encoding")) {
        call->compressed_encoding = !(valuelen == 8 && memcmp(value, "identity", 8) == 0);
    }
    return 0;
}

/* grpc-message is percent-encoded (gRPC HTTP/2 protocol). */
static void percent_encode(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 4 < size; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '%') {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = '\0';
}

#define NV(n, v)                                                                              \
    {                                                                                         \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE        \
    }

/* A response that is only headers, ending the stream: HTTP-level refusals and
 * trailers-only gRPC statuses. */
static void respond_headers_only(grpc_call *call, const char *http_status, int grpc_status,
                                 const char *message)
{
    char code[16], encoded[1024];
    snprintf(code, sizeof(code), "%d", grpc_status);
    percent_encode(message, encoded, sizeof(encoded));
    nghttp2_nv nva[] = {
        NV(":status", http_status),
        NV("content-type", "application/grpc"),
        NV("grpc-status", code),
        NV("grpc-message", encoded),
        NV("grpc-accept-encoding", "identity"),
    };
    size_t count = sizeof(nva) / sizeof(nva[0]);
    if (nghttp2_submit_response(session_of(call), call->stream_id, nva, count, NULL) == 0) {
        call->response_started = true;
        call->trailers_submitted = true;
    }
    call->finishing = true;
    call->discarding = true;
    xds_server_schedule_flush(call->conn->server, call->conn);
}

void grpc_call_on_headers_done(grpc_call *call)
{
    xds_server *s = call->conn->server;
    const trellis_host *h = s->host;
    call->headers_done = true;
    const char *refusal = NULL;
    if (!call->method_post) {
        respond_headers_only(call, "405", GRPC_UNIMPLEMENTED, "gRPC requires POST");
        refusal = "method";
    } else if (!call->content_type_grpc) {
        respond_headers_only(call, "415", GRPC_INVALID_ARGUMENT,
                             call->content_type_seen ? "content-type must be application/grpc"
                                                     : "content-type is missing (application/grpc)");
        refusal = "content-type";
    } else if (call->compressed_encoding) {
        respond_headers_only(call, "200", GRPC_UNIMPLEMENTED,
                             "message compression is not supported (grpc-encoding: identity)");
        refusal = "grpc-encoding";
    } else if (call->path == NULL || !xds_service_open(s, call, call->path)) {
        char message[MAX_PATH_BYTES + 32];
        snprintf(message, sizeof(message), "unknown method %s", call->path ? call->path : "(none)");
        respond_headers_only(call, "200", GRPC_UNIMPLEMENTED, message);
        refusal = "path";
    }
    if (refusal != NULL) {
        h->metric_add(s->metrics.refused[XDS_REFUSED_BAD_REQUEST], 1);
        if (h->log_enabled(s->ctx, TRELLIS_LOG_DEBUG))
            h->log(s->ctx, TRELLIS_LOG_DEBUG, "grpc_refused", "peer %s stream %d: bad %s (path %s)",
                   call->conn->peer, call->stream_id, refusal, call->path ? call->path : "-");
    }
}

/* Gives a partial message's buffer back to the server-wide budget. */
static void release_message(grpc_call *call)
{
    call->conn->server->request_bytes_buffered -= call->message_cap;
    free(call->message);
    call->message = NULL;
    call->message_cap = 0;
}

static void deliver(grpc_call *call)
{
    uint8_t *message = call->message;
    size_t len = call->message_len;
    call->conn->server->request_bytes_buffered -= call->message_cap;
    call->message = NULL;
    call->message_cap = 0;
    call->prefix_have = 0;
    call->message_have = 0;
    call->message_len = 0;
    if (call->handler && call->handler->on_message)
        call->handler->on_message(call->handler_arg, message ? message : (const uint8_t *)"", len);
    free(message);
}

/*
 * Grows the message buffer to hold `need` bytes, as the data arrives (not on
 * the length a client declares, which costs it nothing). Messages being
 * received share a server-wide budget, so many streams each sending a large
 * message slowly cannot exhaust memory: past it, the stream ends with 8.
 * Allocated per message and freed after it: idle streams hold nothing.
 */
static bool reserve_message(grpc_call *call, size_t need)
{
    if (need <= call->message_cap)
        return true;
    xds_server *s = call->conn->server;
    size_t cap = call->message_cap ? call->message_cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > call->message_len)
        cap = call->message_len;
    size_t growth = cap - call->message_cap;
    if (s->request_bytes_buffered + growth > s->request_bytes_budget) {
        grpc_call_host(call)->metric_add(s->metrics.refused[XDS_REFUSED_BAD_REQUEST], 1);
        release_message(call);
        grpc_call_finish(call, GRPC_RESOURCE_EXHAUSTED,
                         "the server is receiving too many large requests at once; retry");
        return false;
    }
    uint8_t *grown = realloc(call->message, cap);
    if (grown == NULL) {
        release_message(call);
        grpc_call_finish(call, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return false;
    }
    call->message = grown;
    call->message_cap = cap;
    s->request_bytes_buffered += growth;
    return true;
}

void grpc_call_on_data(grpc_call *call, const uint8_t *data, size_t len)
{
    size_t limit = call->conn->server->cfg.max_request_bytes;
    while (len > 0 && !call->discarding) {
        if (call->prefix_have < 5) {
            size_t n = 5 - call->prefix_have;
            if (n > len)
                n = len;
            memcpy(call->prefix + call->prefix_have, data, n);
            call->prefix_have += n;
            data += n;
            len -= n;
            if (call->prefix_have < 5)
                return;
            uint32_t size = (uint32_t)call->prefix[1] << 24 | (uint32_t)call->prefix[2] << 16 |
                            (uint32_t)call->prefix[3] << 8 | call->prefix[4];
            if (call->prefix[0] != 0) {
                grpc_call_finish(call, GRPC_INTERNAL,
                                 call->prefix[0] == 1
                                     ? "compressed message without a negotiated grpc-encoding"
                                     : "invalid gRPC message flags");
                return;
            }
            if (size > limit) {
                char message[160];
                snprintf(message, sizeof(message),
                         "request message of %u bytes exceeds the limit of %zu (max_request_bytes)",
                         size, limit);
                grpc_call_host(call)->metric_add(
                    call->conn->server->metrics.refused[XDS_REFUSED_BAD_REQUEST], 1);
                grpc_call_finish(call, GRPC_RESOURCE_EXHAUSTED, message);
                return;
            }
            call->message_len = size;
            if (size == 0) {
                deliver(call);
                continue;
            }
        }
        size_t n = call->message_len - call->message_have;
        if (n > len)
            n = len;
        if (!reserve_message(call, call->message_have + n))
            return;
        memcpy(call->message + call->message_have, data, n);
        call->message_have += n;
        data += n;
        len -= n;
        if (call->message_have == call->message_len)
            deliver(call);
    }
}

void grpc_call_on_end_stream(grpc_call *call)
{
    if (call->discarding)
        return;
    if (call->prefix_have > 0) {
        grpc_call_finish(call, GRPC_INTERNAL, "the stream ended in the middle of a message");
        return;
    }
    if (call->handler && call->handler->on_half_close)
        call->handler->on_half_close(call->handler_arg);
}

void grpc_call_on_close(grpc_call *call)
{
    h2_conn_call_removed(call->conn, call);
    if (call->handler && call->handler->on_close)
        call->handler->on_close(call->handler_arg);
    free(call->path);
    release_message(call);
    refbuf_unref(call->out_body);
    free(call->out_tail);
    free(call->status_message);
    free(call);
}

void grpc_call_set_handler(grpc_call *call, const grpc_call_handler *handler, void *arg)
{
    call->handler = handler;
    call->handler_arg = arg;
}

bool grpc_call_can_send(const grpc_call *call)
{
    return !call->sending && !call->finishing;
}

static void submit_trailers(grpc_call *call)
{
    char code[16], encoded[1024];
    snprintf(code, sizeof(code), "%d", call->status);
    percent_encode(call->status_message ? call->status_message : "", encoded, sizeof(encoded));
    nghttp2_nv nva[] = {NV("grpc-status", code), NV("grpc-message", encoded)};
    size_t count = encoded[0] ? 2 : 1;
    if (nghttp2_submit_trailer(session_of(call), call->stream_id, nva, count) == 0)
        call->trailers_submitted = true;
}

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)buf;
    (void)user_data;
    grpc_call *call = source->ptr;
    if (call->sending && call->out_scheduled < call->out_total) {
        size_t n = call->out_total - call->out_scheduled;
        if (n > length)
            n = length;
        call->out_scheduled += n;
        /* The bytes are written by grpc_call_send_data, straight from the body. */
        *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
        return (ssize_t)n;
    }
    if (call->finishing && !call->sending && !call->trailers_submitted) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        submit_trailers(call);
        return 0;
    }
    return NGHTTP2_ERR_DEFERRED;
}

/* Queues [from, from + len) of the outbound message: prefix and tail are
 * copied, the body is referenced. */
static bool queue_range(grpc_call *call, out_queue *q, size_t from, size_t len)
{
    size_t body_len = call->out_body ? call->out_body->len : 0;
    while (len > 0) {
        size_t n;
        if (from < 5) {
            n = 5 - from < len ? 5 - from : len;
            if (!oq_copy(q, call->out_prefix + from, n))
                return false;
        } else if (from < 5 + body_len) {
            size_t off = from - 5;
            n = body_len - off < len ? body_len - off : len;
            if (!oq_ref(q, call->out_body, call->out_body->data + off, n))
                return false;
        } else {
            size_t off = from - 5 - body_len;
            n = call->out_tail_len - off < len ? call->out_tail_len - off : len;
            if (!oq_copy(q, call->out_tail + off, n))
                return false;
        }
        from += n;
        len -= n;
    }
    return true;
}

int grpc_call_send_data(grpc_call *call, const uint8_t *framehd, size_t length)
{
    out_queue *q = &call->conn->out;
    if (!oq_copy(q, framehd, 9) || !queue_range(call, q, call->out_sent, length))
        return NGHTTP2_ERR_CALLBACK_FAILURE; /* out of memory: the connection closes */
    call->out_sent += length;
    if (call->out_sent == call->out_total) {
        refbuf_unref(call->out_body);
        call->out_body = NULL;
        free(call->out_tail);
        call->out_tail = NULL;
        call->sending = false;
        call->send_done_pending = true;
    }
    return 0;
}

void grpc_call_after_send(grpc_call *call)
{
    if (!call->send_done_pending)
        return;
    call->send_done_pending = false;
    if (call->finishing) {
        /* The trailers follow the last message. */
        nghttp2_session_resume_data(session_of(call), call->stream_id);
        return;
    }
    if (call->handler && call->handler->on_send_done)
        call->handler->on_send_done(call->handler_arg);
}

void grpc_call_on_trailers_sent(grpc_call *call)
{
    /* The response is complete; a client still sending gets RST_STREAM
     * NO_ERROR (RFC 9113 8.1) so the stream does not linger. */
    if (!nghttp2_session_get_stream_remote_close(session_of(call), call->stream_id))
        nghttp2_submit_rst_stream(session_of(call), NGHTTP2_FLAG_NONE, call->stream_id,
                                  NGHTTP2_NO_ERROR);
}

trellis_status grpc_call_send(grpc_call *call, refbuf *body, const uint8_t *tail, size_t tail_len)
{
    if (!grpc_call_can_send(call))
        return TRELLIS_ERR_LIMIT;
    size_t body_len = body ? body->len : 0;
    size_t payload = body_len + tail_len;
    if (payload > UINT32_MAX)
        return TRELLIS_ERR_LIMIT;
    uint8_t *tail_copy = NULL;
    if (tail_len > 0) {
        tail_copy = malloc(tail_len);
        if (tail_copy == NULL)
            return TRELLIS_ERR_NOMEM;
        memcpy(tail_copy, tail, tail_len);
    }
    call->out_prefix[0] = 0;
    call->out_prefix[1] = (uint8_t)(payload >> 24);
    call->out_prefix[2] = (uint8_t)(payload >> 16);
    call->out_prefix[3] = (uint8_t)(payload >> 8);
    call->out_prefix[4] = (uint8_t)payload;
    call->out_body = body ? refbuf_ref(body) : NULL;
    call->out_tail = tail_copy;
    call->out_tail_len = tail_len;
    call->out_total = 5 + payload;
    call->out_scheduled = 0;
    call->out_sent = 0;
    call->sending = true;
    nghttp2_session *session = session_of(call);
    if (!call->response_started) {
        nghttp2_nv nva[] = {
            NV(":status", "200"),
            NV("content-type", "application/grpc"),
            NV("grpc-accept-encoding", "identity"),
        };
        nghttp2_data_provider provider = {.source.ptr = call, .read_callback = read_body};
        if (nghttp2_submit_response(session, call->stream_id, nva, sizeof(nva) / sizeof(nva[0]),
                                    &provider) != 0) {
            refbuf_unref(call->out_body);
            call->out_body = NULL;
            free(call->out_tail);
            call->out_tail = NULL;
            call->sending = false;
            return TRELLIS_ERR_NOMEM;
        }
        call->response_started = true;
    } else {
        nghttp2_session_resume_data(session, call->stream_id);
    }
    xds_server_schedule_flush(call->conn->server, call->conn);
    return TRELLIS_OK;
}

void grpc_call_finish(grpc_call *call, int code, const char *message)
{
    if (call->finishing)
        return;
    call->discarding = true;
    if (call->message != NULL && call->message_have < call->message_len)
        release_message(call); /* a partial request will not be completed */
    if (!call->response_started) {
        respond_headers_only(call, "200", code, message ? message : "");
        call->status = code;
        return;
    }
    call->finishing = true;
    call->status = code;
    call->status_message = message && *message ? strdup(message) : NULL;
    /* The data provider emits the trailers once the message in flight is out. */
    nghttp2_session_resume_data(session_of(call), call->stream_id);
    xds_server_schedule_flush(call->conn->server, call->conn);
}
