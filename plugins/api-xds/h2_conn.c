#include "h2_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc_call.h"

/* Bytes read per socket event before other connections get their turn. */
#define READS_PER_EVENT 4

static void conn_destroy(h2_conn *c);

static const trellis_host *host_of(const h2_conn *c)
{
    return c->server->host;
}

static void enter(h2_conn *c)
{
    c->busy++;
}

/* Leaves a callback on this connection; the last one out frees a dead one. */
static void leave(h2_conn *c)
{
    if (--c->busy == 0 && c->dead)
        conn_destroy(c);
}

void h2_conn_abort(h2_conn *c, const char *reason)
{
    if (!c->dead) {
        c->dead = true;
        c->close_reason = reason;
    }
    if (c->busy == 0)
        conn_destroy(c);
}

/* ------------------------------------------------------------------------ */
/* nghttp2 callbacks                                                         */
/* ------------------------------------------------------------------------ */

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags,
                       void *user_data)
{
    (void)session;
    (void)flags;
    h2_conn *c = user_data;
    if (oq_bytes(&c->out) >= XDS_WRITE_HIGH_WATER)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (!oq_copy(&c->out, data, length))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)length;
}

static int on_send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)frame;
    h2_conn *c = user_data;
    if (oq_bytes(&c->out) >= XDS_WRITE_HIGH_WATER)
        return NGHTTP2_ERR_WOULDBLOCK;
    return grpc_call_send_data(source->ptr, framehd, length);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    h2_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    grpc_call *call = grpc_call_new(c, frame->hd.stream_id);
    if (call == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM for this stream only */
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
    c->had_request = true;
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (call == NULL || call->headers_done)
        return 0; /* trailers from the client carry nothing we use */
    return grpc_call_on_header(call, name, namelen, value, valuelen);
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    h2_conn *c = user_data;
    grpc_call *call = NULL;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        if (call == NULL)
            return 0;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
            grpc_call_on_headers_done(call);
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
            grpc_call_on_end_stream(call);
        break;
    case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
            if (call != NULL)
                grpc_call_on_end_stream(call);
        }
        break;
    case NGHTTP2_PING:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK)
            c->ping_sent_ns = 0;
        break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (call != NULL)
        grpc_call_on_data(call, data, len);
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if (frame->hd.type == NGHTTP2_HEADERS && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        if (call != NULL)
            grpc_call_on_trailers_sent(call);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)error_code;
    (void)user_data;
    grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (call != NULL) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        grpc_call_on_close(call);
    }
    return 0;
}

static int on_error(nghttp2_session *session, int lib_error_code, const char *msg, size_t len,
                    void *user_data)
{
    (void)session;
    h2_conn *c = user_data;
    const trellis_host *h = host_of(c);
    if (h->log_enabled(c->server->ctx, TRELLIS_LOG_DEBUG))
        h->log(c->server->ctx, TRELLIS_LOG_DEBUG, "http2_error", "peer %s: %.*s (%s)", c->peer,
               (int)len, msg, nghttp2_strerror(lib_error_code));
    return 0;
}

static nghttp2_session_callbacks *make_callbacks(void)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_send_data_callback(cb, on_send_data);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(cb, on_error);
    return cb;
}

/* ------------------------------------------------------------------------ */
/* I/O                                                                       */
/* ------------------------------------------------------------------------ */

static void set_write_interest(h2_conn *c, bool want)
{
    if (c->watching_write == want || c->watch == NULL)
        return;
    host_of(c)->watch_update(c->watch, TRELLIS_WATCH_READ | (want ? TRELLIS_WATCH_WRITE : 0));
    c->watching_write = want;
}

static bool any_send_done_pending(h2_conn *c)
{
    for (grpc_call *call = c->calls; call; call = call->conn_next)
        if (call->send_done_pending)
            return true;
    return false;
}

void h2_conn_flush(h2_conn *c)
{
    if (c->dead)
        return;
    enter(c);
    const trellis_host *h = host_of(c);
    /* Bounded: each round either moves bytes or stops. */
    for (int round = 0; round < 64 && !c->dead; round++) {
        if (oq_bytes(&c->out) < XDS_WRITE_HIGH_WATER) {
            int rv = nghttp2_session_send(c->session);
            if (rv != 0) {
                h2_conn_abort(c, nghttp2_strerror(rv));
                break;
            }
        }
        /* Calls whose message completed may send their next one. */
        for (grpc_call *call = c->calls, *next; call; call = next) {
            next = call->conn_next;
            grpc_call_after_send(call);
        }
        ssize_t w = oq_write(&c->out, c->fd);
        if (w < 0) {
            h2_conn_abort(c, errno == EPIPE || errno == ECONNRESET ? "peer reset the connection"
                                                                   : strerror(errno));
            break;
        }
        uint64_t now = h->monotonic_ns();
        if (w > 0) {
            h->metric_add(c->server->metrics.bytes_sent, (double)w);
            c->last_write_ns = now;
        }
        if (!oq_empty(&c->out)) {
            set_write_interest(c, true); /* the socket is full: wait for it */
            break;
        }
        c->last_write_ns = now;
        if (!nghttp2_session_want_write(c->session) && !any_send_done_pending(c)) {
            set_write_interest(c, false);
            break;
        }
    }
    if (!c->dead && !nghttp2_session_want_read(c->session) &&
        !nghttp2_session_want_write(c->session) && oq_empty(&c->out))
        h2_conn_abort(c, c->goaway_sent ? "closed after GOAWAY" : "session finished");
    else if (!c->dead && oq_empty(&c->out) &&
             (nghttp2_session_want_write(c->session) || any_send_done_pending(c)))
        xds_server_schedule_flush(c->server, c); /* the round limit hit: continue after others */
    leave(c);
}

/* Something not HTTP/2 arrived first. Answer an HTTP/1 request with a line a
 * human (or curl without --http2-prior-knowledge) understands. */
static void answer_http1(h2_conn *c, const uint8_t *data, size_t len)
{
    static const char *const methods[] = {"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS "};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t n = strlen(methods[i]);
        if (len >= n && memcmp(data, methods[i], n) == 0) {
            static const char reply[] =
                "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\n"
                "Connection: close\r\nContent-Length: 63\r\n\r\n"
                "this is an xDS (gRPC) server: speak HTTP/2 with prior knowledge\n";
            ssize_t w = write(c->fd, reply, sizeof(reply) - 1);
            (void)w;
            return;
        }
    }
}

static void on_io(int fd, unsigned events, void *arg)
{
    h2_conn *c = arg;
    xds_server *s = c->server;
    const trellis_host *h = s->host;
    enter(c);
    if (events & TRELLIS_WATCH_READ) {
        for (int i = 0; i < READS_PER_EVENT && !c->dead; i++) {
            ssize_t n = read(fd, s->read_buffer, sizeof(s->read_buffer));
            if (n > 0) {
                c->last_read_ns = h->monotonic_ns();
                ssize_t rv = nghttp2_session_mem_recv(c->session, s->read_buffer, (size_t)n);
                if (rv < 0) {
                    if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC)
                        answer_http1(c, s->read_buffer, (size_t)n); /* not HTTP/2: no frames */
                    else
                        h2_conn_flush(c); /* nghttp2 queued a GOAWAY: try to send it */
                    h2_conn_abort(c, nghttp2_strerror((int)rv));
                    break;
                }
                if ((size_t)n < sizeof(s->read_buffer))
                    break;
            } else if (n == 0) {
                h2_conn_abort(c, "peer closed the connection");
                break;
            } else if (errno == EINTR) {
                continue;
            } else {
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    h2_conn_abort(c, strerror(errno));
                break;
            }
        }
    }
    if (!c->dead)
        h2_conn_flush(c);
    leave(c);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

h2_conn *h2_conn_new(xds_server *s, int fd, const char *peer)
{
    const trellis_host *h = s->host;
    h2_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->server = s;
    c->fd = fd;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    oq_init(&c->out);
    uint64_t now = h->monotonic_ns();
    c->created_ns = c->last_read_ns = c->last_write_ns = c->idle_since_ns = now;

    nghttp2_session_callbacks *cb = make_callbacks();
    nghttp2_option *opt = NULL;
    if (cb == NULL || nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        free(c);
        close(fd);
        return NULL;
    }
    /* We send few, mostly literal headers: a small HPACK table saves memory
     * per connection. The peer's table for what it sends is bounded by our
     * SETTINGS_HEADER_TABLE_SIZE. */
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 256);
    int rv = nghttp2_session_server_new2(&c->session, cb, c, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) {
        free(c);
        close(fd);
        return NULL;
    }
    /* Requests are small: a 1 MiB window per stream is plenty, and the
     * connection window matches the request limit times a few streams. */
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)s->cfg.max_streams_per_connection},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 4096},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384},
    };
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings,
                                sizeof(settings) / sizeof(settings[0])) != 0) {
        nghttp2_session_del(c->session);
        free(c);
        close(fd);
        return NULL;
    }
    c->watch = h->watch_new(s->ctx, fd, TRELLIS_WATCH_READ, on_io, c);
    if (c->watch == NULL) {
        nghttp2_session_del(c->session);
        free(c);
        close(fd);
        return NULL;
    }
    c->all_next = s->conns;
    if (s->conns)
        s->conns->all_prev = c;
    s->conns = c;
    s->conn_count++;
    h->metric_set(s->metrics.connections, (double)s->conn_count);
    /* Our SETTINGS go out with the first flush after the client's preface
     * arrived, so an HTTP/1 client reads a clean 505 instead of binary. */
    return c;
}

static void conn_destroy(h2_conn *c)
{
    xds_server *s = c->server;
    const trellis_host *h = s->host;
    if (h->log_enabled(s->ctx, TRELLIS_LOG_DEBUG))
        h->log(s->ctx, TRELLIS_LOG_DEBUG, "connection_closed", "peer %s: %s", c->peer,
               c->close_reason ? c->close_reason : "closed");
    /* nghttp2_session_del runs no callbacks: close the calls ourselves so
     * their services let go of them. */
    while (c->calls != NULL) {
        grpc_call *call = c->calls;
        nghttp2_session_set_stream_user_data(c->session, call->stream_id, NULL);
        grpc_call_on_close(call);
    }
    if (c->watch)
        h->watch_free(c->watch);
    close(c->fd);
    nghttp2_session_del(c->session);
    oq_free(&c->out);
    xds_server_conn_closed(s, c);
    free(c);
}

void h2_conn_call_added(h2_conn *c, grpc_call *call)
{
    call->conn_next = c->calls;
    call->conn_prev = NULL;
    if (c->calls)
        c->calls->conn_prev = call;
    c->calls = call;
    c->call_count++;
}

void h2_conn_call_removed(h2_conn *c, grpc_call *call)
{
    if (call->conn_prev)
        call->conn_prev->conn_next = call->conn_next;
    else
        c->calls = call->conn_next;
    if (call->conn_next)
        call->conn_next->conn_prev = call->conn_prev;
    c->call_count--;
    if (c->call_count == 0)
        c->idle_since_ns = host_of(c)->monotonic_ns();
}

void h2_conn_shutdown(h2_conn *c)
{
    if (c->dead)
        return;
    enter(c);
    for (grpc_call *call = c->calls; call; call = call->conn_next)
        grpc_call_finish(call, GRPC_OK, "the xDS server is shutting down");
    if (!c->goaway_sent) {
        nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
                              NULL, 0);
        c->goaway_sent = true;
    }
    h2_conn_flush(c);
    leave(c);
}

static void send_goaway_and_close(h2_conn *c, uint32_t error_code, const char *reason)
{
    if (!c->goaway_sent) {
        nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->session), error_code,
                              (const uint8_t *)reason, strlen(reason));
        c->goaway_sent = true;
    }
    h2_conn_flush(c);
    h2_conn_abort(c, reason);
}

void h2_conn_tick(h2_conn *c, uint64_t now)
{
    if (c->dead)
        return;
    const xds_config *cfg = &c->server->cfg;
    uint64_t ms = 1000000;
    enter(c);
    if (!c->had_request && now - c->created_ns > cfg->handshake_timeout_ms * ms) {
        send_goaway_and_close(c, NGHTTP2_NO_ERROR, "no request within handshake_timeout_ms");
    } else if (!oq_empty(&c->out) && now - c->last_write_ns > cfg->keepalive_timeout_ms * ms) {
        h2_conn_abort(c, "the peer stopped reading (write stalled past keepalive_timeout_ms)");
    } else if (c->ping_sent_ns != 0 && now - c->ping_sent_ns > cfg->keepalive_timeout_ms * ms) {
        h2_conn_abort(c, "no PING acknowledgement within keepalive_timeout_ms");
    } else if (c->call_count == 0 && c->had_request &&
               now - c->idle_since_ns > cfg->idle_timeout_ms * ms) {
        send_goaway_and_close(c, NGHTTP2_NO_ERROR, "idle past idle_timeout_ms");
    } else if (c->ping_sent_ns == 0 && now - c->last_read_ns > cfg->keepalive_interval_ms * ms) {
        uint8_t opaque[8];
        for (int i = 0; i < 8; i++)
            opaque[i] = (uint8_t)(now >> (8 * i));
        if (nghttp2_submit_ping(c->session, NGHTTP2_FLAG_NONE, opaque) == 0) {
            c->ping_sent_ns = now;
            const trellis_host *h = host_of(c);
            if (h->log_enabled(c->server->ctx, TRELLIS_LOG_DEBUG))
                h->log(c->server->ctx, TRELLIS_LOG_DEBUG, "keepalive_ping", "peer %s: idle, PING sent",
                       c->peer);
            h2_conn_flush(c);
        }
    }
    leave(c);
}
