/*
 * One HTTP/2 connection: the socket, its fd watch, the nghttp2 server session
 * fed from the host's loop (mem_recv on what the socket gives, send callbacks
 * that fill a bounded write queue), keepalive PINGs and timeouts. Streams on
 * it are gRPC calls (grpc_call.h).
 *
 * Memory per idle connection: the nghttp2 session, this struct and the watch;
 * reads go through the server's shared buffer and the write queue is empty.
 * The write queue stops taking frames at XDS_WRITE_HIGH_WATER bytes, so a
 * peer that does not read cannot make the server buffer without bound (and
 * HTTP/2 flow control bounds what nghttp2 may send anyway).
 */
#ifndef TRELLIS_XDS_H2_CONN_H
#define TRELLIS_XDS_H2_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "out_queue.h"
#include "xds_server.h"

#define XDS_WRITE_HIGH_WATER (64 * 1024)

typedef struct grpc_call grpc_call;

struct h2_conn {
    xds_server *server;
    int fd;
    trellis_watch *watch;
    bool watching_write;
    nghttp2_session *session;
    out_queue out;
    char peer[64];                  /* "ip:port" */

    grpc_call *calls;               /* open streams (grpc_call.conn_next) */
    size_t call_count;

    h2_conn *all_next, *all_prev;   /* xds_server.conns */
    h2_conn *dirty_next;            /* xds_server.dirty */
    bool dirty;

    unsigned busy;                  /* nesting of callbacks running on this connection */
    bool dead;                      /* close once no callback runs */
    const char *close_reason;
    bool goaway_sent;

    uint64_t created_ns;
    uint64_t last_read_ns;
    uint64_t last_write_ns;         /* last time the socket took bytes (or the queue was empty) */
    uint64_t idle_since_ns;         /* when the last stream closed */
    uint64_t ping_sent_ns;          /* 0: no keepalive PING outstanding */
    bool had_request;               /* a request HEADERS arrived */
};

/* Takes over an accepted, non-blocking socket. NULL (socket closed) on failure. */
h2_conn *h2_conn_new(xds_server *s, int fd, const char *peer);

/* Runs nghttp2's send loop and writes what the socket takes. */
void h2_conn_flush(h2_conn *c);
/* Keepalive PINGs and timeouts; the server's clock calls it every second. */
void h2_conn_tick(h2_conn *c, uint64_t now_ns);
/* Ends every call with gRPC status 0 and sends GOAWAY; the connection closes
 * once its streams are done and its queue flushed. */
void h2_conn_shutdown(h2_conn *c);
/* Closes at once (after the running callback, if any). */
void h2_conn_abort(h2_conn *c, const char *reason);

/* For grpc_call: a call was created / closed on this connection. */
void h2_conn_call_added(h2_conn *c, grpc_call *call);
void h2_conn_call_removed(h2_conn *c, grpc_call *call);

#endif
