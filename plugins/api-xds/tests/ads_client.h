/*
 * A raw ADS client for tests and the benchmark: an nghttp2 client session on
 * a non-blocking socket, driven by the caller's loop (call ads_client_io when
 * the socket is readable, or writable if ads_client_wants_write). It speaks
 * gRPC framing by hand so tests can also send what a real client never would
 * (wrong content-type, unknown paths, bad prefixes, oversized messages), and
 * it builds/decodes discovery messages with the generated protobuf-c code.
 */
#ifndef TRELLIS_XDS_ADS_CLIENT_H
#define TRELLIS_XDS_ADS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envoy/service/discovery/v3/discovery.pb-c.h"

typedef struct ads_client ads_client;

typedef struct ads_rx_message {
    uint8_t *data;
    size_t len;
    struct ads_rx_message *next;
} ads_rx_message;

typedef struct ads_call {
    int32_t id;
    int http_status;            /* 0 until response headers */
    int grpc_status;            /* -1 until the status arrives (headers-only or trailers) */
    char grpc_message[512];
    bool closed;
    uint32_t close_error;       /* RST_STREAM / close error code */
    ads_rx_message *head, *tail;
    size_t message_count;       /* messages received so far (popped or not) */
    /* inbound gRPC framing */
    uint8_t prefix[5];
    size_t prefix_have;
    uint8_t *partial;
    size_t partial_len, partial_have;
    /* outbound */
    uint8_t *tx;
    size_t tx_len, tx_off, tx_cap;
    bool tx_end;
    bool deferred;
    struct ads_call *next;
} ads_call;

/* Connects (blocking, then non-blocking) to ip:port, optionally from
 * source_ip. -1 with errno on failure. */
int ads_connect_tcp(const char *ip, int port, const char *source_ip);

/* Takes over a connected socket and queues the client preface + SETTINGS. */
ads_client *ads_client_new(int fd);
/* The same with a given HTTP/2 stream window (flow-control tests). */
ads_client *ads_client_new_with_window(int fd, uint32_t window);
void ads_client_free(ads_client *c);
int ads_client_fd(const ads_client *c);

/* Opens a stream (a request HEADERS). content_type NULL: application/grpc;
 * method NULL: POST. Returns the stream id, or -1. */
int32_t ads_client_start(ads_client *c, const char *path, const char *content_type,
                         const char *method);
/* Sends one gRPC message (prefix added). */
bool ads_client_send(ads_client *c, int32_t stream, const void *message, size_t len);
/* Sends raw DATA bytes, no framing. */
bool ads_client_send_raw(ads_client *c, int32_t stream, const void *bytes, size_t len);
/* Half-closes the stream (END_STREAM). */
void ads_client_end(ads_client *c, int32_t stream);
void ads_client_reset(ads_client *c, int32_t stream);

/* Processes socket events; false once the connection is closed. */
bool ads_client_io(ads_client *c, unsigned events);
bool ads_client_wants_write(const ads_client *c);
/* Flushes what nghttp2 has to send (call after ads_client_send & co. when
 * the caller's loop does not watch for writability). */
bool ads_client_flush(ads_client *c);

ads_call *ads_client_call(ads_client *c, int32_t stream);
/* Pops the oldest received message (caller frees ->data and the node). */
ads_rx_message *ads_client_pop(ads_client *c, int32_t stream);
bool ads_client_closed(const ads_client *c);
bool ads_client_goaway(const ads_client *c, uint32_t *error_code);
uint64_t ads_client_pings_answered(const ads_client *c);

/* ---- discovery messages ---- */

typedef struct ads_request_spec {
    const char *type_url;
    const char *version_info;
    const char *response_nonce;
    const char *const *names;
    size_t name_count;
    const char *node_id;        /* NULL: no node */
    const char *user_agent;     /* node.user_agent_name */
    const char *nack_message;   /* non-NULL: error_detail with this message */
} ads_request_spec;

/* A packed DiscoveryRequest (malloc'd). */
uint8_t *ads_pack_request(const ads_request_spec *spec, size_t *len);

typedef struct ads_delta_spec {
    const char *type_url;
    const char *response_nonce;
    const char *const *subscribe;
    size_t subscribe_count;
    const char *const *unsubscribe;
    size_t unsubscribe_count;
    const char *const *initial_names;   /* initial_resource_versions keys */
    const char *const *initial_versions;
    size_t initial_count;
    const char *node_id;
    const char *nack_message;
} ads_delta_spec;

uint8_t *ads_pack_delta_request(const ads_delta_spec *spec, size_t *len);

/* Packs a request and sends it on `stream`; false as ads_client_send(). */
bool ads_send_request(ads_client *c, int32_t stream, const ads_request_spec *spec);
bool ads_send_delta_request(ads_client *c, int32_t stream, const ads_delta_spec *spec);

Envoy__Service__Discovery__V3__DiscoveryResponse *ads_unpack_response(const uint8_t *data, size_t len);
Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *ads_unpack_delta_response(const uint8_t *data,
                                                                                 size_t len);

/* "name,...,-removed,..." of a delta response: its resources, then its
 * removals ("" for NULL). A static buffer, overwritten by the next call. */
const char *ads_delta_summary(const Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *r);

#endif
