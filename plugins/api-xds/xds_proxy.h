/*
 * One connected proxy: an ADS stream (state of the world or delta) and what
 * both protocols share: the node identity from the first request, the flavor,
 * the snapshot watch, the per-identity connection quota, the per-type
 * subscription and sync status (version sent, version ACKed, last NACK), and
 * ending the stream with the gRPC status App Mesh used:
 *
 *   node.id missing or malformed          3  (the reason)
 *   no such mesh, virtual node or gateway 3  (naming it)
 *   the identity deleted while connected  3
 *   more than max_connections_per_identity streams for one identity   8
 *   catalog not loaded yet                14 (Envoy retries)
 *   server shutting down                  0  (Envoy reconnects)
 *
 * Flavor rule (decided on the stream's first request): a first request that
 * subscribes to Listener or Cluster by wildcard (no names, or "*") comes from
 * an Envoy sidecar; one that names listeners or clusters comes from a
 * proxyless gRPC client. For any other first type, node.user_agent_name
 * starting with "grpc" means proxyless, anything else sidecar.
 */
#ifndef TRELLIS_XDS_PROXY_H
#define TRELLIS_XDS_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <trellis/plugin.h>

#include "byte_buffer.h"
#include "grpc_call.h"
#include "make_before_break.h"
#include "name_set.h"
#include "strmap.h"
#include "xds_server.h"
#include "xds_types.h"

#define ADS_SOTW_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
#define ADS_DELTA_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"

typedef enum ads_protocol { ADS_SOTW = 1, ADS_DELTA = 2 } ads_protocol;

typedef struct ads_type_state {
    /* subscription */
    bool subscribed;                /* the client asked for this type */
    bool wildcard;
    bool names_given;               /* SotW: names were sent once (ends legacy wildcard) */
    name_set names;
    bool pending;                   /* the subscription changed: answer even if the version did not */

    /* what was sent and what came back */
    char *client_version;           /* SotW: version_info of the first request (a reconnect) */
    char *sent_version;
    uint64_t sent_nonce;            /* 0: nothing sent on this stream yet */
    uint64_t answered_nonce;        /* the latest nonce a request answered (ACK or NACK) */
    uint64_t sent_changed_ns;       /* changed_ns of an update push, 0 otherwise (latency metric) */
    double sent_at;
    size_t sent_count;
    size_t sent_retained;           /* resources kept for make before break (make_before_break.h) */
    char *acked_version;
    double acked_at;
    uint64_t ack_count;
    uint64_t nack_count;
    char *nack_version;
    char *nack_message;
    double nack_at;
    char *error;                    /* why the current version cannot be sent */
    char *error_version;
    char *idle_version;             /* SotW: version evaluated with nothing to send */

    /* delta */
    strmap known;                   /* resource name -> (char *) version the client holds; "" = told absent */
    char *evaluated_version;        /* snapshot version last diffed */
    bool initial_sent;
} ads_type_state;

typedef struct xds_proxy {
    xds_server *server;
    grpc_call *call;                /* NULL once the stream closed */
    ads_protocol protocol;
    xds_proxy *all_next, *all_prev; /* xds_server.proxies */

    char peer[64];
    double connected_at;            /* wall clock */
    char *node_id;
    char *node_cluster;
    char *user_agent;               /* "envoy 1.27.2", "grpc-node-js 1.9.0" */
    uint32_t flavor;                /* trellis_xds_flavor, 0 before the first request */
    char *identity;                 /* canonical identity, counted in server->identity_streams */

    bool started;                   /* the first request was handled */
    bool finishing;
    bool first_snapshot_seen;       /* later snapshots are updates (for the latency metric) */
    trellis_xds_watch *watch;
    trellis_xds_snapshot *snapshot; /* a reference */
    uint64_t next_nonce;
    unsigned unknown_types_logged;

    ads_type_state types[TRELLIS_XDS_TYPE_COUNT];
    mbb_state mbb;                  /* sidecars: what the proxy may hold of listeners and routes */
} xds_proxy;

/* ---- shared by ads_sotw.c and ads_delta.c ---- */

struct Envoy__Config__Core__V3__Node; /* envoy/config/core/v3/base.pb-c.h */

/* A request of the stream decoded as `descriptor`'s message (free it with
 * protobuf_c_message_free_unpacked); NULL when it does not decode, the
 * stream then ended with INVALID_ARGUMENT. */
ProtobufCMessage *xds_proxy_decode_request(xds_proxy *p,
                                           const ProtobufCMessageDescriptor *descriptor,
                                           const uint8_t *data, size_t len);

/* Handles a stream's first request, of either protocol (`request_kind`,
 * "DiscoveryRequest" or "DeltaDiscoveryRequest", names it in errors): a
 * type_url is required; the proxy's identity comes from `node`, its flavor
 * from the first type, whether the request asks for everything (`names`
 * empty or holding "*") and the user agent; then watch and quota. false when
 * the stream was ended (the caller stops). */
bool xds_proxy_start(xds_proxy *p, const char *request_kind, const char *type_url,
                     const struct Envoy__Config__Core__V3__Node *node, char *const *names,
                     size_t name_count);

/* Ends the stream with a gRPC status (once). */
void xds_proxy_finish(xds_proxy *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A request for a type URL api.xds does not serve: logged once, ignored (the
 * xDS rule: the client's initial fetch for it simply times out). */
void xds_proxy_ignore_type(xds_proxy *p, const char *type_url);

/* `retained`: how many of the `count` resources (SotW), or of the names held
 * back from removal (delta), are kept for make before break. */
void xds_proxy_record_sent(xds_proxy *p, trellis_xds_type type, const char *version, uint64_t nonce,
                           size_t count, size_t retained, bool is_update);
void xds_proxy_record_ack(xds_proxy *p, trellis_xds_type type, const char *version);
void xds_proxy_record_nack(xds_proxy *p, trellis_xds_type type, const char *message);
void xds_proxy_record_stale(xds_proxy *p, trellis_xds_type type, const char *nonce);
/* The current version cannot be sent (an encode error); logged on first sight. */
void xds_proxy_record_error(xds_proxy *p, trellis_xds_type type, const char *version,
                            const char *error, bool first_sight);
void xds_proxy_clear_error(ads_type_state *st);

/* Whether the latest response of a type has been neither ACKed nor NACKed. */
bool xds_type_unanswered(const ads_type_state *st);

/* The stream's nonce as a protobuf string field `field`, into out (>= 32 bytes). */
size_t xds_nonce_field(uint32_t field, uint64_t nonce, uint8_t *out);
/* Parses a nonce we sent; 0 if it is not one. */
uint64_t xds_parse_nonce(const char *nonce);

/* Replaces *slot with a copy of value (NULL allowed). */
void xds_set_string(char **slot, const char *value);

/* ---- per protocol ---- */
void ads_sotw_on_message(xds_proxy *p, const uint8_t *data, size_t len);
void ads_sotw_pump(xds_proxy *p);
void ads_delta_on_message(xds_proxy *p, const uint8_t *data, size_t len);
void ads_delta_pump(xds_proxy *p);
void ads_delta_free_state(ads_type_state *st);

#endif
